#!/usr/bin/env bash
# The side-by-side benchmark (issue 5): irpafs against the plain file on local
# disk and three FUSE file systems from Debian serving the same bytes
# (libfuse's passthrough_ll, squashfuse_ll over an uncompressed squashfs image,
# bindfs). Installs what it needs (Debian 12, as root), builds in release mode
# (build-bench/), generates a synthetic safetensors model, its manifest and the
# archive materialized with `irpa build`, mounts everything, runs every case
# with the systems interleaved, and prints one table of medians (min-max) with
# irpafs's speed over each system's, over the plain file's and over the best
# FUSE peer's. The table, its samples and a Markdown copy go to bench-results/
# (git-ignored). Needs root: it mounts, writes drop_caches and
# /sys/class/bdi/*/read_ahead_kb. Every mount is unmounted at exit.
#
# Cases: 1 sequential dd; 2 re-read and cold read; 3 fio random reads; 4 IREE
# loading every entry, mmap mode and file mode (scripts/bench/iree_read.c);
# 5 cp out of the mount, and irpa build; 6 mount time and server memory at
# 1k-100k entries; 7 page cache held after one full read from cold (sources +
# mount, over the archive's bytes), also with irpafs -o one_copy=0 and =1;
# 8 network: the model served by nginx on 127.0.0.1, irpafs reading it as a
# URL source (first read, and a read served from -o cache_dir against a local
# source) against curl (one stream), aria2c -x 8, and rclone mount (http
# remote) and httpfs2 serving the built archive from the same nginx (httpfs2
# through a location of its own that adds Accept-Ranges; see case 8).
# irpafs runs a second time with -o prefetch=64M as its own column (unless
# --no-prefetch-compare; prefetch is off by default). A -o option this irpafs does not know (prefetch=,
# one_copy=) is noted and its column or rows are left out.
#
#   scripts/bench.sh [--size-mib N] [--tensors N] [--runs N] [--quick]
#                    [--cases LIST] [--irpafs-options OPTS] [--keep]
#                    [--no-prefetch-compare]
#
#   --size-mib N          archive size, about N MiB (default 1024)
#   --tensors N           tensors in the model (default 300)
#   --runs N              measured runs per cell, median reported (default 5;
#                         twice N for re-read, cold and 4 KiB reads, which are
#                         cheap and move most from run to run; at most 2 for
#                         case 7, whose counts hardly move)
#   --quick               smoke run: 128 MiB, 60 tensors, 3 runs, smaller scale case
#   --cases LIST          comma-separated subset of 1,2,3,4,5,6,7,8 (default all)
#   --irpafs-options OPTS extra -o options for irpafs, e.g. readahead_kb=512
#                         (every irpafs mount gets them)
#   --no-prefetch-compare do not run irpafs a second time with -o prefetch=64M
#   --keep                keep the work directory (bench-results/work.*)
#   --standin             debug the harness: serve the irpafs column with a second
#                         passthrough_ll mount (scale case skipped)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir="$root/scripts/bench"

size_mib=1024 tensors=300 runs=5 cases=1,2,3,4,5,6,7,8 irpafs_options="" keep=0 standin=0
prefetch_compare=1
prefetch_window=64M  # the window the README suggests for cold reads (prefetch is off by default)
scale_sizes="1000 10000 100000"
while [ $# -gt 0 ]; do
  case $1 in
    --size-mib) size_mib=$2; shift 2 ;;
    --tensors) tensors=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --quick) size_mib=128 tensors=60 runs=3 scale_sizes="1000 10000"; shift ;;
    --cases) cases=$2; shift 2 ;;
    --irpafs-options) irpafs_options=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --standin) standin=1; shift ;;
    --no-prefetch-compare) prefetch_compare=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for number in "$size_mib" "$tensors" "$runs"; do
  [[ $number =~ ^[1-9][0-9]*$ ]] || { echo "bench: not a positive number: $number" >&2; exit 2; }
done
# Re-read, cold and 4 KiB rows are cheap and move most from run to run.
noisy_runs=$((2 * runs))
want_case() { [[ ,$cases, == *,$1,* ]]; }
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: run as root (it mounts, drops caches and sets the mounts' readahead)" >&2
  exit 1
fi
script_start=$(date +%s)
# Every server and reader it starts inherits this: other jobs on the machine
# then disturb the measurements less (all systems alike).
renice -n -10 -p $$ >/dev/null
ionice -c 2 -n 0 -p $$ 2>/dev/null || true
log() { printf '[%4ds] %s\n' $(($(date +%s) - script_start)) "$*" >&2; }

# --- what it needs -----------------------------------------------------------
"$root/scripts/deps.sh"
packages=(fio squashfuse squashfs-tools bindfs libfuse3-dev fuse3 python3 gcc pkg-config
          nginx-light curl aria2 rclone httpfs2)  # the last five: case 8
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- build (release) -----------------------------------------------------------
build="$root/build-bench"
log "building irpa and irpafs (release) in $build"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dbuildtype=release -Dtests=enabled >"$root/build-bench.setup.log" 2>&1 ||
    { cat "$root/build-bench.setup.log" >&2; exit 1; }
fi
ninja -C "$build" core/cli/irpa fs/irpafs tests/make_model >"$root/build-bench.ninja.log" 2>&1 ||
  { tail -40 "$root/build-bench.ninja.log" >&2; exit 1; }
irpa="$build/core/cli/irpa" irpafs="$build/fs/irpafs" make_model="$build/tests/make_model"
tools="$build/bench"
mkdir -p "$tools"
cflags=(-O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I"$root/core")
for tool in pagecache iree_read first_byte; do
  cc "${cflags[@]}" -o "$tools/$tool" "$bench_dir/$tool.c"
done
examples=/usr/share/doc/libfuse3-dev/examples
for example in passthrough_ll.c passthrough_helpers.h; do  # Debian may gzip them
  if [ -f "$examples/$example" ]; then cp "$examples/$example" "$tools/$example"
  elif [ -f "$examples/$example.gz" ]; then zcat "$examples/$example.gz" >"$tools/$example"
  fi
done
# shellcheck disable=SC2046
cc -O2 -o "$tools/passthrough_ll" "$tools/passthrough_ll.c" $(pkg-config --cflags --libs fuse3)

# --- data ------------------------------------------------------------------------
mkdir -p "$root/bench-results"
work=$(mktemp -d "$root/bench-results/work.XXXXXX")  # same file system as the repo
stamp=$(date -u +%Y%m%d-%H%M%S)
samples="$root/bench-results/$stamp-samples.tsv"
meta="$root/bench-results/$stamp-meta.txt"
printf 'case\tsystem\tunit\tvalue\n' >"$samples"
: >"$meta"
meta() { printf '%s=%s\n' "$1" "$2" >>"$meta"; }
meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta commit "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"  # as built

mountpoints=() server_pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for mountpoint in "${mountpoints[@]}"; do
    if mountpoint -q "$mountpoint" 2>/dev/null; then
      umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || true
    fi
  done
  for pid in "${server_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  done
  if [ "$keep" -eq 1 ]; then
    echo "bench: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "generating a ${size_mib} MiB safetensors model with $tensors tensors in $work"
# make_model's norms are tiny: the matrices hold 4/5 of TOTAL_MIB.
"$make_model" "$work/model.safetensors" $((size_mib * 5 / 4)) "$tensors"
mkdir -p "$work/manifests" "$work/archive" "$work/out" "$work/mnt"
cat >"$work/manifests/model.yaml" <<YAML
sources:
  st: ../model.safetensors
entries:
  - source: st
YAML
"$irpa" build -q "$work/manifests/model.yaml" -o "$work/archive/model.irpa"
mksquashfs "$work/archive" "$work/model.sqsh" -noI -noD -noF -noX -all-root -no-progress \
  -quiet >/dev/null
sync
archive_bytes=$(stat -c %s "$work/archive/model.irpa")
warm_sources() { cat "$work/model.safetensors" "$work/archive/model.irpa" "$work/model.sqsh" >/dev/null; }
warm_sources
# Before each run of a case that wants the sources cached: reads back whatever
# is no longer resident (another job on the machine may drop caches too).
ensure_warm() {
  local percent path
  while read -r percent path; do
    [ "$percent" = 100.0 ] || cat "$path" >/dev/null
  done < <("$tools/pagecache" resident "$work/model.safetensors" "$work/archive/model.irpa" \
             "$work/model.sqsh")
}

# --- mounts ----------------------------------------------------------------------
# The systems every read case runs, in the report's order of columns;
# irpafs-prefetch (irpafs -o prefetch=64M) joins them once mounted.
systems=(plain irpafs passthrough_ll squashfuse_ll bindfs)
fuse_systems=(irpafs passthrough_ll squashfuse_ll bindfs)
# irpafs mounted with -o one_copy=0 and =1, for case 7 only.
one_copy_systems=()
declare -A file pid bdi default_readahead
file[plain]="$work/archive/model.irpa"
# What each system reads the archive's bytes from (its page cache counts in case 7).
declare -A sources=(
  [plain]="$work/archive/model.irpa" [irpafs]="$work/model.safetensors"
  [passthrough_ll]="$work/archive/model.irpa" [squashfuse_ll]="$work/model.sqsh"
  [bindfs]="$work/archive/model.irpa"
)

# try_mount SYSTEM COMMAND...: starts the server in the foreground, waits until
# the archive's first byte is readable, records its pid, bdi and readahead.
# Non-zero (the server's messages in $work/SYSTEM.log) when it did not mount.
try_mount() {
  local system=$1; shift
  local mountpoint="$work/mnt/$system" result
  mkdir -p "$mountpoint"
  mountpoints+=("$mountpoint")
  result=$("$tools/first_byte" 30000 "$mountpoint/model.irpa" -- "$@" 2>>"$work/$system.log") ||
    return 1
  pid[$system]=${result#* }
  server_pids+=("${pid[$system]}")
  file[$system]="$mountpoint/model.irpa"
  bdi[$system]=/sys/class/bdi/$(mountpoint -d "$mountpoint")/read_ahead_kb
  default_readahead[$system]=$(cat "${bdi[$system]}")
  meta "mount_ms.$system" "${result% *}"
  meta "readahead_kb.$system" "${default_readahead[$system]}"
}
mount_system() { # SYSTEM COMMAND...
  try_mount "$@" ||
    { cat "$work/$1.log" >&2; echo "bench: mounting $1 failed" >&2; exit 1; }
}
note() { log "note: $*"; printf 'note=%s\n' "$*" >>"$meta"; }
# mount_irpafs_variant SYSTEM OPTION: irpafs with -o OPTION after the user's
# options. Non-zero with a note when this irpafs does not know the option
# (another branch may not have it yet); any other failure ends the benchmark.
mount_irpafs_variant() {
  local system=$1 option=$2
  if try_mount "$system" "$irpafs" -f -o "${irpafs_options:+$irpafs_options,}$option" \
       "$work/manifests" "$work/mnt/$system"; then
    sources[$system]=${sources[irpafs]}
    return 0
  fi
  if grep -q "unknown option" "$work/$system.log"; then
    note "this irpafs does not know -o $option: $system left out"
    return 1
  fi
  cat "$work/$system.log" >&2
  echo "bench: mounting $system (irpafs -o $option) failed" >&2
  exit 1
}

log "mounting"
if [ "$standin" -eq 1 ]; then
  mount_system irpafs "$tools/passthrough_ll" -f -o "source=$work/archive,cache=always" \
    "$work/mnt/irpafs"
  meta standin "irpafs column served by passthrough_ll"
  sources[irpafs]="$work/archive/model.irpa"
  note "--standin: irpafs -o prefetch= and -o one_copy= not run"
else
  mount_system irpafs "$irpafs" -f ${irpafs_options:+-o "$irpafs_options"} \
    "$work/manifests" "$work/mnt/irpafs"
  if [ "$prefetch_compare" -eq 1 ] && mount_irpafs_variant irpafs-prefetch "prefetch=$prefetch_window"; then
    systems=(plain irpafs irpafs-prefetch passthrough_ll squashfuse_ll bindfs)
    fuse_systems=(irpafs irpafs-prefetch passthrough_ll squashfuse_ll bindfs)
  fi
  if want_case 7; then
    for value in 0 1; do
      if mount_irpafs_variant "irpafs-one_copy$value" "prefetch=$prefetch_window,one_copy=$value"; then
        one_copy_systems+=("irpafs-one_copy$value")
      fi
    done
  fi
fi
mount_system passthrough_ll "$tools/passthrough_ll" -f -o "source=$work/archive,cache=always" \
  "$work/mnt/passthrough_ll"
mount_system squashfuse_ll squashfuse_ll -f "$work/model.sqsh" "$work/mnt/squashfuse_ll"
mount_system bindfs bindfs -f -o kernel_cache "$work/archive" "$work/mnt/bindfs"
sleep 0.2  # irpafs raises its readahead on the first request after init
for system in "${fuse_systems[@]}" "${one_copy_systems[@]}"; do
  default_readahead[$system]=$(cat "${bdi[$system]}")
  meta "readahead_kb.$system" "${default_readahead[$system]}"
  timeout 300 cmp "${file[plain]}" "${file[$system]}" ||
    { echo "bench: $system does not serve the archive's bytes" >&2; exit 1; }
done
log "every mount serves the same $archive_bytes bytes (cmp)"

rss() { # PID FIELD: VmRSS or VmHWM in KiB
  awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}
for system in "${fuse_systems[@]}"; do
  printf '6-rss-idle\t%s\tMiB\t%s\n' "$system" \
    "$(awk -v kib="$(rss "${pid[$system]}" VmRSS)" 'BEGIN { printf "%.1f", kib / 1024 }')" >>"$samples"
done

# --- measuring ---------------------------------------------------------------------
sample() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$samples"; }
# The systems in a different order each run, so that no one always goes first.
rotated() { # RUN SYSTEM...
  local run=$1; shift
  local list=("$@") count=$#
  for ((i = 0; i < count; i++)); do echo "${list[(i + run) % count]}"; done
}
evict() { [ "$1" = plain ] || timeout 60 "$tools/pagecache" evict "${file[$1]}"; }
ms_since() { awk -v start="$1" -v end="$(date +%s%N)" 'BEGIN { printf "%.1f", (end - start) / 1e6 }'; }
dd_mbps() { # FILE: dd bs=1M of the whole file, MB/s as dd measured it
  LC_ALL=C timeout 300 dd if="$1" of=/dev/null bs=1M 2>&1 |
    awk '/bytes .* copied/ { printf "%.0f", $1 / $(NF - 3) / 1e6 }'
}
set_readahead() { # KiB or "default"
  for system in "${fuse_systems[@]}"; do
    if [ "$1" = default ]; then echo "${default_readahead[$system]}" >"${bdi[$system]}"
    else echo "$1" >"${bdi[$system]}"; fi
  done
}

if want_case 1; then
  for readahead in default 512; do
    log "case 1: sequential dd, FUSE cache empty, readahead $readahead"
    set_readahead "$readahead"
    for ((run = 0; run < runs; run++)); do
      ensure_warm
      for system in $(rotated "$run" "${systems[@]}"); do
        evict "$system"
        sample "1-seq-$readahead" "$system" MB/s "$(dd_mbps "${file[$system]}")"
      done
    done
    set_readahead default
  done
fi

if want_case 2; then
  # Copying out of the page cache runs up to twice as fast when the file's
  # pages lie in consecutive physical frames, and which frames a file gets is
  # the page allocator's draw when it is read (the same for every system).
  # So each run fills each mount's cache anew (evict, read, read once more
  # untimed to clear the readahead marks) before the timed dd, twice as many
  # runs as elsewhere since one run takes a second, and the share of pages
  # in consecutive frames is recorded beside each sample.
  log "case 2: re-read (FUSE page cache hit), $noisy_runs runs, cache refilled each run"
  for ((run = 0; run < noisy_runs; run++)); do
    ensure_warm
    for system in $(rotated "$run" "${systems[@]}"); do
      if [ "$system" != plain ]; then
        evict "$system"
        dd_mbps "${file[$system]}" >/dev/null
      fi
      dd_mbps "${file[$system]}" >/dev/null
      sample 2-reread "$system" MB/s "$(dd_mbps "${file[$system]}")"
      sample 2-reread-contiguous "$system" % \
        "$("$tools/pagecache" contiguous "${file[$system]}" | cut -d' ' -f1)"
    done
  done
  # Cold reads of the same file move by +-30% from run to run on a virtual
  # disk: twice as many runs here too.
  log "case 2: cold read (after drop_caches), $noisy_runs runs"
  for ((run = 0; run < noisy_runs; run++)); do
    for system in $(rotated "$run" "${systems[@]}"); do
      sync
      echo 3 >/proc/sys/vm/drop_caches
      sample 2-cold "$system" MB/s "$(dd_mbps "${file[$system]}")"
    done
  done
  warm_sources
fi

if want_case 3; then
  mib=$((1 << 20))
  for block in 4k 1m; do
    for jobs in 1 8; do
      log "case 3: fio random $block preads, $jobs thread(s)"
      region=$((archive_bytes / jobs / mib * mib))  # each thread its own part of the file
      # A quarter of the archive in 4 KiB reads (about a second each for
      # irpafs), half of it in 1 MiB reads. 4 KiB runs move by +-15% from run
      # to run on a shared machine: twice as many runs.
      if [ $block = 4k ]; then total=$((size_mib * mib / 4)); else total=$((size_mib * mib / 2)); fi
      per_job=$((total / jobs / mib * mib))
      [ "$per_job" -le "$region" ] || per_job=$region
      block_runs=$runs
      [ $block = 1m ] || block_runs=$noisy_runs
      for ((run = 0; run < block_runs; run++)); do
        ensure_warm
        for system in $(rotated "$run" "${systems[@]}"); do
          evict "$system"
          timeout 300 fio --name=random --filename="${file[$system]}" --readonly \
            --rw=randread --bs=$block --ioengine=psync --thread --numjobs=$jobs \
            --size=$region --offset_increment=$region --io_size=$per_job --invalidate=0 \
            --group_reporting --output-format=json --output="$work/fio.json" >/dev/null
          sample "3-rand-$block-$jobs" "$system" MB/s "$(/usr/bin/python3 -c '
import json, sys
print("%.0f" % (json.load(open(sys.argv[1]))["jobs"][0]["read"]["bw_bytes"] / 1e6))
' "$work/fio.json")"
        done
      done
    done
  done
fi

if want_case 4; then
  # IREE's two ways of loading parameters (what each does, and what iree_read
  # mimics: scripts/bench/iree_read.c), each its own row; the modes alternate
  # within a run, the systems rotate within each mode.
  log "case 4: IREE loading every entry, mmap mode (copy from the mapping) and file mode (pread)"
  for ((run = 0; run < runs; run++)); do
    for mode in $(rotated "$run" mmap file); do
      ensure_warm
      for system in $(rotated "$run" "${systems[@]}"); do
        evict "$system"
        result=$(timeout 300 "$tools/iree_read" "$mode" "${file[$system]}")
        sample "4-iree-$mode" "$system" ms "$(awk '{ printf "%.1f", $3 / 1e6 }' <<<"$result")"
      done
    done
  done
fi

if want_case 5; then
  log "case 5: cp out of the mount (FUSE cache empty; the copy is removed unsynced)"
  for ((run = 0; run < runs; run++)); do
    ensure_warm
    for system in $(rotated "$run" "${systems[@]}"); do
      evict "$system"
      sync  # no writeback of earlier runs during this one
      start=$(date +%s%N)
      timeout 300 cp "${file[$system]}" "$work/out/copy.irpa"
      sample 5-cp-out "$system" ms "$(ms_since "$start")"
      rm -f "$work/out/copy.irpa"
    done
  done
fi

# The servers' memory after serving all of the above.
for system in "${fuse_systems[@]}"; do
  for field in VmHWM VmRSS; do
    case $field in VmHWM) row=6-rss-peak ;; VmRSS) row=6-rss-after ;; esac
    printf '%s\t%s\tMiB\t%s\n' "$row" "$system" \
      "$(awk -v kib="$(rss "${pid[$system]}" $field)" 'BEGIN { printf "%.1f", kib / 1024 }')" >>"$samples"
  done
done

if want_case 5; then
  log "case 5: materialize (written and fsynced): irpa build vs cp of the source"
  for ((run = 0; run < runs; run++)); do
    ensure_warm
    for way in $(rotated "$run" build cp); do
      start=$(date +%s%N)
      if [ "$way" = build ]; then
        timeout 300 "$irpa" build -q "$work/manifests/model.yaml" -o "$work/out/built.irpa"
        sample 5-materialize irpafs ms "$(ms_since "$start")"
      else
        timeout 300 cp "$work/model.safetensors" "$work/out/copy.bin"
        sync "$work/out/copy.bin"
        sample 5-materialize plain ms "$(ms_since "$start")"
      fi
      rm -f "$work/out/built.irpa" "$work/out/copy.bin"
    done
  done
fi

if want_case 7; then
  # Page cache held after one full read from cold: sync, drop the system's
  # sources and its mounted file from the page cache (posix_fadvise DONTNEED
  # on each, so that every source page cached afterwards is one the server
  # brought in), read the archive once (dd, or IREE's mmap mode), wait 0.2 s,
  # then count the cached bytes of the sources and of the mounted file
  # (mincore) and divide by the archive's bytes. The plain file is its own
  # source (1.0). The counts hardly move from run to run: 2 runs, not --runs.
  footprint_runs=$((runs < 2 ? runs : 2))
  cached_bytes() { # FILE: bytes of its pages in the page cache
    "$tools/pagecache" cached "$1" | cut -d' ' -f1
  }
  over_archive() { # BYTES: over the archive's bytes
    awk -v bytes="$1" -v total="$archive_bytes" 'BEGIN { printf "%.3f", bytes / total }'
  }
  # footprint ROW SYSTEM COLUMN READER...: one cold full read by READER FILE,
  # recorded under ROW (sources + mount) and ROW-sources, in COLUMN.
  footprint() {
    local row=$1 system=$2 column=$3; shift 3
    local source=${sources[$system]} mounted=${file[$system]} source_bytes mount_bytes=0
    sync
    timeout 60 "$tools/pagecache" evict "$source" "$mounted"
    "$@" "$mounted" >/dev/null
    sleep 0.2  # a server dropping what it read (one_copy) may still be at it
    source_bytes=$(cached_bytes "$source")
    [ "$system" = plain ] || mount_bytes=$(cached_bytes "$mounted")
    sample "$row" "$column" "x archive" "$(over_archive $((source_bytes + mount_bytes)))"
    sample "$row-sources" "$column" "x archive" "$(over_archive "$source_bytes")"
  }
  log "case 7: page cache after one full read from cold (sources + mount), $footprint_runs runs"
  for ((run = 0; run < footprint_runs; run++)); do
    for reader in $(rotated "$run" dd iree); do
      case $reader in
        dd) command=(dd_mbps) ;;
        iree) command=(timeout 300 "$tools/iree_read" mmap) ;;
      esac
      for system in $(rotated "$run" "${systems[@]}" "${one_copy_systems[@]}"); do
        case $system in
          irpafs-one_copy*)
            footprint "7-cache-$reader-${system#irpafs-}" "$system" irpafs "${command[@]}" ;;
          *) footprint "7-cache-$reader" "$system" "$system" "${command[@]}" ;;
        esac
      done
    done
  done
  warm_sources
fi

# scale_manifest ENTRIES SOURCE LIMIT: a manifest of ENTRIES 4 KiB ranges of
# SOURCE at offsets below LIMIT, on standard output (cases 6 and 8).
scale_manifest() {
  awk -v n="$1" -v source="$2" -v limit="$3" '
    BEGIN {
      print "sources:\n  st: " source "\nentries:"
      for (i = 0; i < n; i++)
        printf "  - name: tensor.%06d\n    source: st\n    offset: %d\n    length: 4096\n", \
          i, (i * 4096) % limit
    }'
}
# scale_mount MANIFESTS MOUNTPOINT LOG: irpafs on MANIFESTS, timed until the
# first byte of scale.irpa is readable; sets scale_ms and scale_pid.
scale_mount() {
  local result
  mkdir -p "$2"
  mountpoints+=("$2")
  result=$("$tools/first_byte" 60000 "$2/scale.irpa" -- "$irpafs" -f "$1" "$2" 2>>"$3") ||
    { cat "$3" >&2; echo "bench: mounting $1 failed" >&2; exit 1; }
  scale_ms=${result% *} scale_pid=${result#* }
  server_pids+=("$scale_pid")
}
scale_unmount() { # MOUNTPOINT: and waits for scale_pid to exit
  umount "$1"
  for ((wait = 0; wait < 100; wait++)); do kill -0 "$scale_pid" 2>/dev/null || break; sleep 0.05; done
}

if want_case 8 && [ "$standin" -eq 0 ]; then
  # nginx on 127.0.0.1 serving $work (the model and the built archive).
  mkdir -p "$work/nginx/tmp"
  for attempt in $(seq 20); do
    net_port=$((20000 + RANDOM % 40000))
    cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
user root;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp;
  default_type application/octet-stream;
  sendfile on;
  map \$http_range \$range_accept_ranges { "" ""; default bytes; }
  server {
    listen 127.0.0.1:$net_port;
    location / { root $work; autoindex on; }
    location /httpfs2/ { alias $work/; add_header Accept-Ranges \$range_accept_ranges; }
  }
}
CONF
    nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >>"$work/nginx.log" 2>&1 &
    net_pid=$!
    for ((wait = 0; wait < 100; wait++)); do
      curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$net_port/model.safetensors" && break
      kill -0 "$net_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$net_pid" 2>/dev/null && break
  done
  kill -0 "$net_pid" 2>/dev/null || { cat "$work/nginx.log" >&2; echo "bench: nginx did not start" >&2; exit 1; }
  server_pids+=("$net_pid")
  net_url=http://127.0.0.1:$net_port
  mkdir -p "$work/net-manifests" "$work/net-cache"
  printf 'sources:\n  st: %s/model.safetensors\nentries:\n  - source: st\n' "$net_url" \
    >"$work/net-manifests/model.yaml"
  net_mount() { # SYSTEM COMMAND...: mounts; the archive is MOUNTPOINT/model.irpa
    mount_system "$@"
    timeout 300 cmp "${file[plain]}" "${file[$1]}" ||
      { echo "bench: $1 does not serve the archive's bytes" >&2; exit 1; }
  }
  net_mount irpafs-url "$irpafs" -f ${irpafs_options:+-o "$irpafs_options"} \
    "$work/net-manifests" "$work/mnt/irpafs-url"
  net_mount irpafs-cache "$irpafs" -f -o "${irpafs_options:+$irpafs_options,}cache_dir=$work/net-cache,cache_size=64G" \
    "$work/net-manifests" "$work/mnt/irpafs-cache"
  # A peer that does not mount or serve the bytes is left out with a note.
  # httpfs2 (Debian 0.1.4) reads through /httpfs2/, the same files with
  # "Accept-Ranges: bytes" added to ranged replies: its parse_header() fails
  # every reply that lacks that exact line ("server must Accept-Range: bytes",
  # EIO), 206 replies to its "Range: bytes=A-B" GETs included, and nginx 1.22
  # sends Accept-Ranges on 200 replies only (a 206 carries Content-Range).
  # Upstream accepts Content-Range instead since 0.1.5 (2012); Debian 12 has
  # 0.1.4. The map adds the line to replies to a Range request only, so a 200
  # does not carry it twice. -c with no console keeps httpfs2's messages on
  # its standard error (by default they go to /dev/console once mounted).
  net_peers=()
  net_peer() { # SYSTEM COMMAND...
    if try_mount "$@" && timeout 300 cmp "${file[plain]}" "${file[$1]}" 2>>"$work/$1.log"; then
      net_peers+=("$1")
    else
      note "$1 did not serve the archive from nginx: left out of case 8 ($(tail -n 1 "$work/$1.log"))"
    fi
  }
  net_peer httpfs2 httpfs2 -c -f "$net_url/httpfs2/archive/model.irpa" "$work/mnt/httpfs2"
  net_peer rclone rclone mount --read-only --vfs-cache-mode off --http-url "$net_url/archive/" \
    :http: "$work/mnt/rclone"
  dd_mbps "${file[irpafs-cache]}" >/dev/null  # fills the cache dir
  log "case 8: network (nginx on 127.0.0.1), $runs runs"
  seconds_mbps() { awk -v start="$1" -v end="$(date +%s%N)" -v bytes="$archive_bytes" \
    'BEGIN { printf "%.0f", bytes / ((end - start) / 1e9) / 1e6 }'; }
  for ((run = 0; run < runs; run++)); do
    ensure_warm
    for system in $(rotated "$run" irpafs-url curl aria2c "${net_peers[@]}"); do
      case $system in
        curl)
          start=$(date +%s%N)
          curl -sf -o /dev/null "$net_url/archive/model.irpa"
          sample 8-net-first curl MB/s "$(seconds_mbps "$start")" ;;
        aria2c)
          rm -f "$work/out/aria2.irpa"
          start=$(date +%s%N)
          aria2c -q -x 8 -s 8 -k 1M --file-allocation=none --allow-overwrite=true \
            -d "$work/out" -o aria2.irpa "$net_url/archive/model.irpa"
          sample 8-net-first aria2c MB/s "$(seconds_mbps "$start")"
          rm -f "$work/out/aria2.irpa" ;;
        irpafs-url)
          evict irpafs-url
          sample 8-net-first irpafs MB/s "$(dd_mbps "${file[irpafs-url]}")" ;;
        *)
          evict "$system"
          sample 8-net-first "$system" MB/s "$(dd_mbps "${file[$system]}")" ;;
      esac
    done
    for system in $(rotated "$run" irpafs-cache irpafs); do
      evict "$system"
      column=irpafs; [ "$system" = irpafs ] && column=irpafs-local
      sample 8-net-cache "$column" MB/s "$(dd_mbps "${file[$system]}")"
    done
  done
  # 100,000 ranges of one URL source: load + mount until the first byte is
  # readable (one open of the object: one 1-byte request).
  mkdir -p "$work/net-scale"
  scale_manifest 100000 "$net_url/model.safetensors" $((archive_bytes / 2)) \
    >"$work/net-scale/scale.yaml"
  log "case 8: a 100,000-entry manifest of URL ranges: load + mount to the first byte"
  for ((run = 0; run < runs; run++)); do
    scale_mount "$work/net-scale" "$work/mnt/net-scale" "$work/net-scale.log"
    sample 8-net-mount-100000 irpafs ms "$scale_ms"
    scale_unmount "$work/mnt/net-scale"
  done
fi

if want_case 6 && [ "$standin" -eq 0 ]; then
  source_bytes=$(stat -c %s "$work/model.safetensors")
  for entries in $scale_sizes; do
    mkdir -p "$work/scale/$entries"
    scale_manifest "$entries" "$work/model.safetensors" $((source_bytes - 4096)) \
      >"$work/scale/$entries/scale.yaml"
    "$irpa" check "$work/scale/$entries/scale.yaml" >/dev/null
  done
  log "case 6: manifest load + mount until the first byte is readable ($scale_sizes entries)"
  for ((run = 0; run < runs; run++)); do
    ensure_warm
    # shellcheck disable=SC2086  # the sizes are words
    for entries in $(rotated "$run" $scale_sizes); do
      scale_mount "$work/scale/$entries" "$work/mnt/scale-$entries" "$work/scale.log"
      sample "6-mount-$entries" irpafs ms "$scale_ms"
      sample "6-rss-$entries" irpafs MiB \
        "$(awk -v kib="$(rss "$scale_pid" VmHWM)" 'BEGIN { printf "%.1f", kib / 1024 }')"
      scale_unmount "$work/mnt/scale-$entries"
    done
  done
fi

# --- report --------------------------------------------------------------------------
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta cpu "$(lscpu | awk -F: '/^Model name/ { sub(/^ +/, "", $2); print $2 }')"
meta nproc "$(nproc)"
meta memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta kernel "$(uname -r)"
meta libfuse "$(pkg-config --modversion fuse3)"
meta filesystem "$(findmnt -no FSTYPE,SOURCE -T "$work" | tr -s ' ')"
meta versions "fio $(dpkg-query -W -f='${Version}' fio), squashfuse $(dpkg-query -W -f='${Version}' squashfuse), bindfs $(dpkg-query -W -f='${Version}' bindfs)"
meta loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
meta archive "$archive_bytes bytes, $tensors tensors"
meta runs "$runs"
meta seconds "$(($(date +%s) - script_start))"
/usr/bin/python3 "$bench_dir/report.py" "$samples" "$meta" "$root/bench-results/$stamp"
log "done in $(($(date +%s) - script_start)) s; results in bench-results/$stamp.{txt,tsv,md}"

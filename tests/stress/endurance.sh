#!/usr/bin/env bash
# Endurance: reader threads open, read at random (pread and mmap) and close
# the archives of a mount while manifests are changed, removed and added and
# a source is replaced by rename (tests/stress/stress.c); every byte read is
# compared with `irpa build` output of the version that was open.
# Two identical churn rounds; after each, the manifests are back to their
# first state, the kernel is made to forget its inodes (drop_caches), and
# the server's descriptors, mappings and resident memory are counted:
#   - descriptors: exactly as many as right after mounting;
#   - mappings: no more after round 2 than after round 1 (thread stacks of
#     libfuse's worker threads allowed for);
#   - VmRSS: no growth from round 1 to round 2 beyond a generous margin
#     (the first round warms the allocator).
# STRESS_SECONDS (default 50) is the churn time of both rounds together;
# scripts/stress.sh SECONDS runs it longer. Nothing asserts on timing.
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
: "${STRESS:?}"
seconds=${STRESS_SECONDS:-50}
round_seconds=$(awk -v s="$seconds" 'BEGIN {print s / 2}')
threads=${STRESS_THREADS:-8}
names=8 versions=3 generations=2
# Under ASan, a small quarantine: freed memory held back is not a leak.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8"

mkdir -p "$work"/{versions,manifests,src,expected}
head -c $((1536 * 1024)) /dev/urandom >"$work/src/fixed.bin"
for g in 0 1; do head -c $((512 * 1024)) /dev/urandom >"$work/src/shared.g$g.bin"; done
gguf=$IRPA_TESTDATA/models/gguf/llama-2-tiny-random.gguf

# Version v of archive k: ranges of both sources (version 2 does not use the
# replaced source), a splat, and in version 1 every tensor of a GGUF file.
# Archive k0 has 20,000 ranges (a 2 MB header in memory): a version leaked
# would show in the server's memory and mappings.
for ((k = 0; k < names; k++)); do
  for ((v = 0; v < versions; v++)); do
    awk -v k="$k" -v v="$v" -v gguf="$gguf" 'BEGIN {
      srand(k * 10 + v + 1)
      print "archive: k" k ".irpa"
      print "sources:"
      print "  sh: {path: ../src/shared.bin, format: raw}"
      print "  fx: {path: ../src/fixed.bin, format: raw}"
      if (v == 1) print "  gg: " gguf
      print "entries:"
      if (v != 2) print "  - {name: k" k "v" v ".shared.head, source: sh, offset: 0, length: 64}"
      n = k == 0 ? 20000 : 3 + int(rand() * 6)
      for (i = 0; i < n; i++) {
        len = 1 + int(rand() * (k == 0 ? 200 : 200000))
        offset = int(rand() * (1536 * 1024 - len))
        print "  - {name: k" k "v" v ".fixed." i ", source: fx, offset: " offset ", length: " len "}"
      }
      if (v != 2) print "  - {name: k" k "v" v ".shared.tail, source: sh, offset: " int(rand() * 400000) ", length: 100000}"
      print "  - {name: k" k "v" v ".ones, splat: {type: f32, value: 1.0}, length: " 4 * (1 + int(rand() * 5000)) "}"
      if (v == 1) print "  - source: gg"
    }' >"$work/versions/k${k}_v$v.yaml"
  done
done
for g in 0 1; do
  cp "$work/src/shared.g$g.bin" "$work/src/shared.bin"
  for ((k = 0; k < names; k++)); do
    for ((v = 0; v < versions; v++)); do
      "$IRPA" build -q "$work/versions/k${k}_v$v.yaml" -o "$work/expected/k${k}_v${v}_g$g.irpa"
    done
  done
done
cp "$work/src/shared.g0.bin" "$work/src/shared.bin"
for ((k = 0; k < names; k++)); do cp "$work/versions/k${k}_v0.yaml" "$work/manifests/k$k.yaml"; done

start_irpafs server "$work/manifests" "$work/mnt"
pid=$server_pid

can_drop=true
sync
echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || can_drop=false

serves_first_state() {
  local k
  for ((k = 0; k < names; k++)); do
    drop_cache "$work/mnt/k$k.irpa" 2>/dev/null || return 1
    cmp -s "$work/mnt/k$k.irpa" "$work/expected/k${k}_v0_g0.irpa" || return 1
  done
}
# Descriptors other than pipes (each libfuse worker thread that spliced
# holds a pipe pair for as long as it lives, counted apart).
fds() { find "/proc/$pid/fd" -mindepth 1 -lname 'pipe:*' -o -mindepth 1 -print | wc -l; }
pipes() { find "/proc/$pid/fd" -mindepth 1 -lname 'pipe:*' -print | wc -l; }
maps() { wc -l <"/proc/$pid/maps"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
threads_now() { awk '/^Threads/ {print $2}' "/proc/$pid/status"; }
# Back in the first state, and the kernel has forgotten what it can.
settle() {  # WHAT
  WAIT_LIMIT=30 wait_for serves_first_state || fail "$1: the mount does not serve the first state"
  if $can_drop; then
    sync
    echo 2 >/proc/sys/vm/drop_caches
  fi
  sleep 1
}
counts() { echo "fds $(fds) (+ $(pipes) pipes), maps $(maps), VmRSS $(rss_kb) kB, threads $(threads_now)"; }

settle "after mounting"
fds0=$(fds) pipes0=$(pipes)
echo "after mounting:  $(counts)"
for round in 1 2; do
  "$STRESS" "$work" "$names" "$versions" "$generations" "$round_seconds" "$threads" 7 ||
    fail "round $round: a read did not match the version that was open (see above)"
  kill -0 "$pid" || fail "the server died in round $round"
  settle "after round $round"
  if $can_drop; then
    at_start() { [ "$(fds)" -eq "$fds0" ]; }
    wait_for at_start || fail "round $round: $(fds) descriptors open, $fds0 after mounting (leak)"
  fi
  pipes_now=$(pipes) threads_then=$(threads_now)
  [ "$pipes_now" -le $((pipes0 + 2 * threads_then)) ] ||
    fail "round $round: $pipes_now pipes for $threads_then threads ($pipes0 after mounting)"
  eval "fds$round=\$(fds) maps$round=\$(maps) rss$round=\$(rss_kb) threads$round=\$(threads_now)"
  echo "after round $round: $(counts)"
done
$can_drop || echo "note: cannot write /proc/sys/vm/drop_caches; descriptors not compared exactly"
# Each worker thread of libfuse has a stack and a guard page (2 mappings),
# may have a malloc arena (2 more) and a receive buffer of 1 MiB + a page
# (mapped by malloc, 1 more; in memory too).
extra_threads=$((threads2 > threads1 ? threads2 - threads1 : 0))
allowed_maps=$((maps1 + 5 * extra_threads + 4))
[ "$maps2" -le "$allowed_maps" ] ||
  fail "mappings grew from $maps1 to $maps2 between two identical rounds (leak)"
allowed_rss=$((rss1 + rss1 / 4 + 8192 + 2048 * extra_threads))
[ "$rss2" -le "$allowed_rss" ] ||
  fail "VmRSS grew from $rss1 kB to $rss2 kB between two identical rounds"
[ "$fds2" -le "$fds1" ] || fail "descriptors grew from $fds1 to $fds2 between two identical rounds"
if grep -E "invalid|EIO|modified in place|truncated|out of memory" "$work/server.log"; then
  fail "the server logged errors during the churn"
fi
stop_server "$work/mnt" "$pid"
echo "ok: $seconds s of churn under $threads readers; descriptors $fds0 -> $fds1 -> $fds2," \
  "mappings $maps1 -> $maps2, VmRSS $rss1 kB -> $rss2 kB"

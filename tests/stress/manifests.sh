#!/usr/bin/env bash
# Scale in the number of manifests: a directory of 1,000 manifests (600 under the
# sanitizers, tests/stress/meson.build) mounts
# (with the soft descriptor limit lowered to 512: irpafs raises it, since
# every source of every manifest stays open), lists 1,000 archives, and
# every one reads back as `irpa build` writes it; 10 changed, 10 removed
# and 10 added show up. Mount time, `ls -l` time, the server's memory per
# manifest (against a mount of 100) and its CPU time while idle (the 5 s
# rescans) are printed for information.
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
count=${SCALE_MANIFESTS:-1000}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

write_manifest() {  # DIR INDEX VARIANT
  local offset=$(( ($2 * 4099 + $3 * 77) % (4 * 1024 * 1024 - 10000) ))
  printf 'sources:\n  s: {path: ../source.bin, format: raw}\nentries:\n' >"$1/.m$2.tmp"
  printf '  - {name: w%d, source: s, offset: %d, length: %d}\n' "$3" "$offset" $((100 + $2 % 5000)) \
    >>"$1/.m$2.tmp"
  printf '  - {name: n%d, splat: {type: u8, value: %d}, length: 64}\n' "$3" $(($2 % 256)) >>"$1/.m$2.tmp"
  printf '  - {name: x%d, source: s, offset: %d, length: 3000}\n' "$3" $((offset + 5000)) >>"$1/.m$2.tmp"
  mv "$1/.m$2.tmp" "$1/m$2.yaml"
}
build_expected() {  # INDEX
  "$IRPA" build -q "$work/manifests/m$1.yaml" -o "$work/expected/m$1.irpa"
}

mkdir -p "$work/manifests" "$work/small" "$work/expected"
head -c $((4 << 20)) /dev/urandom >"$work/source.bin"
for ((i = 0; i < count; i++)); do write_manifest "$work/manifests" "$i" 0; done
for ((i = 0; i < 100; i++)); do write_manifest "$work/small" "$i" 0; done
t=$(now)
for ((i = 0; i < count; i++)); do build_expected "$i"; done
echo "irpa build of $count manifests: $(since "$t")"

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge $((count * 2)) ]; then
  ulimit -Sn 512
  echo "soft descriptor limit of the server's parent: $(ulimit -Sn) (hard $hard)"
fi
t=$(now)
start_irpafs server "$work/manifests" "$work/mnt"
big_pid=$server_pid
echo "mount of $count manifests: $(since "$t"), server CPU $(cpu_ms "$big_pid") ms"
t=$(now)
listed=$(ls -l "$work/mnt" | grep -c '\.irpa$') || true
echo "ls -l of $count archives: $(since "$t")"
[ "$listed" -eq "$count" ] || fail "$listed archives listed, not $count: $(grep -v '^$' "$work/server.log" | tail -3)"
echo "server: $(ls "/proc/$big_pid/fd" | wc -l) descriptors (soft limit now $(awk '/open files/ {print $4}' "/proc/$big_pid/limits"))"

t=$(now)
for ((i = 0; i < count; i++)); do
  cmp -s "$work/mnt/m$i.irpa" "$work/expected/m$i.irpa" || fail "m$i.irpa differs from irpa build"
done
echo "cmp of all $count archives: $(since "$t")"

start_irpafs small "$work/small" "$work/mnt-small"
small_pid=$server_pid
ls -l "$work/mnt-small" >/dev/null
cat "$work"/mnt-small/*.irpa >/dev/null
rss_big=$(rss_kb "$big_pid") rss_small=$(rss_kb "$small_pid")
echo "VmRSS: $rss_big kB with $count manifests, $rss_small kB with 100:" \
  "$(( (rss_big - rss_small) * 1024 / (count - 100) )) bytes per manifest"

# Idle: the periodic rescan (every 5 s) stats every manifest.
cpu_before=$(cpu_ms "$big_pid")
sleep 6
echo "server CPU while idle for 6 s (one rescan of $count manifests):" \
  "$(( $(cpu_ms "$big_pid") - cpu_before )) ms"

# Live changes among many: 10 changed, 10 removed, 10 added.
for ((i = 0; i < 10; i++)); do
  write_manifest "$work/manifests" "$i" 1
  build_expected "$i"
  rm "$work/manifests/m$((100 + i)).yaml"
  write_manifest "$work/manifests" "$((count + i))" 0
  build_expected "$((count + i))"
done
changes_show() {
  local i
  for ((i = 0; i < 10; i++)); do
    [ ! -e "$work/mnt/m$((100 + i)).irpa" ] || return 1
    drop_cache "$work/mnt/m$i.irpa" && cmp -s "$work/mnt/m$i.irpa" "$work/expected/m$i.irpa" || return 1
    cmp -s "$work/mnt/m$((count + i)).irpa" "$work/expected/m$((count + i)).irpa" || return 1
  done
}
WAIT_LIMIT=30 wait_for changes_show || fail "changes among $count manifests not served"
listed=$(ls "$work/mnt" | grep -c '\.irpa$') || true
[ "$listed" -eq "$count" ] || fail "$listed archives listed after the changes, not $count"
grep -qiE "invalid|error|cannot" "$work/server.log" && fail "errors logged: $(head -5 "$work/server.log")"
stop_server "$work/mnt-small" "$small_pid"
stop_server "$work/mnt" "$big_pid"
echo "ok: $count manifests mounted, listed and read back; live changes among them served"

#!/usr/bin/env bash
# Scale: a manifest of 100,000 entries (byte ranges of one source, every
# tenth a splat) is checked, built and inspected, and mounted: `ls -l`,
# `irpa inspect` through the mount, the whole file and random reads agree
# with `irpa build` output. Timings and the server's memory are printed for
# information (nothing asserts on them); the per-read cost is shown next to
# a 10-entry archive of about the same size. Five reloads of the manifest
# leave the server's memory and descriptors where they were.
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
entries=${SCALE_ENTRIES:-100000}


mkdir -p "$work/manifests"
head -c $((16 << 20)) /dev/urandom >"$work/manifests/source.bin"
awk -v n="$entries" 'BEGIN {
  srand(6)
  print "archive: big.irpa"
  print "sources:"
  print "  s: {path: source.bin, format: raw}"
  print "entries:"
  for (i = 0; i < n; i++) {
    if (i % 10 == 9) {
      printf "  - {name: blk.%d.norm, splat: {type: f32, value: 1.0}, length: %d}\n", i, 4 * (1 + int(rand() * 64))
      continue
    }
    len = 1 + int(rand() * 400)
    printf "  - {name: blk.%d.weight, source: s, offset: %d, length: %d}\n", i, int(rand() * (16777216 - len)), len
  }
}' >"$work/manifests/big.yaml"
# The same bytes in 10 big entries, for comparison.
awk 'BEGIN {
  print "archive: few.irpa"
  print "sources:"
  print "  s: {path: source.bin, format: raw}"
  print "entries:"
  for (i = 0; i < 10; i++) printf "  - {name: part.%d, source: s, offset: %d, length: %d}\n", i, i * 1600000, 1600000
}' >"$work/manifests/few.yaml"

t=$(now)
"$IRPA" check "$work/manifests/big.yaml" >"$work/check.txt" || fail "irpa check: $(cat "$work/check.txt")"
echo "irpa check, $entries entries: $(since "$t")"
t=$(now)
"$IRPA" build -q "$work/manifests/big.yaml" -o "$work/big.irpa"
echo "irpa build: $(since "$t") ($(stat -c %s "$work/big.irpa") bytes)"
"$IRPA" build -q "$work/manifests/few.yaml" -o "$work/few.irpa"
t=$(now)
"$IRPA" inspect "$work/big.irpa" >"$work/inspect.txt" || fail "irpa inspect failed"
echo "irpa inspect: $(since "$t")"
listed=$(grep -c '`blk\.' "$work/inspect.txt") || true
[ "$listed" -eq "$entries" ] || fail "irpa inspect lists $listed entries, not $entries"

t=$(now)
start_irpafs server "$work/manifests" "$work/mnt"
echo "mount (load and lay out $entries entries): $(since "$t"), server CPU $(cpu_ms "$server_pid") ms"
echo "server VmRSS with it mounted: $(awk '/^VmRSS/ {print $2, $3}' "/proc/$server_pid/status")"
t=$(now)
ls -l "$work/mnt" >"$work/ls.txt"
echo "ls -l: $(since "$t")"
grep -q "$(stat -c %s "$work/big.irpa") .* big.irpa$" "$work/ls.txt" || fail "ls -l: $(cat "$work/ls.txt")"

t=$(now)
cmp "$work/mnt/big.irpa" "$work/big.irpa" || fail "the mounted archive differs from irpa build"
echo "cmp of the whole mounted archive: $(since "$t")"
t=$(now)
"$IRPA" inspect "$work/mnt/big.irpa" >"$work/inspect-mounted.txt" || fail "irpa inspect through the mount"
echo "irpa inspect through the mount: $(since "$t")"
diff <(sed 's|.*big.irpa||' "$work/inspect.txt") <(sed 's|.*big.irpa||' "$work/inspect-mounted.txt") \
  >/dev/null || fail "irpa inspect differs through the mount"

# Random reads (cache dropped first): each must equal the built file's bytes.
random_reads() {  # NAME BUILT COUNT
  local size offset count i
  size=$(stat -c %s "$2")
  drop_cache "$work/mnt/$1"
  for ((i = 0; i < $3; i++)); do
    offset=$(( (RANDOM * 32768 + RANDOM) % size ))
    count=$(( 1 + RANDOM % 70000 ))
    cmp <(dd if="$work/mnt/$1" bs=64K iflag=skip_bytes,count_bytes skip="$offset" count="$count" status=none) \
        <(dd if="$2" bs=64K iflag=skip_bytes,count_bytes skip="$offset" count="$count" status=none) ||
      fail "$1: $count bytes at $offset differ from irpa build"
  done
}
t=$(now)
random_reads big.irpa "$work/big.irpa" 300
echo "300 random reads, $entries entries: $(since "$t")"
t=$(now)
random_reads few.irpa "$work/few.irpa" 300
echo "300 random reads, 10 entries: $(since "$t")"
# Cold sequential reads of both archives (the per-read cost of many entries).
for name in big few; do
  drop_cache "$work/mnt/$name.irpa"
  t=$(now)
  cat "$work/mnt/$name.irpa" >/dev/null
  echo "cold read of $name.irpa ($(stat -c %s "$work/$name.irpa") bytes): $(since "$t")"
done
# Reloads: the manifest touched five times, each version read whole; once
# the kernel has forgotten the old versions, memory and descriptors are
# back to where they were (each reload frees the version it replaces).
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
fds() { find "/proc/$server_pid/fd" -mindepth 1 -lname 'pipe:*' -o -mindepth 1 -print | wc -l; }
rss_before=$(rss_kb) fds_before=$(fds)
for ((i = 0; i < 5; i++)); do
  inode=$(stat -c %i "$work/mnt/big.irpa")
  touch "$work/manifests/big.yaml"
  reloaded() { [ "$(stat -c %i "$work/mnt/big.irpa")" != "$inode" ]; }
  WAIT_LIMIT=60 wait_for reloaded || fail "big.yaml touched but not reloaded within 60 s"
  cat "$work/mnt/big.irpa" >/dev/null
done
cmp "$work/mnt/big.irpa" "$work/big.irpa" || fail "the reloaded archive differs from irpa build"
if sync && echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; then
  sleep 1
  echo "VmRSS after 5 reloads: $(rss_kb) kB (before: $rss_before kB)"
  [ "$(rss_kb)" -le $((rss_before + rss_before / 2 + 8192)) ] ||
    fail "VmRSS grew from $rss_before kB to $(rss_kb) kB over 5 reloads"
  fds_back() { [ "$(fds)" -eq "$fds_before" ]; }
  wait_for fds_back || fail "$(fds) descriptors after 5 reloads, $fds_before before"
else
  echo "note: cannot drop the kernel's caches; memory after reloads not checked"
fi
kill -0 "$server_pid" || fail "server died"
stop_server "$work/mnt" "$server_pid"
echo "ok: a $entries-entry archive mounts and reads back as irpa build writes it"

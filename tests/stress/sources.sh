#!/usr/bin/env bash
# Many sources in one archive: 1,100 small files, two entries from each,
# interleaved so that every read touches hundreds of sources. The mounted
# archive reads back as `irpa build` writes it; then a source whose index is
# past 1,024 (the read path tracks the first 1,024 in a bitmap) and one
# below are rewritten in place: reads that touch either fail with EIO,
# never wrong bytes, and reads that touch neither still succeed.
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
count=1100

mkdir -p "$work/manifests/src"
for ((i = 0; i < count; i++)); do head -c 8192 /dev/urandom >"$work/manifests/src/s$i.bin"; done
awk -v n="$count" 'BEGIN {
  print "archive: many.irpa"
  print "sources:"
  for (i = 0; i < n; i++) printf "  s%d: {path: src/s%d.bin, format: raw}\n", i, i
  print "entries:"
  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < n; i++)
      printf "  - {name: p%d.s%d, source: s%d, offset: %d, length: %d}\n", pass, i, i, pass * 4096 + i % 97, 100 + (i * 37) % 3000
}' >"$work/manifests/many.yaml"
"$IRPA" build -q "$work/manifests/many.yaml" -o "$work/many.irpa"
"$IRPA" inspect --manifest "$work/manifests/many.yaml" >"$work/layout.txt"

start_irpafs server "$work/manifests" "$work/mnt"
t=$(now)
cmp "$work/mnt/many.irpa" "$work/many.irpa" || fail "the mounted archive differs from irpa build"
echo "cmp of an archive drawing on $count sources: $(since "$t")" \
  "($(find "/proc/$server_pid/fd" -mindepth 1 | wc -l) server descriptors)"

# Where the first entry of sources 1050 and 10 starts and ends in the archive.
range_of() {  # ENTRY_NAME -> "START END"
  awk -v key="\`$1\`" '$7 == key {print $1, $3}' "$work/layout.txt"
}
read -r high_start high_end < <(range_of p0.s1050)
read -r low_start low_end < <(range_of p0.s10)
read -r clean_start clean_end < <(range_of p1.s500)
[ -n "$high_start" ] && [ -n "$low_start" ] && [ -n "$clean_start" ] ||
  fail "no layout: $(head -20 "$work/layout.txt")"
printf 'X' | dd of="$work/manifests/src/s1050.bin" bs=1 seek=5000 conv=notrunc status=none
printf 'Y' | dd of="$work/manifests/src/s10.bin" bs=1 seek=5000 conv=notrunc status=none
# (the manifest itself is untouched: the served version keeps its sources)
read_range() {  # START END
  drop_cache "$work/mnt/many.irpa"
  dd if="$work/mnt/many.irpa" bs=64K iflag=skip_bytes,count_bytes skip="$1" count=$(($2 - $1)) \
    status=none >/dev/null
}
read_range "$high_start" "$high_end" 2>"$work/high.err" && fail "a read of changed source 1050 succeeded"
grep -q "Input/output error" "$work/high.err" || fail "source 1050: $(cat "$work/high.err")"
read_range "$low_start" "$low_end" 2>"$work/low.err" && fail "a read of changed source 10 succeeded"
grep -q "Input/output error" "$work/low.err" || fail "source 10: $(cat "$work/low.err")"
cmp <(dd if="$work/mnt/many.irpa" bs=64K iflag=skip_bytes,count_bytes skip="$clean_start" \
        count=$((clean_end - clean_start)) status=none) \
    <(dd if="$work/many.irpa" bs=64K iflag=skip_bytes,count_bytes skip="$clean_start" \
        count=$((clean_end - clean_start)) status=none) ||
  fail "an entry of an unchanged source differs"
grep -q "src/s1050.bin" "$work/server.log" || fail "the change of source 1050 was not logged"
kill -0 "$server_pid" || fail "server died"
stop_server "$work/mnt" "$server_pid"
echo "ok: $count sources in one archive; changed sources above and below 1,024 give EIO"

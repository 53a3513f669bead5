#!/usr/bin/env bash
# Over 4 GiB: a sparse 10 GiB source (random bytes at a few places, holes
# elsewhere) gives an archive of more than 5 GiB with a tensor of 5 GiB at
# source offset 4 GiB + 123, and a tensor that ends at the source's last
# byte. Through the mount: the size, the head (as `irpa build` writes it),
# `irpa inspect`, and reads where the tensor starts, where the archive
# crosses 4 GiB, at the tensor's end and at the archive's end, each compared
# with the source bytes it must come from. (Offsets near 2^63 cannot be a
# file here: tests/stress/test_limits.c covers them with fake sources.)
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
GiB=$((1 << 30))
source_size=$((10 * GiB))
huge_offset=$((4 * GiB + 123))      # in the source
huge_length=$((5 * GiB + 77))
tail_offset=$((source_size - 1000))

mkdir -p "$work/manifests"
big=$work/manifests/big.bin
truncate -s "$source_size" "$big" 2>/dev/null || skip "cannot make a 10 GiB sparse file here"
put_random() {  # SOURCE_OFFSET BYTES
  head -c "$2" /dev/urandom | dd of="$big" bs=1M conv=notrunc oflag=seek_bytes seek="$1" status=none
}
cat >"$work/manifests/large.yaml" <<EOF
sources:
  b: {path: big.bin, format: raw}
entries:
  - {name: small, source: b, offset: 100, length: 1000}
  - {name: huge, source: b, offset: $huge_offset, length: $huge_length}
  - {name: tail, source: b, offset: $tail_offset, length: 1000}
  - {name: ones, splat: {type: f32, value: 1.0}, length: 4096}
EOF
"$IRPA" inspect --manifest "$work/manifests/large.yaml" >"$work/layout.txt"
huge_start=$(awk '/`huge`/ {print $1}' "$work/layout.txt")
tail_start=$(awk '/`tail`/ {print $1}' "$work/layout.txt")
[ -n "$huge_start" ] && [ -n "$tail_start" ] || fail "no layout: $(cat "$work/layout.txt")"
# Random bytes where the reads below land (the rest are holes: zeros).
put_random 0 $((1 << 20))
put_random "$huge_offset" $((1 << 20))
crossing=$((4 * GiB - huge_start + huge_offset))   # source offset at archive offset 4 GiB
put_random $((crossing - (1 << 19))) $((1 << 20))
put_random $((huge_offset + huge_length - (1 << 20))) $((1 << 20))
put_random $((source_size - (1 << 20))) $((1 << 20))

start_irpafs server "$work/manifests" "$work/mnt"
mounted=$work/mnt/large.irpa
size=$(stat -c %s "$mounted")
[ "$size" -gt $((5 * GiB)) ] || fail "archive of $size bytes"
[ "$size" -eq $(( (tail_start + 1000 + 4095) / 4096 * 4096 )) ] ||
  fail "size $size does not end at the last tensor rounded to 4096 ($tail_start + 1000)"

# The head as irpa build writes it (the build stream is cut after 8 KiB).
{ "$IRPA" build -q "$work/manifests/large.yaml" -o - 2>/dev/null || true; } | head -c 8192 >"$work/head.bin"
cmp <(head -c 8192 "$mounted") "$work/head.bin" || fail "the head differs from irpa build"
"$IRPA" inspect "$mounted" >"$work/inspect.txt" || fail "irpa inspect: $(cat "$work/inspect.txt")"
grep -q "$huge_length | \`huge\`" "$work/inspect.txt" || fail "inspect: $(cat "$work/inspect.txt")"

region() {  # FILE OFFSET BYTES
  dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}
check() {  # WHAT ARCHIVE_OFFSET SOURCE_OFFSET BYTES
  cmp <(region "$mounted" "$2" "$4") <(region "$big" "$3" "$4") ||
    fail "$1: $4 bytes at archive offset $2 differ from source offset $3"
}
check "start of the 5 GiB tensor" "$huge_start" "$huge_offset" $((1 << 20))
check "the archive's 4 GiB boundary" $((4 * GiB - (1 << 19))) $((crossing - (1 << 19))) $((1 << 20))
check "end of the 5 GiB tensor" $((huge_start + huge_length - (1 << 20))) \
  $((huge_offset + huge_length - (1 << 20))) $((1 << 20))
check "the tensor ending at the source's end" "$tail_start" "$tail_offset" 1000
# The last 8 KiB: the end of the 5 GiB tensor, padding, the tail tensor,
# zeros up to the end.
last=$((size - 8192)) huge_end=$((huge_start + huge_length))
[ "$last" -lt "$huge_end" ] || fail "layout: the last 8 KiB do not reach into the 5 GiB tensor"
cmp <(region "$mounted" "$last" 8192) \
    <(region "$big" $((huge_offset + last - huge_start)) $((huge_end - last))
      head -c $((tail_start - huge_end)) /dev/zero; region "$big" "$tail_offset" 1000
      head -c $((size - tail_start - 1000)) /dev/zero) || fail "the archive's last 8 KiB"
[ "$(tail -c 1000 "$mounted" | wc -c)" -eq 1000 ] || fail "tail -c through the mount"
kill -0 "$server_pid" || fail "server died"
stop_server "$work/mnt" "$server_pid"
echo "ok: a $size-byte archive with a $huge_length-byte tensor at source offset $huge_offset" \
  "reads right at its start, across 4 GiB and at its end"

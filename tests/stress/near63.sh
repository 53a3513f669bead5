#!/usr/bin/env bash
# Offsets near 2^63 through the mount: tmpfs holds a sparse file of
# 2^63 - 1 bytes (ext4 stops at 16 TiB), so the source is one, in a work
# directory on /dev/shm. The manifest takes its last 4096 bytes (source
# offsets up to 2^63 - 1) and two tensors of almost 2^62 bytes, for an
# archive of almost 2^63 bytes; reads at its far end (archive offsets near
# 2^63), across 2^62 and at the source's last byte are compared with the
# source bytes they must come from, and the head with `irpa build`.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
max=9223372036854775807                  # 2^63 - 1
two62=$((1 << 62))
mib=$((1 << 20))

mkdir -p "$work/manifests"
huge=$work/manifests/huge.bin
truncate -s "$max" "$huge" 2>/dev/null ||
  skip "no file system here holds a sparse file of 2^63 - 1 bytes (tmpfs at /dev/shm does)"
put_random() {  # SOURCE_OFFSET BYTES
  head -c "$2" /dev/urandom | dd of="$huge" bs=64K conv=notrunc oflag=seek_bytes seek="$1" status=none
}
cat >"$work/manifests/near.yaml" <<EOF
sources:
  h: {path: huge.bin, format: raw}
entries:
  - {name: last, source: h, offset: $((max - 4096)), length: 4096}
  - {name: a, source: h, offset: 0, length: $((two62 - mib))}
  - {name: b, source: h, offset: $two62, length: $((two62 - mib))}
EOF
"$IRPA" inspect --manifest "$work/manifests/near.yaml" >"$work/layout.txt"
start_of() { awk -v key="\`$1\`" '$7 == key {print $1}' "$work/layout.txt"; }
last_start=$(start_of last) a_start=$(start_of a) b_start=$(start_of b)
[ -n "$last_start" ] && [ -n "$a_start" ] && [ -n "$b_start" ] ||
  fail "no layout: $(cat "$work/layout.txt")"
b_end=$((b_start + two62 - mib))
put_random $((max - 4096)) 4096
put_random $((two62 - mib - (1 << 19))) "$mib"   # the end of a, the hole, the start of b
put_random $((max + 1 - 2 * mib)) "$mib"         # the end of b (at 2^63 - 1 MiB)

start_irpafs server "$work/manifests" "$work/mnt"
mounted=$work/mnt/near.irpa
size=$(stat -c %s "$mounted")
[ "$size" -eq $(( (b_end + 4095) / 4096 * 4096 )) ] ||
  fail "size $size, expected the end of b ($b_end) rounded up to 4096"
echo "archive of $size bytes (2^63 - $((max - size + 1)))"
{ "$IRPA" build -q "$work/manifests/near.yaml" -o - 2>/dev/null || true; } | head -c 8192 >"$work/head.bin"
cmp <(head -c 8192 "$mounted") "$work/head.bin" || fail "the head differs from irpa build"

region() {  # FILE OFFSET BYTES
  dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}
check() {  # WHAT ARCHIVE_OFFSET SOURCE_OFFSET BYTES
  cmp <(region "$mounted" "$2" "$4") <(region "$huge" "$3" "$4") ||
    fail "$1: $4 bytes at archive offset $2 differ from source offset $3"
}
check "the source's last 4096 bytes" "$last_start" $((max - 4096)) 4096
check "the end of a" $((a_start + two62 - mib - (1 << 19))) $((two62 - mib - (1 << 19))) $((1 << 19))
check "the start of b" "$b_start" "$two62" $((1 << 19))
check "the end of b, near 2^63" $((b_end - mib)) $((max + 1 - 2 * mib)) "$mib"
# The last bytes: the end of b, then zeros up to the archive's end.
cmp <(region "$mounted" $((b_end - 4096)) $((size - b_end + 4096))) \
    <(region "$huge" $((max + 1 - mib - 4096)) 4096; head -c $((size - b_end)) /dev/zero) ||
  fail "the archive's last bytes"
[ "$(region "$mounted" $((size - 10)) 100 | wc -c)" -eq 10 ] || fail "a read past the end"
kill -0 "$server_pid" || fail "server died"
stop_server "$work/mnt" "$server_pid"
echo "ok: reads at archive offsets up to 2^63 - $((max - size + 1)) and source offsets up to 2^63 - 1"

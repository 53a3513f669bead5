#!/usr/bin/env bash
# Sources that change under a mount:
#  - truncated in place: reads touching it fail with EIO (never wrong bytes,
#    never a crash); the server stays up; another archive is fine; the log
#    says which source changed and how;
#  - rewritten in place (same size, new mtime): EIO as well;
#  - small reads (4 KiB, O_DIRECT: one request each, which the server copies
#    rather than splices) get EIO too, including a read right after the
#    truncation that trusts the server's check of a moment before;
#  - touching the manifest reloads it and serves the new source's bytes;
#  - deleted, or replaced by rename: the old bytes are still served exactly
#    (through the descriptor opened at load), and the log says so.
source "$(dirname "$0")/lib.sh"
require_fuse
: "${TRUNCATE_RACE:?}"
reference=$IRPA_TESTDATA/reference
WAIT_LIMIT=${IRPAFS_RELOAD_LIMIT:-15}

mkdir -p "$work/manifests"
copy_model gguf/llama-2-tiny-random.gguf "$source_dir/llama.gguf"
copy_model gguf/dummy.gguf "$source_dir/dummy.gguf"
copy_model safetensors/overall.safetensors "$source_dir/overall.safetensors"
"$IRPA" manifest "$source_dir/llama.gguf" -o "$work/manifests/llama.yaml"
"$IRPA" manifest "$source_dir/dummy.gguf" -o "$work/manifests/dummy.yaml"
"$IRPA" manifest "$source_dir/overall.safetensors" -o "$work/manifests/overall.yaml"
start_irpafs server "$work/manifests" "$work/mnt"
mnt=$work/mnt
log=$work/server.log
cmp "$mnt/llama.irpa" "$reference/llama-2-tiny-random.irpa"

expect_eio() {  # FILE WHAT
  drop_cache "$1"
  local err
  if err=$(cat "$1" 2>&1 >/dev/null); then fail "$2: read succeeded"; fi
  grep -q "Input/output error" <<<"$err" || fail "$2: expected EIO, got: $err"
}
alive() { kill -0 "$server_pid" || fail "server died"; mountpoint -q "$mnt" || fail "mount gone"; }
last_block() { echo $(($(stat -c %s "$1") / 4096 * 4096 - 4096)); }  # FILE: offset of its last full 4 KiB
expect_small_eio() {  # FILE WHAT: one 4 KiB request at the last full block
  local err
  if err=$(dd if="$1" iflag=direct,skip_bytes bs=4096 skip="$(last_block "$1")" count=1 \
             status=none 2>&1 >/dev/null); then fail "$2: small read succeeded"; fi
  grep -q "Input/output error" <<<"$err" || fail "$2: small read: expected EIO, got: $err"
}

# 1. truncate in place
truncate -s 600000 "$source_dir/llama.gguf"
expect_eio "$mnt/llama.irpa" "truncated source"
expect_small_eio "$mnt/llama.irpa" "truncated source"
# the header (in memory, no source bytes) is still readable: only reads
# that touch the changed source fail (O_DIRECT, so the read is not widened
# to pages of readahead)
dd if="$mnt/llama.irpa" iflag=direct bs=512 count=1 status=none \
  | cmp - <(head -c 512 "$reference/llama-2-tiny-random.irpa") || fail "header not readable"
alive
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa" || fail "other archive broken"
grep -q "archive llama.irpa: source .*llama.gguf truncated from 1750560 to 600000 bytes; reads fail with EIO" "$log" \
  || fail "truncation not logged: $(cat "$log")"
expect_eio "$mnt/llama.irpa" "truncated source, again"
[ "$(grep -c 'truncated from' "$log")" -eq 1 ] || fail "truncation logged more than once"

# 2. restore the bytes in place, then touch the manifest: served again
cp "$IRPA_TESTDATA/models/gguf/llama-2-tiny-random.gguf" "$source_dir/llama.gguf.new"
cat "$source_dir/llama.gguf.new" >"$source_dir/llama.gguf"  # in place: same inode
touch "$work/manifests/llama.yaml"
served_again() { drop_cache "$mnt/llama.irpa"; cmp "$mnt/llama.irpa" "$reference/llama-2-tiny-random.irpa"; }
wait_for served_again || fail "not served again after touching the manifest"

# 3. rewrite in place with the same size and different bytes: EIO, not new bytes
/usr/bin/python3 - "$source_dir/overall.safetensors" <<'PY'
import os, sys
path = sys.argv[1]
st = os.stat(path)
with open(path, "r+b") as f:
    f.seek(st.st_size - 16)
    data = f.read(16)
    f.seek(st.st_size - 16)
    f.write(bytes(b ^ 0xff for b in data))
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
PY
expect_eio "$mnt/overall.irpa" "source rewritten in place"
expect_small_eio "$mnt/overall.irpa" "source rewritten in place"
grep -q "archive overall.irpa: source .*overall.safetensors modified in place" "$log" \
  || fail "rewrite not logged: $(cat "$log")"
alive
# touching the manifest serves the new bytes (those of the changed source)
"$IRPA" build -q "$work/manifests/overall.yaml" -o "$work/overall-new.irpa"
cmp -s "$work/overall-new.irpa" "$reference/overall.irpa" && fail "test did not change the bytes"
touch "$work/manifests/overall.yaml"
new_bytes() { drop_cache "$mnt/overall.irpa"; cmp "$mnt/overall.irpa" "$work/overall-new.irpa"; }
wait_for new_bytes || fail "new source bytes not served after reload"

# 4. delete a source: old bytes still served exactly
rm "$source_dir/dummy.gguf"
drop_cache "$mnt/dummy.irpa"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa" || fail "deleted source: bytes differ"
grep -q "archive dummy.irpa: source .*dummy.gguf was deleted or replaced; serving the bytes it had" "$log" \
  || fail "deletion not logged: $(cat "$log")"

# 5. replace a source by rename: old bytes still served exactly
cp "$IRPA_TESTDATA/models/gguf/dummy.gguf" "$source_dir/other.gguf"
truncate -s 100 "$source_dir/other.gguf"
mv "$source_dir/other.gguf" "$source_dir/llama.gguf"
drop_cache "$mnt/llama.irpa"
cmp "$mnt/llama.irpa" "$reference/llama-2-tiny-random.irpa" || fail "renamed-over source: bytes differ"
grep -q "archive llama.irpa: source .*llama.gguf was deleted or replaced" "$log" \
  || fail "replacement not logged: $(cat "$log")"
alive

# 6. a small read, the source truncated, the same small read at once: EIO
copy_model gguf/llama-2-tiny-random.gguf "$source_dir/race.gguf"
"$IRPA" manifest "$source_dir/race.gguf" -o "$work/manifests/race.yaml"
wait_for test -e "$mnt/race.irpa" || fail "race.irpa did not appear"
"$TRUNCATE_RACE" "$mnt/race.irpa" "$source_dir/race.gguf" 600000 "$(last_block "$mnt/race.irpa")" \
  || fail "small read right after a truncation"
grep -q "archive race.irpa: source .*race.gguf truncated from 1750560 to 600000 bytes" "$log" \
  || fail "truncation under a small read not logged: $(cat "$log")"
alive
stop_irpafs "$mnt" "$server_pid"
echo "ok: changed sources give EIO, reload picks them up, deleted/replaced ones keep their bytes"

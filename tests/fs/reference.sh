#!/usr/bin/env bash
# Every reference archive IREE wrote, served by irpafs from an `irpa manifest`
# manifest (explicit byte ranges and splats), is byte-identical to it when
# read through the mount (cmp), when copied out (cp), and `irpa inspect` on
# the mounted file lists what IREE's *.dump.txt lists. The archives are
# served together from one manifest directory.
source "$(dirname "$0")/lib.sh"
require_fuse

models=$IRPA_TESTDATA/models
reference=$IRPA_TESTDATA/reference
mkdir -p "$work/manifests"
manifest() {  # NAME SOURCE... [options]
  local name=$1; shift
  "$IRPA" manifest "$@" -o "$work/manifests/$name.yaml"
}
for model in "$models"/gguf/*.gguf "$models"/safetensors/*.safetensors; do
  manifest "$(basename "${model%.*}")" "$model"
done
manifest sharded "$models"/safetensors/sharded/model-0000?-of-00006.safetensors
manifest tiny-edit "$models/gguf/llama-2-tiny-random.gguf" --exclude output.weight \
  --rename token_embd.weight=model.embed_tokens.weight --splat blk.0.ffn_norm.weight=f32=1.0

start_irpafs server "$work/manifests" "$work/mnt"
count=0
for archive in "$reference"/*.irpa; do
  name=$(basename "$archive" .irpa)
  served=$work/mnt/$name.irpa
  [ -f "$served" ] || fail "$name.irpa is not in the mount: $(ls "$work/mnt")"
  [ "$(stat -c %s "$served")" = "$(stat -c %s "$archive")" ] || fail "$name: st_size differs"
  [ "$(stat -c %a "$served")" = 444 ] || fail "$name: mode is not 0444"
  cmp "$archive" "$served" || fail "$name: mounted file differs from the reference"
  drop_cache "$served"
  cp "$served" "$work/$name.copy"
  cmp "$archive" "$work/$name.copy" || fail "$name: cp of the mounted file differs"
  "$IRPA" inspect "$served" >"$work/$name.inspect"
  sed -E 's/`  \[(data|splat)[^`]*$/`/' "$work/$name.inspect" >"$work/$name.columns"
  diff -u "$reference/$name.dump.txt" "$work/$name.columns" \
    || fail "$name: irpa inspect on the mount differs from $name.dump.txt"
  count=$((count + 1))
done
[ "$count" -ge 8 ] || fail "only $count reference archives"
# Nothing else is in the mount, and the directory listing is sorted.
[ "$(ls "$work/mnt" | wc -l)" -eq "$count" ] || fail "extra files: $(ls "$work/mnt")"
grep -q 'error\|invalid' "$work/server.log" && fail "errors logged: $(cat "$work/server.log")"
stop_irpafs "$work/mnt" "$server_pid"
echo "ok: $count reference archives served byte-identical"

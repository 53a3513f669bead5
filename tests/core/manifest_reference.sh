#!/usr/bin/env bash
# Every IREE-written reference archive is rebuilt byte-identical
#  1. from a hand-written manifest of tensor / whole-model entries
#     (tests/core/manifests/NAME.yaml), and
#  2. from `irpa manifest` output over the same model files, with the same
#     edits as IREE's invocation (reference/README.md).
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?} ${IRPA_SOURCE_ROOT:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
reference=$IRPA_TESTDATA/reference
models=$IRPA_TESTDATA/models
here=$IRPA_SOURCE_ROOT/tests/core/manifests
count=0
for manifest in "$here"/*.yaml; do
  name=$(basename "$manifest" .yaml)
  "$IRPA" build -q "$manifest" -o "$work/$name.irpa"
  cmp "$reference/$name.irpa" "$work/$name.irpa"
  count=$((count + 1))
done
[ "$count" -eq 8 ] || { echo "expected 8 hand-written manifests, found $count"; exit 1; }

# `irpa manifest` + `irpa build` == iree-convert-parameters
generated() { # NAME SOURCE... [options]
  local name=$1; shift
  "$IRPA" manifest "$@" -o "$work/gen-$name.yaml"
  "$IRPA" build -q "$work/gen-$name.yaml" -o "$work/gen-$name.irpa"
  cmp "$reference/$name.irpa" "$work/gen-$name.irpa"
  # the manifest is explicit ranges only, each commented with dtype and shape
  ! grep -qE '^\s+- source:|tensor:' "$work/gen-$name.yaml"
}
for model in "$models"/gguf/*.gguf "$models"/safetensors/*.safetensors; do
  generated "$(basename "${model%.*}")" "$model"
done
shards=("$models"/safetensors/sharded/model-0000?-of-00006.safetensors)
generated sharded "${shards[@]}"
generated sharded "$models/safetensors/sharded/model.safetensors.index.json"
generated tiny-edit "$models/gguf/llama-2-tiny-random.gguf" --exclude output.weight \
  --rename token_embd.weight=model.embed_tokens.weight --splat blk.0.ffn_norm.weight=f32=1.0
grep -q '# F16 \[32000, 8\]' "$work/gen-tiny-edit.yaml"

# The generated manifest names its sources by absolute paths: it builds
# from any current directory (tests/core/manifest_paths.sh moves and copies).
mkdir -p "$work/sub/dir"
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/sub/dir/m.yaml"
(cd / && "$IRPA" build -q "$work/sub/dir/m.yaml" -o "$work/sub/m.irpa")
cmp "$reference/dummy.irpa" "$work/sub/m.irpa"
# metadata: pytorch attaches iree-turbine's blob, from a manifest and from
# `irpa manifest --metadata pytorch` alike.
cat >"$work/pt.yaml" <<EOF
metadata: pytorch
sources:
  m: $models/safetensors/model.with_metadata.safetensors
entries:
  - source: m
    include: ["float16_35", "bool_3"]
EOF
"$IRPA" build -q "$work/pt.yaml" -o "$work/pt.irpa"
"$IRPA" inspect "$work/pt.irpa" >"$work/pt.txt"
grep -qF '`float16_35`  [data]  metadata: PYTORCH:{"type": "Tensor", "dtype": "float16", "shape": [3, 5], "dtype_desc": {"class_name": "dtype", "is_complex": false, "is_floating_point": true, "is_signed": true, "itemsize": 2}}' "$work/pt.txt"
grep -qF '`bool_3`  [data]  metadata: PYTORCH:{"type": "Tensor", "dtype": "bool", "shape": [3],' "$work/pt.txt"
"$IRPA" manifest --metadata pytorch "$models/safetensors/model.with_metadata.safetensors" \
  --include float16_35 --include bool_3 -o "$work/pt-gen.yaml"
"$IRPA" build -q "$work/pt-gen.yaml" -o "$work/pt-gen.irpa"
cmp "$work/pt.irpa" "$work/pt-gen.irpa"

# A tensor looked up by name in a sharded source; a missing one is an error
# at its entry's line.
cat >"$work/named.yaml" <<EOF
sources:
  m: $models/safetensors/sharded/model.safetensors.index.json
entries:
  - {source: m, tensor: nope}
  - {source: m, tensor: float32_35, name: x}
EOF
status=0; "$IRPA" check "$work/named.yaml" 2>"$work/named.err" >/dev/null || status=$?
[ "$status" -eq 2 ] && grep -qx "$work/named.yaml:4:5: source 'm' has no tensor 'nope'" "$work/named.err"
sed -i '/nope/d' "$work/named.yaml"
"$IRPA" inspect --manifest "$work/named.yaml" | grep -q '`x`'

echo "ok: $count manifests and every irpa manifest output rebuilt IREE's archives"

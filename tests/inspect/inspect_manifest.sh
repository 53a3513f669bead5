#!/usr/bin/env bash
# `irpa inspect --manifest M` says where each entry's bytes come from and
# where they land; the built archive, inspected, has the same columns.
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model="$IRPA_TESTDATA/models/gguf/llama-2-tiny-random.gguf"
cat >"$work/m.yaml" <<YAML
sources:
  tiny: $model
entries:
  - name: first
    source: tiny
    offset: 100
    length: 100
    metadata: "hello: metadata"
  - name: ones
    splat: "0000803f"
    length: 32
  - name: second
    source: tiny
    offset: 4096
    length: 64
YAML
"$IRPA" build "$work/m.yaml" -o "$work/m.irpa"
"$IRPA" inspect "$work/m.irpa" >"$work/built.txt" 2>"$work/built.err"
[ ! -s "$work/built.err" ] || { echo "notes or errors on a built archive:"; cat "$work/built.err"; exit 1; }
"$IRPA" inspect --manifest "$work/m.yaml" >"$work/plan.txt"
cat "$work/plan.txt"
strip() { sed -E 's/`  \[(data|splat)[^`]*$/`/' "$1"; }
diff -u <(strip "$work/built.txt") <(strip "$work/plan.txt")
grep -qF "| \`first\`  [data] from $model offset 100  metadata: hello: metadata" "$work/plan.txt"
grep -qF "| \`second\`  [data] from $model offset 4096" "$work/plan.txt"
grep -qF "| \`ones\`  [splat pattern 0000803f]" "$work/plan.txt"
grep -qF "| \`first\`  [data]  metadata: hello: metadata" "$work/built.txt"
"$IRPA" inspect --json --manifest "$work/m.yaml" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
e = {x["name"]: x for x in d["entries"]}
assert e["second"]["source_offset"] == 4096 and e["second"]["source"].endswith(".gguf"), e
assert e["first"]["metadata"] == "hello: metadata", e["first"]
assert e["ones"]["pattern"] == "0000803f", e["ones"]
assert e["second"]["end"] - e["second"]["start"] == 64
'
# Built to standard output and inspected from standard input: the same listing.
"$IRPA" build "$work/m.yaml" -o - | "$IRPA" inspect - >"$work/piped.txt"
cmp "$work/built.txt" "$work/piped.txt"

# Whole-model manifests: the plan and the built archive both list exactly
# what iree-dump-parameters lists for the archive IREE converted.
models="$IRPA_TESTDATA/models"
for model in gguf/dummy.gguf gguf/llama-2-tiny-random.gguf gguf/ggml-vocab-llama-spm.gguf \
             gguf/ggml-vocab-falcon-v2.gguf safetensors/model.with_metadata.safetensors \
             safetensors/overall.safetensors; do
  name=$(basename "$model"); name=${name%.*}
  printf 'sources:\n  m: %s\nentries:\n  - source: m\n' "$models/$model" >"$work/$name.yaml"
  "$IRPA" inspect --manifest "$work/$name.yaml" >"$work/$name.plan"
  diff -u "$IRPA_TESTDATA/reference/$name.dump.txt" <(strip "$work/$name.plan")
  "$IRPA" build "$work/$name.yaml" -o "$work/$name.irpa"
  "$IRPA" inspect "$work/$name.irpa" >"$work/$name.built" 2>"$work/$name.err"
  [ ! -s "$work/$name.err" ] || { cat "$work/$name.err"; exit 1; }
  diff -u "$IRPA_TESTDATA/reference/$name.dump.txt" <(strip "$work/$name.built")
done
{
  printf 'sources:\n'
  for n in 1 2 3 4 5 6; do
    printf '  s%d: %s/safetensors/sharded/model-0000%d-of-00006.safetensors\n' $n "$models" $n
  done
  printf 'entries:\n'
  for n in 1 2 3 4 5 6; do printf '  - source: s%d\n' $n; done
} >"$work/sharded.yaml"
"$IRPA" inspect --manifest "$work/sharded.yaml" >"$work/sharded.plan"
diff -u "$IRPA_TESTDATA/reference/sharded.dump.txt" <(strip "$work/sharded.plan")

# A broken manifest: exit 2 and the manifest's own error.
printf 'sources: {}\nentries:\n  - name: x\n    source: nowhere\n    offset: 0\n    length: 1\n' \
  >"$work/bad.yaml"
set +e
"$IRPA" inspect --manifest "$work/bad.yaml" 2>"$work/bad.err"; status=$?
set -e
[ "$status" = 2 ] || { echo "bad manifest: exit $status"; exit 1; }
grep -q "bad.yaml:" "$work/bad.err" || { cat "$work/bad.err"; exit 1; }
echo "ok: --manifest matches the built archive"

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
"$IRPA" inspect --json --manifest "$work/m.yaml" | python3 -c '
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

# A broken manifest: exit 2 and the manifest's own error.
printf 'sources: {}\nentries:\n  - name: x\n    source: nowhere\n    offset: 0\n    length: 1\n' \
  >"$work/bad.yaml"
set +e
"$IRPA" inspect --manifest "$work/bad.yaml" 2>"$work/bad.err"; status=$?
set -e
[ "$status" = 2 ] || { echo "bad manifest: exit $status"; exit 1; }
grep -q "bad.yaml:" "$work/bad.err" || { cat "$work/bad.err"; exit 1; }
echo "ok: --manifest matches the built archive"

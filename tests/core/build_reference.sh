#!/usr/bin/env bash
# For every IREE-written archive in the shared test data, a manifest of
# explicit ranges and splats (made by ref_manifest) builds a byte-identical
# file, both to a path and to standard output.
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?} ${REF_MANIFEST:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count=0
for reference in "$IRPA_TESTDATA"/reference/*.irpa; do
  name=$(basename "$reference" .irpa)
  "$REF_MANIFEST" "$reference" "$reference" >"$work/$name.yaml"
  "$IRPA" build "$work/$name.yaml" -o "$work/$name.irpa"
  cmp "$reference" "$work/$name.irpa"
  "$IRPA" build "$work/$name.yaml" -o - >"$work/$name.stdout.irpa"
  cmp "$reference" "$work/$name.stdout.irpa"
  count=$((count + 1))
done
[ "$count" -ge 8 ] || { echo "only $count reference archives found"; exit 1; }
echo "ok: $count reference archives rebuilt byte-identical"

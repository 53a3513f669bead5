#!/usr/bin/env bash
# The example manifests in manifests/examples/ are valid: each loads and resolves
# (`irpa check`), and llama-whole.yaml builds IREE's reference archive byte for byte.
# The examples name ../shared beside the checkout; without it the test is skipped.
set -euo pipefail
: "${IRPA:?IRPA must name the irpa program}"
: "${IRPA_SOURCE_ROOT:?IRPA_SOURCE_ROOT must name the checkout}"
examples="$IRPA_SOURCE_ROOT/manifests/examples"
shared_testdata="$IRPA_SOURCE_ROOT/../shared/testdata"
if [ ! -d "$shared_testdata/models" ]; then
    echo "SKIP: $shared_testdata is missing (the examples refer to it)"
    exit 77
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failures=0
count=0
for manifest in "$examples"/*.yaml; do
    count=$((count + 1))
    if ! "$IRPA" check "$manifest" >"$scratch/check.out" 2>&1; then
        echo "FAIL: irpa check $manifest"
        cat "$scratch/check.out"
        failures=$((failures + 1))
    fi
done
if [ "$count" -lt 4 ]; then
    echo "FAIL: expected at least 4 examples in $examples, found $count"
    failures=$((failures + 1))
fi

"$IRPA" build -q "$examples/llama-whole.yaml" -o "$scratch/llama-whole.irpa"
if ! cmp "$scratch/llama-whole.irpa" "$shared_testdata/reference/llama-2-tiny-random.irpa"; then
    echo "FAIL: llama-whole.yaml does not build reference/llama-2-tiny-random.irpa"
    failures=$((failures + 1))
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "ok: $count examples check, llama-whole.yaml matches IREE's archive"

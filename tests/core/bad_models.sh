#!/usr/bin/env bash
# Every malformed model file in the shared test data gets exit status 2 and
# a one-line message naming the file, from `irpa manifest`, `irpa check` and
# `irpa build` alike; nothing is written.
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count=0
for bad in "$IRPA_TESTDATA"/bad/*; do
  name=$(basename "$bad")
  status=0
  "$IRPA" manifest "$bad" -o "$work/m.yaml" 2>"$work/err" || status=$?
  if [ "$status" -ne 2 ]; then echo "$name: irpa manifest exited $status"; cat "$work/err"; exit 1; fi
  grep -q "$name" "$work/err" || { echo "$name: message does not name the file:"; cat "$work/err"; exit 1; }
  [ "$(wc -l <"$work/err")" -ge 1 ]
  [ ! -e "$work/m.yaml" ] || { echo "$name: a manifest was written"; exit 1; }
  printf 'sources:\n  m: {path: %s, format: %s}\nentries:\n  - source: m\n' "$bad" \
    "$(case "$name" in *.safetensors) echo safetensors ;; *) echo gguf ;; esac)" >"$work/bad.yaml"
  status=0
  "$IRPA" check "$work/bad.yaml" >"$work/out" 2>"$work/err" || status=$?
  [ "$status" -eq 2 ] || { echo "$name: irpa check exited $status"; cat "$work/err"; exit 1; }
  grep -q "$name" "$work/err"
  status=0
  "$IRPA" build "$work/bad.yaml" -o "$work/out.irpa" 2>"$work/err" || status=$?
  [ "$status" -eq 2 ] && [ ! -e "$work/out.irpa" ]
  echo "$name: $(head -1 "$work/err")"
  count=$((count + 1))
done
[ "$count" -ge 14 ] || { echo "only $count bad files"; exit 1; }
echo "ok: $count bad files refused"

#!/usr/bin/env bash
# `irpa inspect` on every archive IREE wrote (reference/*.irpa): the header
# lines and the start/end/length/key columns equal iree-dump-parameters'
# listing beside it, --json parses and has the right entries, and malformed
# or missing files get exit status 2 or 1 with a located one-line error.
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
json_checks=()  # "KIND FILE [ARG]" lines for the one python3 run at the end
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

count=0
for archive in "$IRPA_TESTDATA"/reference/*.irpa; do
  name=$(basename "$archive" .irpa)
  dump="$IRPA_TESTDATA/reference/$name.dump.txt"
  [ -f "$dump" ] || continue
  count=$((count + 1))
  if ! "$IRPA" inspect "$archive" >"$work/$name.txt" 2>"$work/$name.err"; then
    fail "$name: irpa inspect failed: $(cat "$work/$name.err")"; continue
  fi
  [ -s "$work/$name.err" ] && fail "$name: unexpected notes or errors: $(cat "$work/$name.err")"
  # Our rows are IREE's with "  [type] ..." appended after the key's closing backquote.
  sed -E 's/`  \[(data|splat)[^`]*$/`/' "$work/$name.txt" >"$work/$name.columns"
  diff -u "$dump" "$work/$name.columns" || fail "$name: columns differ from $name.dump.txt"
  rows=$(grep -c '^ .* | `' "$dump" || true)
  "$IRPA" inspect --json "$archive" >"$work/$name.json" || fail "$name: --json failed"
  # Checked below, all JSON files by one python3: valid, no errors, read with mmap, and as many
  # data and splat entries as the dump has rows.
  json_checks+=("reference $work/$name.json $rows")
done
[ "$count" -ge 8 ] || fail "only $count reference archives found"

# What irpa build writes passes --strict too (like IREE's builder, it writes
# nothing a warning is about).
"$IRPA" manifest "$IRPA_TESTDATA/models/safetensors/model.with_metadata.safetensors" \
  --splat 'float64_3*' -o "$work/built.yaml"
"$IRPA" build -q "$work/built.yaml" -o "$work/built.irpa"
"$IRPA" inspect --strict "$work/built.irpa" >/dev/null 2>"$work/built.err" \
  && [ ! -s "$work/built.err" ] || fail "irpa build output under --strict: $(cat "$work/built.err")"

# Several files: the listings one after another; --json gives an array.
"$IRPA" inspect "$IRPA_TESTDATA/reference/dummy.irpa" "$IRPA_TESTDATA/reference/overall.irpa" \
  >"$work/two.txt" || fail "two archives"
[ "$(grep -c '^// Parameter scope' "$work/two.txt")" = 2 ] || fail "two listings expected"
"$IRPA" inspect --json "$IRPA_TESTDATA/reference/dummy.irpa" \
  "$IRPA_TESTDATA/reference/overall.irpa" >"$work/two.json" || fail "--json with two archives"
json_checks+=("array $work/two.json 2")

# '-' reads standard input and lists the same.
"$IRPA" inspect - <"$IRPA_TESTDATA/reference/tiny-edit.irpa" >"$work/stdin.txt" \
  || fail "inspect - (standard input)"
cmp -s "$work/stdin.txt" "$work/tiny-edit.txt" || fail "inspect - differs from inspect FILE"

# A malformed archive: exit 2, one located error per problem, nothing on stdout.
cp "$IRPA_TESTDATA/reference/dummy.irpa" "$work/bad.irpa"
chmod u+w "$work/bad.irpa"
printf '\x01' | dd of="$work/bad.irpa" bs=1 seek=16 conv=notrunc status=none
set +e
"$IRPA" inspect "$work/bad.irpa" >"$work/bad.out" 2>"$work/bad.err"; status=$?
set -e
[ "$status" = 2 ] || fail "malformed archive: exit $status, expected 2"
[ -s "$work/bad.out" ] && fail "malformed archive: listing printed"
grep -qF "irpa: $work/bad.irpa: offset 16: next_header_offset 1 is not 0" "$work/bad.err" \
  || fail "malformed archive: message: $(cat "$work/bad.err")"
"$IRPA" inspect --json "$work/bad.irpa" >"$work/bad.json" 2>/dev/null && fail "--json: exit 0"
json_checks+=("malformed $work/bad.json")

# What IREE loads but its builder never writes (a non-zero padding byte) is a
# warning: the listing, one located line on stderr, exit 0; --strict exits 2;
# --json carries it under "warnings" and stays valid. Errors stay errors.
cp "$IRPA_TESTDATA/reference/dummy.irpa" "$work/padded.irpa"
chmod u+w "$work/padded.irpa"
printf '\x07' | dd of="$work/padded.irpa" bs=1 seek=90 conv=notrunc status=none
set +e
"$IRPA" inspect "$work/padded.irpa" >"$work/padded.out" 2>"$work/padded.err"; lenient=$?
"$IRPA" inspect --strict "$work/padded.irpa" >/dev/null 2>"$work/strict.err"; strict=$?
"$IRPA" inspect --json "$work/padded.irpa" >"$work/padded.json" 2>/dev/null; json=$?
"$IRPA" inspect --strict "$work/bad.irpa" >/dev/null 2>&1; strict_bad=$?
set -e
[ "$lenient" = 0 ] || fail "warning only: exit $lenient, expected 0"
grep -q '^// Parameter scope' "$work/padded.out" || fail "warning only: no listing"
[ "$(cat "$work/padded.err")" = "irpa: $work/padded.irpa: offset 90: warning: non-zero padding \
at offset 90 (byte 0x07 outside the header, entries, names, metadata and data)" ] \
  || fail "warning line: $(cat "$work/padded.err")"
[ "$strict" = 2 ] || fail "--strict with a warning: exit $strict, expected 2"
cmp -s "$work/padded.err" "$work/strict.err" || fail "--strict: different stderr"
[ "$json" = 0 ] && grep -q '"valid": true' "$work/padded.json" \
  && grep -A1 '"warnings": \[' "$work/padded.json" | grep -q 'offset 90: warning: non-zero' \
  || fail "--json of a warning: exit $json: $(cat "$work/padded.json")"
[ "$strict_bad" = 2 ] || fail "--strict with an error: exit $strict_bad"
status=0; "$IRPA" inspect --strict --manifest "$work/built.yaml" >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || fail "--strict with --manifest: exit $status, expected 2 (usage)"

# Not an archive at all, a missing file, usage errors.
set +e
"$IRPA" inspect "$IRPA_TESTDATA/reference/README.md" 2>"$work/magic.err"; magic=$?
"$IRPA" inspect "$work/missing.irpa" 2>"$work/missing.err"; missing=$?
"$IRPA" inspect 2>"$work/usage.err"; usage=$?
"$IRPA" inspect --bogus x.irpa 2>/dev/null; bogus=$?
"$IRPA" inspect --help >"$work/help.out"; help=$?
set -e
[ "$magic" = 2 ] && grep -q 'offset 0: magic' "$work/magic.err" || fail "not an archive: $magic"
[ "$missing" = 1 ] && grep -q 'cannot open' "$work/missing.err" || fail "missing: $missing"
[ "$usage" = 2 ] && grep -q '^usage: irpa inspect' "$work/usage.err" || fail "usage: $usage"
[ "$bogus" = 2 ] || fail "unknown option: exit $bogus"
[ "$help" = 0 ] && grep -q -- '--manifest' "$work/help.out" && grep -q -- '--strict' "$work/help.out" \
  || fail "--help"

# Every JSON output above, checked by one python3 (/usr/bin/python3: the python3 first on PATH
# can be a version-manager shim that takes up to a second to start).
printf '%s\n' "${json_checks[@]}" | /usr/bin/python3 -c '
import json, sys
failed = 0
for line in sys.stdin:
    kind, path, *arg = line.split()
    try:
        d = json.load(open(path))
        if kind == "reference":
            # IREE wrote it: no error, and no warning (a warning is what the IREE builder never writes)
            assert d["valid"] is True and d["errors"] == [] and d["warnings"] == [], d
            assert d["read_with"] == "mmap", d
            entries = len([e for e in d["entries"] if e["type"] in ("data", "splat")])
            assert entries == int(arg[0]), f"--json has {entries} entries, the dump {arg[0]} rows"
        elif kind == "array":
            assert isinstance(d, list) and len(d) == int(arg[0]), "not an array of two"
        elif kind == "malformed":
            assert d["valid"] is False and "next_header_offset" in d["errors"][0], d
    except Exception as e:
        print(f"FAIL: {kind} {path}: {e!r}")
        failed += 1
sys.exit(1 if failed else 0)' || fail "--json content (see above)"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok: $count reference archives listed as iree-dump-parameters does"

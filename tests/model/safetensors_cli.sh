#!/usr/bin/env bash
# End to end with the built `irpa`: a safetensors file whose header has
# "__metadata__": null (as published checkpoints do) goes through
# `irpa manifest` (with --metadata pytorch) and a manifest's whole-file
# `source:` entry, through `irpa check` and `irpa build`, and its tensors'
# bytes land in the archive. A header whose __metadata__ is an array is
# refused with exit 2 and a message naming the file.
set -euo pipefail
: "${IRPA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# write_safetensors FILE HEADER DATA: the u64 little-endian length, the
# header, the data.
write_safetensors() {
  local length=${#2} bytes="" i
  for i in 0 1 2 3 4 5 6 7; do bytes+=$(printf '\\x%02x' $(((length >> (8 * i)) & 255))); done
  printf "$bytes" >"$1"
  printf '%s%s' "$2" "$3" >>"$1"
}

header='{"__metadata__":null,"w":{"dtype":"F8_E4M3FNUZ","shape":[2,2],"data_offsets":[0,4]},'
header+='"q":{"dtype":"F4","shape":[4],"data_offsets":[4,6]},'
header+='"e":{"dtype":"F32","shape":[0],"data_offsets":[6,6]}}'
write_safetensors null.safetensors "$header" ABCDEF
data_start=$((8 + ${#header}))

# irpa manifest: every tensor, in header order, at its offset; pytorch
# metadata where torch has the dtype (F8_E4M3FNUZ), none for F4.
"$IRPA" manifest null.safetensors --metadata pytorch -o listed.yaml
grep -q "^  - name: \"w\"   # F8_E4M3FNUZ \[2, 2\]" listed.yaml
[ "$(grep -c '^  - name:' listed.yaml)" -eq 3 ]
sed -n '/name: "w"/,/name: "q"/p' listed.yaml >w.entry
sed -n '/name: "q"/,/name: "e"/p' listed.yaml >q.entry
grep -q "offset: $data_start" w.entry
grep -q 'float8_e4m3fnuz' w.entry
! grep -q 'metadata:' q.entry
"$IRPA" build listed.yaml -o listed.irpa

# A whole-file source entry.
printf 'sources:\n  st: null.safetensors\nentries:\n  - source: st\n' >whole.yaml
"$IRPA" check whole.yaml >check.out
grep -q '3 entries (3 data, 0 splat)' check.out
"$IRPA" build whole.yaml -o whole.irpa
"$IRPA" inspect whole.irpa >inspect.out
# The `w` row: start | end | length | `w`; its bytes are the source's.
read -r start _ end _ length _ < <(grep '`w`' inspect.out)
[ "$length" -eq 4 ] && [ "$((end - start))" -eq 4 ]
[ "$(dd if=whole.irpa bs=1 skip="$start" count=4 status=none)" = ABCD ]
grep -q '`q`' inspect.out && grep -q '`e`' inspect.out

# __metadata__ that is neither null nor an object of strings.
write_safetensors bad.safetensors '{"__metadata__":[]}' ''
status=0
"$IRPA" manifest bad.safetensors -o bad.yaml 2>err || status=$?
[ "$status" -eq 2 ] || { echo "irpa manifest exited $status"; cat err; exit 1; }
grep -q 'bad.safetensors: __metadata__ is neither null nor an object of strings' err
[ ! -e bad.yaml ]
echo "ok: __metadata__ null through manifest, check, build and inspect"

#!/usr/bin/env bash
# `irpa manifest` checks every option before writing anything: a typed
# --splat is checked as a manifest's `splat: {type, value}` is, and must
# have the dtype of each tensor it covers; an --include, --exclude, --splat
# or --rename that does nothing (over all sources together) is an error; a
# name two tensors get names both. Each is exit 2 with nothing written. And
# a manifest's `tensor:` naming no tensor of its source gets "did you mean".
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
models=$IRPA_TESTDATA/models
llama=$models/gguf/llama-2-tiny-random.gguf
typed=$models/safetensors/model.with_metadata.safetensors
fail() { echo "FAIL: $*"; exit 1; }

# refused OUTPUT_LINE ARGS...: exit 2, the message line on stderr, and
# neither -o's file (kept as it was) nor standard output written.
refused() {
  local expected=$1; shift
  echo "before" >"$work/out.yaml"
  local status=0
  "$IRPA" manifest "$@" -o "$work/out.yaml" 2>"$work/err" || status=$?
  [ "$status" -eq 2 ] || fail "$*: exit $status, expected 2: $(cat "$work/err")"
  grep -qxF "$expected" "$work/err" || fail "$*: expected '$expected', got: $(cat "$work/err")"
  [ "$(cat "$work/out.yaml")" = before ] || fail "$*: the output file was written"
  ls "$work" | grep -q '\.tmp\.' && fail "$*: a temporary file was left"
  status=0
  "$IRPA" manifest "$@" >"$work/stdout" 2>/dev/null || status=$?
  [ "$status" -eq 2 ] && [ ! -s "$work/stdout" ] || fail "$*: standard output written"
}

# typed splats: checked like a manifest's, before any source is opened
refused "irpa manifest: --splat 'w=f33=1': unknown splat type 'f33'; did you mean 'f32'?" \
  "$llama" --splat 'w=f33=1'
refused "irpa manifest: --splat 'w=f16=70000': splat value '70000' is too large for f16; expected a magnitude of at most 65504" \
  "$llama" --splat 'w=f16=70000'
refused "irpa manifest: --splat 'w=u8=-1': splat value '-1' is out of range for u8; expected 0 to 255" \
  "$llama" --splat 'w=u8=-1'
# ... and of each covered tensor's dtype (an f32 pattern over F64 writes
# other numbers; over F8 it does not even fit)
refused "irpa manifest: --splat 'float64_3*=f32=1': tensor 'float64_3' is F64, not f32 (nor are 2 more it matches); a typed splat must have the tensor's dtype (or use a zero splat: --splat 'float64_3*')" \
  "$typed" --splat 'float64_3*=f32=1'
refused "irpa manifest: --splat 'float8_e5m2_3=f32=1': tensor 'float8_e5m2_3' is F8_E5M2, not f32; a typed splat must have the tensor's dtype (or use a zero splat: --splat 'float8_e5m2_3')" \
  "$typed" --splat 'float8_e5m2_3=f32=1'
"$IRPA" manifest "$typed" --splat 'float64_3*=f64=1' --splat 'bool_3=u8=1' -o "$work/ok.yaml"
grep -q 'splat: {type: f64, value: 1}' "$work/ok.yaml"
"$IRPA" check "$work/ok.yaml" >/dev/null

# options that do nothing
refused "irpa manifest: --exclude 'nothing*' matches no tensor" "$llama" --exclude 'nothing*'
refused "irpa manifest: --exclude 'output.weight' matches no tensor that --include keeps" \
  "$llama" --include 'blk.*' --exclude 'output.weight'
refused "irpa manifest: --splat 'nothing' matches no tensor" "$llama" --splat nothing
refused "irpa manifest: --rename 'model.=' renames no tensor: no name kept starts with 'model.', or an earlier --rename takes each one that does" \
  "$llama" --rename model.=
refused "irpa manifest: --rename 'blk.0.attn=x' renames no tensor: no name kept starts with 'blk.0.attn', or an earlier --rename takes each one that does" \
  "$llama" --rename blk.=layer. --rename blk.0.attn=x
refused "irpa manifest: --include 'nothing*' matches no tensor" "$llama" --include 'blk.*' --include 'nothing*'
# judged over all sources together: each of these is in one shard only
shards=("$models"/safetensors/sharded/model-0000?-of-00006.safetensors)
"$IRPA" manifest "${shards[@]}" --include 'float*' --exclude float32_35 --splat 'float16_3=f16=1' \
  --rename float64_=f64_ -o "$work/shards.yaml"
"$IRPA" check "$work/shards.yaml" >/dev/null

# a name two tensors get: both are named
refused "irpa manifest: command line:1:1: duplicate entry name 'x.weight': tensors 'blk.0.attn_q.weight' and 'blk.0.attn_k.weight' of source '$llama' both get it; rename one of them" \
  "$llama" --rename blk.0.attn_q=x --rename blk.0.attn_k=x

# a manifest's tensor that its source does not have: the nearest name
cat >"$work/typo.yaml" <<YAML
sources:
  m: $llama
entries:
  - {source: m, tensor: blk.0.attn_q.weigth}
  - {source: m, tensor: zzz}
YAML
status=0
"$IRPA" check "$work/typo.yaml" 2>"$work/err" >/dev/null || status=$?
[ "$status" -eq 2 ] || fail "typo.yaml: exit $status"
grep -qxF "$work/typo.yaml:4:5: source 'm' has no tensor 'blk.0.attn_q.weigth'; did you mean 'blk.0.attn_q.weight'?" "$work/err" \
  || fail "no suggestion: $(cat "$work/err")"
grep -qxF "$work/typo.yaml:5:5: source 'm' has no tensor 'zzz'" "$work/err" || fail "$(cat "$work/err")"

# a safetensors tensor named "" (its reader accepts it): refused naming the
# source file, unless it is left out
# (a 128-byte header: the JSON padded with spaces, as the format allows)
{ printf '\200\0\0\0\0\0\0\0'
  printf '%-128s' '{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
  printf 'ab'; } >"$work/empty.safetensors"
refused "irpa manifest: command line:1:1: source '$work/empty.safetensors' has a tensor with an empty name, which an archive entry cannot have; leave it out (exclude) or rename it" \
  "$work/empty.safetensors"
"$IRPA" manifest "$work/empty.safetensors" --exclude '' -o "$work/kept.yaml"
grep -qF 'name: "b"' "$work/kept.yaml" || fail "--exclude '' did not keep b: $(cat "$work/kept.yaml")"
echo "ok: irpa manifest refuses options that would write a wrong manifest"

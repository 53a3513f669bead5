#!/usr/bin/env bash
# URL sources in manifests: `irpa manifest URL` (GGUF, safetensors, a
# sharded index whose shards sit beside it) fetching only header bytes;
# `irpa check`, `irpa build` (byte-identical to local-path builds) and
# `irpa inspect --manifest` taking URLs; `headers:` with ${VAR} (the token
# never printed); errors naming the manifest's line and column.
source "$(dirname "$0")/lib.sh"
start_nginx
cd "$work"

# same_archive NAME URL_OR_PATH LOCAL_PATH: built from the URL and from the
# local path, the archives are identical.
same_archive() {
  "$IRPA" manifest "$2" -o "$1-url.yaml"
  "$IRPA" manifest "$3" -o "$1-local.yaml"
  grep -q "\"$nginx_url/" "$1-url.yaml" || fail "$1: the URL is not written as given"
  "$IRPA" check "$1-url.yaml" >/dev/null || fail "$1: irpa check of the URL manifest"
  "$IRPA" build -q "$1-url.yaml" -o "$1-url.irpa"
  "$IRPA" build -q "$1-local.yaml" -o "$1-local.irpa"
  cmp "$1-url.irpa" "$1-local.irpa" || fail "$1: archives differ"
}
same_archive gguf "$nginx_url/models/gguf/llama-2-tiny-random.gguf" \
  "$models/gguf/llama-2-tiny-random.gguf"
same_archive dummy "$nginx_url/redirect/gguf/dummy.gguf" "$models/gguf/dummy.gguf"
same_archive st "$nginx_url/models/safetensors/model.with_metadata.safetensors" \
  "$models/safetensors/model.with_metadata.safetensors"
same_archive sharded "$nginx_url/models/safetensors/sharded/model.safetensors.index.json" \
  "$models/safetensors/sharded/model.safetensors.index.json"
grep -q "$nginx_url/models/safetensors/sharded/model-00006-of-00006.safetensors" \
  sharded-url.yaml || fail "the shards are not the URLs beside the index"
# An index URL with a query (a '/' in it): the shards are beside the URL's
# path, without the query.
"$IRPA" manifest "$nginx_url/models/safetensors/sharded/model.safetensors.index.json?sig=a/b" \
  -o sharded-query.yaml
grep -q "\"$nginx_url/models/safetensors/sharded/model-00006-of-00006.safetensors\"" \
  sharded-query.yaml || fail "query: the shards are not beside the index: $(cat sharded-query.yaml)"
"$IRPA" check sharded-query.yaml >/dev/null || fail "query: irpa check"

# Only header bytes: irpa manifest of a 1.7 MB GGUF (its header ~0.7 MB)
# does not fetch the whole file.
: >"$work/nginx/access.log"
"$IRPA" manifest "$nginx_url/models/gguf/llama-2-tiny-random.gguf" -o - >/dev/null
sent=$(awk '{s += $10} END {print s + 0}' "$work/nginx/access.log")
size=$(stat -c %s "$models/gguf/llama-2-tiny-random.gguf")
((sent < size)) || fail "irpa manifest fetched $sent bytes of a $size-byte file"

# headers: with ${VAR} from the environment.
cat >auth.yaml <<YAML
sources:
  m:
    path: $nginx_url/auth/gguf/dummy.gguf
    headers:
      Authorization: "Bearer \${NET_AUTH}"
entries:
  - source: m
YAML
NET_AUTH=$NET_TOKEN "$IRPA" build -q auth.yaml -o auth.irpa
cmp auth.irpa dummy-local.irpa || fail "auth: archive differs"
NET_AUTH=$NET_TOKEN "$IRPA" inspect --manifest auth.yaml >inspect.out 2>&1 ||
  fail "inspect --manifest: $(cat inspect.out)"
status=0
NET_AUTH=wrong-$NET_TOKEN "$IRPA" check auth.yaml >check.out 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "wrong token: exit $status"
grep -q "^auth.yaml:3:5: cannot open source .*HTTP 403" check.out || fail "403: $(cat check.out)"
status=0
env -u NET_AUTH "$IRPA" check auth.yaml >>check.out 2>&1 || status=$?
grep -q "environment variable NET_AUTH is not set" check.out || fail "unset: $(cat check.out)"
grep -q "$NET_TOKEN" check.out inspect.out && fail "the token was printed"

# irpa manifest --header: sent, and written with ${VAR} kept (never the token).
NET_AUTH=$NET_TOKEN "$IRPA" manifest --header 'Authorization: Bearer ${NET_AUTH}' \
  "$nginx_url/auth/gguf/dummy.gguf" -o header.yaml
grep -q "$NET_TOKEN" header.yaml && fail "irpa manifest wrote the token"
grep -q '"Authorization": "Bearer ${NET_AUTH}"' header.yaml || fail "header: $(cat header.yaml)"
NET_AUTH=$NET_TOKEN "$IRPA" build -q header.yaml -o header.irpa
cmp header.irpa dummy-local.irpa || fail "header: archive differs"
status=0
"$IRPA" manifest --header 'no colon' "$nginx_url/models/gguf/dummy.gguf" >/dev/null 2>&1 ||
  status=$?
[ "$status" -eq 2 ] || fail "--header 'no colon': exit $status"

# Load errors: headers on a path, a bad header name, a 404 at its place.
cat >bad.yaml <<YAML
sources:
  a: {path: x.gguf, headers: {A: b}}
  b: {path: "$nginx_url/y", headers: {"A b": c}}
entries: []
YAML
status=0
"$IRPA" check bad.yaml >bad.out 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "bad.yaml: exit $status"
grep -q "^bad.yaml:2:30: 'headers' apply only to an http:// or https:// source" bad.out &&
  grep -q "^bad.yaml:3:.*header name 'A b' is not a valid HTTP header name" bad.out ||
  fail "bad.yaml: $(cat bad.out)"
# CR, LF or NUL in a header, as YAML escapes write them, never reaches a
# request: refused at the value's place (or the name's).
cat >crlf.yaml <<YAML
sources:
  b: {path: "$nginx_url/y", headers: {A: "x\\r\\nEvil: 1"}}
  c: {path: "$nginx_url/y", headers: {"B\\0": "x"}}
  d: {path: "$nginx_url/y", headers: {C: "x\\0y"}}
entries: []
YAML
status=0
"$IRPA" check crlf.yaml >crlf.out 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "crlf.yaml: exit $status"
grep -q "^crlf.yaml:2:[0-9]*: the value of header 'A' has a line break" crlf.out &&
  grep -q "^crlf.yaml:3:.*header name contains a NUL" crlf.out &&
  grep -q "^crlf.yaml:4:.*header value contains a NUL" crlf.out || fail "crlf.yaml: $(cat crlf.out)"
# The same checks in core/http.c, for any caller, after ${VAR} expansion;
# ${...} in a header name is not expanded.
expect_bad_header() {
  local status=0
  "$HTTP_GET" -H "$1" "$nginx_url/models/gguf/dummy.gguf" >/dev/null 2>"$work/err" || status=$?
  [ "$status" -eq 3 ] && grep -q "^bad-request: " "$work/err" ||
    fail "header '$1': exit $status: $(cat "$work/err")"
}
expect_bad_header $'A: x\r\nEvil: 1'
NET_NAME=Foo expect_bad_header 'X-${NET_NAME}: v'
NET_BREAK=$'a\nB: c' expect_bad_header 'A: ${NET_BREAK}'
# A URL's query string (a presigned signature) appears in no message:
# irpa check's listing, inspect's JSON, a malformed remote model's error,
# a source that is not a model.
secret="?X-Amz-Signature=SECRETSIG42"
printf 'GGUF\3\0\0\0\377\377\377\377\377\377\377\377' >"$work/mutable/bad.gguf"
printf 'plain bytes' >"$work/mutable/raw.bin"
printf 'sources:\n  m: "%s"\nentries:\n  - source: m\n' \
  "$nginx_url/models/gguf/dummy.gguf$secret" >q-good.yaml
printf 'sources:\n  m: "%s"\nentries:\n  - source: m\n' "$nginx_url/mutable/bad.gguf$secret" >q-bad.yaml
printf 'sources:\n  m: "%s"\nentries:\n  - source: m\n' "$nginx_url/mutable/raw.bin$secret" >q-raw.yaml
"$IRPA" check q-good.yaml >q.out 2>&1 || fail "q-good.yaml: $(cat q.out)"
"$IRPA" inspect --json --manifest q-good.yaml >>q.out 2>&1 || fail "q-good.yaml inspect: $(cat q.out)"
grep -q "dummy.gguf?\.\.\." q.out || fail "the URL is not shown redacted: $(cat q.out)"
for m in q-bad q-raw; do
  "$IRPA" check "$m.yaml" >>q.out 2>&1 && fail "$m.yaml: no error"
  "$IRPA" build "$m.yaml" -o "$m.irpa" >>q.out 2>&1 && fail "$m.yaml: built"
done
grep -q "bad.gguf?\.\.\." q.out && grep -q "raw.bin?\.\.\." q.out || fail "errors: $(cat q.out)"
grep -q SECRETSIG42 q.out && fail "a URL's query string appears in a message: $(grep SECRETSIG42 q.out)"
printf 'sources:\n  a: %s/models/nope.gguf\nentries:\n  - source: a\n' "$nginx_url" >404.yaml
status=0
"$IRPA" build 404.yaml -o 404.irpa >404.out 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "^irpa build: 404.yaml:2:6: cannot open source .*/models/nope.gguf: HTTP 404" 404.out ||
  fail "404: exit $status: $(cat 404.out)"
[ ! -e 404.irpa ] || fail "404: an archive was written"
echo "net-sources: ok"

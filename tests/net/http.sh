#!/usr/bin/env bash
# core/http.c against a real nginx (tests/net/lib.sh): size and identity,
# ranged reads byte-exact, headers with ${VAR} from the environment (the
# value never shown), redirects, each fault's category (404, 403, range,
# replaced, stall, reset), and every read ending within its timeout.
source "$(dirname "$0")/lib.sh"
start_nginx
gguf=gguf/llama-2-tiny-random.gguf
size=$(stat -c %s "$models/$gguf")

# expect_fault FAULT ARGS...: http_get fails with that category.
expect_fault() {
  local fault=$1 status=0
  shift
  "$HTTP_GET" "$@" >"$work/out" 2>"$work/err" || status=$?
  [ "$status" -eq 3 ] || fail "http_get $* exited $status, expected a $fault fault: $(cat "$work/err")"
  grep -q "^$fault: " "$work/err" || fail "http_get $*: expected $fault, got: $(cat "$work/err")"
}

# expect_bytes URL OFFSET LENGTH [ARGS...]: the bytes equal the local file's.
expect_bytes() {
  local url=$1 offset=$2 length=$3
  shift 3
  "$HTTP_GET" "$@" "$url" "$offset" "$length" >"$work/got" ||
    fail "read of $url $offset+$length failed"
  dd if="$models/$gguf" iflag=skip_bytes,count_bytes skip="$offset" count="$length" \
    status=none >"$work/want"
  cmp "$work/got" "$work/want" || fail "$url $offset+$length: bytes differ from the file"
}

# Size and identity (nginx gives a strong ETag).
"$HTTP_GET" "$nginx_url/models/$gguf" >"$work/info"
grep -qx "size $size" "$work/info" || fail "size: $(cat "$work/info")"
grep -q '^identity ETag "' "$work/info" || fail "identity: $(cat "$work/info")"

# Ranged reads: small, odd-sized, the last byte, and a large one read as
# several ranges in flight (over 256 KiB pieces).
expect_bytes "$nginx_url/models/$gguf" 0 16
expect_bytes "$nginx_url/models/$gguf" 12345 777
expect_bytes "$nginx_url/models/$gguf" $((size - 1)) 1
expect_bytes "$nginx_url/models/$gguf" 1000 $((size - 1000))
# Through a redirect (302, as the Hugging Face Hub answers).
expect_bytes "$nginx_url/redirect/$gguf" 4096 70000
# One object read from 8 threads at once (as FUSE workers, prefetch and
# irpa build do), small reads and reads of several ranges in flight: every
# read gives the file's bytes (and ASan sees no race on reused connections).
expect_bytes "$nginx_url/models/$gguf" 777 4096 -j 8
expect_bytes "$nginx_url/models/$gguf" 1000 $((size > 700000 ? 700000 : size - 1000)) -j 8

# TLS is verified: a self-signed certificate is refused.
expect_fault tls "$nginx_tls_url/models/$gguf"
grep -qi "certificate" "$work/err" || fail "TLS: $(cat "$work/err")"

# Headers: ${VAR} from the environment; without the token, 403.
expect_fault forbidden "$nginx_url/auth/$gguf"
NET_AUTH=$NET_TOKEN expect_bytes "$nginx_url/auth/$gguf" 100 200000 \
  -H 'Authorization: Bearer ${NET_AUTH}'
# A missing variable is named, never sent; a wrong token is 403 and its
# value appears in no message.
expect_fault bad-request -H 'Authorization: Bearer ${NO_SUCH_VAR_I13}' "$nginx_url/auth/$gguf"
grep -q "NO_SUCH_VAR_I13 is not set" "$work/err" || fail "missing variable: $(cat "$work/err")"
NET_AUTH=wrong-$NET_TOKEN expect_fault forbidden -H 'Authorization: Bearer ${NET_AUTH}' \
  "$nginx_url/auth/$gguf"
grep -q "$NET_TOKEN" "$work/err" && fail "the token appears in a message"
# A redirect within the origin carries the source's headers, Authorization
# or any other (what goes to another origin: tests/net/redirects.sh).
expect_bytes "$nginx_url/redirect/$gguf" 0 100 -H 'Authorization: Bearer x'
expect_bytes "$nginx_url/redirect/$gguf" 0 100 -H 'Private-Token: tok-7f3a'
# A presigned URL's query string is not shown.
expect_fault not-found "$nginx_url/missing/x.gguf?X-Amz-Signature=secretsig"
grep -q secretsig "$work/err" && fail "the query string appears in a message"
grep -q '/missing/x.gguf?...: HTTP 404' "$work/err" || fail "404 message: $(cat "$work/err")"
# Past the end: refused before asking.
expect_fault range "$nginx_url/models/$gguf" "$size" 1

# An empty object opens (the server answers 416 with its size 0).
: >"$work/mutable/empty.bin"
"$HTTP_GET" "$nginx_url/mutable/empty.bin" | grep -qx "size 0" || fail "empty object"

# Replaced between open and read: a fault of its own, never mixed bytes.
cp "$models/$gguf" "$work/mutable/m.gguf"
touch -d '2020-01-01 00:00:00' "$work/mutable/m.gguf"
rm -f "$work/go"
"$HTTP_GET" -W "$work/go" "$nginx_url/mutable/m.gguf" 0 100000 >/dev/null 2>"$work/err" &
reader=$!
sleep 0.5
cp "$models/$gguf" "$work/mutable/m.gguf.new"  # same size, another mtime: another ETag
mv "$work/mutable/m.gguf.new" "$work/mutable/m.gguf"
touch "$work/go"
status=0
wait "$reader" || status=$?
[ "$status" -eq 3 ] && grep -q '^replaced: .*replaced on the server' "$work/err" ||
  fail "replaced object: status $status: $(cat "$work/err")"

# A stalled server (its worker stopped): the read fails within its bound
# (3 s here), retries included.
rm -f "$work/go"
"$HTTP_GET" -t 3000 -W "$work/go" "$nginx_url/models/$gguf" 0 100000 >/dev/null \
  2>"$work/err" &
reader=$!
sleep 0.5
worker=$(nginx_worker)
[ -n "$worker" ] || fail "no nginx worker"
kill -STOP "$worker"
started=$SECONDS
touch "$work/go"
status=0
wait "$reader" || status=$?
kill -CONT "$worker"
[ "$status" -eq 3 ] && grep -q '^stall: ' "$work/err" ||
  fail "stalled server: status $status: $(cat "$work/err")"
((SECONDS - started < 20)) || fail "the stalled read took $((SECONDS - started)) s (bound 3 s)"
expect_bytes "$nginx_url/models/$gguf" 0 4096  # served again

# The server stopped mid-read (rate-limited, so the read is under way):
# a reset, within the bound.
"$HTTP_GET" -t 5000 "$nginx_url/slow/$gguf" 0 "$size" >/dev/null 2>"$work/err" &
reader=$!
sleep 1
kill "$nginx_pid"
started=$SECONDS
status=0
wait "$reader" || status=$?
[ "$status" -eq 3 ] && grep -qE '^(reset|stall): ' "$work/err" ||
  fail "server stopped mid-read: status $status: $(cat "$work/err")"
((SECONDS - started < 20)) || fail "the read took $((SECONDS - started)) s after the stop"
expect_fault reset -t 2000 "$nginx_url/models/$gguf"
echo "net-http: ok"

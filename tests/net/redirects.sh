#!/usr/bin/env bash
# Redirects followed by hand (core/http_redirect.c) against nginx: a source
# with a custom header (X-Token: ${VAR}) redirected within its origin gets
# the header on every hop; redirected to another origin (another port, or
# localhost for 127.0.0.1) it sends none of the manifest's headers
# (Authorization included) but keeps Range and If-Match; a loop and too many
# hops are one line (targets redacted, no header value) from http_get, irpa
# check and the mount (EIO, no hang); the end of a chain is remembered (one
# redirect per object, not per read), and left once for the manifest's URL
# when it answers 404 (an expired CDN URL), the object's identity still
# checked there.
source "$(dirname "$0")/lib.sh"
: "${IRPA:?}"
REDIRECT_TOKEN=x-tok-5c1d
gguf=gguf/llama-2-tiny-random.gguf
size=$(stat -c %s "$models/$gguf")

# Two more servers: origin A (port + 2) needs X-Token on its /token
# locations; origin B (port + 3) answers 400 to any request that carries
# X-Token or Authorization, or a read (not the first byte) without If-Match.
nginx_extra_conf() {  # PORT
  local a=$(($1 + 2)) b=$(($1 + 3)) hops='' i
  for i in $(seq 1 10); do
    hops+="location ~ ^/hop$i/(?<rest>.*)\$ { return 302 /hop$((i + 1))/\$rest; }"$'\n'
  done
  cat <<CONF
  map "\$http_range:\$http_if_match" \$unconditional_read {
    "bytes=0-0:" 0;
    "~:\$" 1;
    default 0;
  }
  server {
    listen 127.0.0.1:$a;
    location /token/ {
      if (\$http_x_token != "$REDIRECT_TOKEN") { return 403; }
      alias $IRPA_TESTDATA/models/;
    }
    location ~ ^/token-hop/(?<rest>.*)\$ {
      if (\$http_x_token != "$REDIRECT_TOKEN") { return 403; }
      return 302 /token/\$rest;
    }
    location ~ ^/token-away/(?<rest>.*)\$ {
      if (\$http_x_token != "$REDIRECT_TOKEN") { return 403; }
      return 302 http://127.0.0.1:$b/bare/\$rest;
    }
    location ~ ^/token-localhost/(?<rest>.*)\$ {
      if (\$http_x_token != "$REDIRECT_TOKEN") { return 403; }
      return 302 http://localhost:$a/bare/\$rest;
    }
    location /bare/ {
      if (\$http_x_token) { return 400; }
      if (\$http_authorization) { return 400; }
      if (\$http_cookie) { return 400; }
      alias $IRPA_TESTDATA/models/;
    }
    location ~ ^/loop-a/(?<rest>.*)\$ { return 302 /loop-b/\$rest?X-Amz-Signature=LOOPSIG; }
    location ~ ^/loop-b/(?<rest>.*)\$ { return 302 /loop-a/\$rest; }
    $hops
    location ~ ^/hop11/(?<rest>.*)\$ { return 302 /token/\$rest; }
    location ~ ^/moving/(?<rest>.*)\$ {
      if (-f $work/mutable/v2/\$rest) { return 302 /mutable/v2/\$rest; }
      return 302 /mutable/v1/\$rest;
    }
    location ~ ^/switch/(?<rest>.*)\$ {
      if (-f $work/mutable/loop) { return 302 /loop-a/\$rest; }
      return 302 /mutable/sw/\$rest;
    }
    location /mutable/ { alias $work/mutable/; }
  }
  server {
    listen 127.0.0.1:$b;
    location /bare/ {
      if (\$http_x_token) { return 400; }
      if (\$http_authorization) { return 400; }
      if (\$http_cookie) { return 400; }
      if (\$unconditional_read) { return 400; }
      alias $IRPA_TESTDATA/models/;
    }
  }
CONF
}
start_nginx
a_url=http://127.0.0.1:$((nginx_port + 2))
token=(-H 'X-Token: ${REDIRECT_AUTH}')
export REDIRECT_AUTH=$REDIRECT_TOKEN

# expect_bytes URL OFFSET LENGTH [ARGS...]: the bytes equal the local file's.
expect_bytes() {
  local url=$1 offset=$2 length=$3
  shift 3
  "$HTTP_GET" "$@" "$url" "$offset" "$length" >"$work/got" 2>"$work/err" ||
    fail "read of $url $offset+$length failed: $(cat "$work/err")"
  dd if="$models/$gguf" iflag=skip_bytes,count_bytes skip="$offset" count="$length" \
    status=none >"$work/want"
  cmp "$work/got" "$work/want" || fail "$url $offset+$length: bytes differ from the file"
}

# expect_fault FAULT ARGS...: http_get fails with that category.
expect_fault() {
  local fault=$1 status=0
  shift
  "$HTTP_GET" "$@" >"$work/out" 2>"$work/err" || status=$?
  [ "$status" -eq 3 ] || fail "http_get $* exited $status, expected a $fault fault: $(cat "$work/err")"
  grep -q "^$fault: " "$work/err" || fail "http_get $*: expected $fault, got: $(cat "$work/err")"
  [ "$(wc -l <"$work/err")" -eq 1 ] || fail "http_get $*: more than one line: $(cat "$work/err")"
}

# requests PATTERN: how many requests nginx logged whose line matches PATTERN.
requests() {
  grep -c "\"GET $1" "$work/nginx/access.log" || true
}

# Within the origin: the custom header on both hops (each needs it).
expect_fault forbidden "$a_url/token-hop/$gguf"
expect_bytes "$a_url/token-hop/$gguf" 4096 70000 "${token[@]}"
expect_bytes "$a_url/token-hop/$gguf" 1000 $((size - 1000)) "${token[@]}"
# To another origin (another port, then another host name): neither the
# custom header nor Authorization arrives there, and a read (several ranges
# in flight) still carries its Range and If-Match.
expect_bytes "$a_url/token-away/$gguf" 4096 70000 "${token[@]}" -H 'Authorization: Bearer x'
expect_bytes "$a_url/token-away/$gguf" 1000 $((size - 1000)) "${token[@]}"
expect_bytes "$a_url/token-localhost/$gguf" 12345 777 "${token[@]}" -H 'Cookie: c=1'

# The end of a chain is remembered: 1 + 8 x 16 reads from 8 threads, and
# the redirecting location is asked once (at the open).
: >"$work/nginx/access.log"
expect_bytes "$nginx_url/redirect/$gguf" 777 4096 -j 8
[ "$(requests /redirect/)" -eq 1 ] ||
  fail "the redirect was followed per read: $(requests /redirect/) requests"
: >"$work/nginx/access.log"
expect_bytes "$a_url/token-away/$gguf" 777 4096 -j 8 "${token[@]}"
[ "$(requests /token-away/)" -eq 1 ] ||
  fail "the redirect to another origin was followed per read: $(requests /token-away/)"

# The remembered target gone (404): back to the manifest's URL once, which
# now redirects elsewhere; the object's identity is checked there.
# opened_at PATH: waits until nginx logged the open's request of PATH.
opened_at() {
  WAIT_LIMIT=60 wait_for grep -q "\"GET $1 " "$work/nginx/access.log" ||
    fail "no request of $1: $(cat "$work/err")"
}
mkdir -p "$work/mutable/v1" "$work/mutable/v2"
cp "$models/$gguf" "$work/mutable/v1/m.gguf"
rm -f "$work/go"
: >"$work/nginx/access.log"
"$HTTP_GET" -W "$work/go" "$a_url/moving/m.gguf" 4096 70000 >"$work/got" 2>"$work/err" &
reader=$!
opened_at /mutable/v1/m.gguf
mv "$work/mutable/v1/m.gguf" "$work/mutable/v2/m.gguf"  # the same object (mtime kept)
touch "$work/go"
wait "$reader" || fail "moved object: $(cat "$work/err")"
dd if="$models/$gguf" iflag=skip_bytes,count_bytes skip=4096 count=70000 status=none |
  cmp - "$work/got" || fail "moved object: bytes differ"
# ... and when the new target serves another object: replaced, never its bytes.
rm -f "$work/go"
: >"$work/nginx/access.log"
"$HTTP_GET" -W "$work/go" "$a_url/moving/m.gguf" 4096 70000 >"$work/got" 2>"$work/err" &
reader=$!
opened_at /mutable/v2/m.gguf
rm "$work/mutable/v2/m.gguf"
cp "$models/gguf/dummy.gguf" "$work/mutable/v1/m.gguf"
touch "$work/go"
status=0
wait "$reader" || status=$?
[ "$status" -eq 3 ] && grep -q "^replaced: .*replaced on the server" "$work/err" ||
  fail "another object at the new target: status $status: $(cat "$work/err")"
grep -q "(redirected to $a_url/mutable/v1/m.gguf)$" "$work/err" ||
  fail "the message does not name the target: $(cat "$work/err")"

# A loop: one line naming the URL and the target, redacted, without the
# token; no hang.
expect_fault other "${token[@]}" "$a_url/loop-a/x.gguf?sig=QUERYSIG"
grep -q "/loop-a/x.gguf?...: redirect loop: HTTP 302 back to $a_url/loop-b/x.gguf?...$" \
  "$work/err" || fail "loop: $(cat "$work/err")"
grep -q -e LOOPSIG -e QUERYSIG -e "$REDIRECT_TOKEN" "$work/err" && fail "loop: $(cat "$work/err")"
# 10 redirects are followed, 11 are too many.
expect_bytes "$a_url/hop2/$gguf" 0 100 "${token[@]}"
expect_fault other "${token[@]}" "$a_url/hop1/$gguf"
grep -q "/hop1/$gguf: more than 10 redirects (the last to $a_url/token/$gguf)" "$work/err" ||
  fail "too many redirects: $(cat "$work/err")"

# irpa check: the loop at the source's place, exit 2.
printf 'sources:\n  m: "%s"\nentries:\n  - source: m\n' "$a_url/loop-a/m.gguf" >"$work/loop.yaml"
status=0
"$IRPA" check "$work/loop.yaml" >"$work/check.out" 2>&1 || status=$?
[ "$status" -eq 2 ] &&
  grep -q "loop.yaml:2:6: cannot open source $a_url/loop-a/m.gguf: redirect loop" "$work/check.out" ||
  fail "irpa check of a loop: exit $status: $(cat "$work/check.out")"

# The mount: a source whose redirect becomes a loop after the manifest
# loaded (its remembered target gone, the manifest URL loops) gives EIO
# within -o net_timeout and a log line, and irpafs stays up.
require_fuse
mkdir -p "$work/manifests" "$work/mutable/sw"
cp "$models/$gguf" "$work/mutable/sw/m.gguf"
"$IRPA" manifest "$a_url/switch/m.gguf" -o "$work/manifests/switch.yaml"
"$IRPA" manifest "$models/$gguf" -o "$work/local.yaml"
"$IRPA" build -q "$work/local.yaml" -o "$work/local.irpa"
start_irpafs irpafs "$work/manifests" "$work/mnt" -o net_timeout=5
irpafs_pid=$server_pid
cmp "$work/mnt/switch.irpa" "$work/local.irpa" || fail "switch.irpa differs"
touch "$work/mutable/loop"
rm "$work/mutable/sw/m.gguf"
drop_cache "$work/mnt/switch.irpa"
started=$SECONDS
status=0
cat "$work/mnt/switch.irpa" >/dev/null 2>"$work/err" || status=$?
[ "$status" -ne 0 ] && grep -q "Input/output error" "$work/err" ||
  fail "loop under the mount: status $status: $(cat "$work/err")"
((SECONDS - started < 30)) || fail "the looping read took $((SECONDS - started)) s"
kill -0 "$irpafs_pid" || fail "irpafs exited"
grep -q "switch/m.gguf: redirect loop: HTTP 302 back to $a_url/loop-a/m.gguf" \
  "$work/irpafs.log" || fail "no log line says why: $(cat "$work/irpafs.log")"
stop_irpafs "$work/mnt" "$irpafs_pid"
echo "net-redirects: ok"

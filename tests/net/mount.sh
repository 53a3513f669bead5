#!/usr/bin/env bash
# The mount serving URL sources: archives byte-identical to the local-path
# archives of the same models (cmp); headers with ${VAR} from irpafs's
# environment; an object replaced under the mount gives EIO and one log
# line; a stalled server (worker stopped) and a stopped one give EIO within
# -o net_timeout while a local-source archive keeps being served, and the
# archive is served again once the server is back.
source "$(dirname "$0")/lib.sh"
: "${MAKE_MODEL:?}"
require_fuse
start_nginx
manifests=$work/manifests
mnt=$work/mnt
mkdir -p "$manifests"

gguf=gguf/llama-2-tiny-random.gguf
"$IRPA" manifest "$nginx_url/models/$gguf" -o "$manifests/gguf-url.yaml"
"$IRPA" manifest "$models/$gguf" -o "$manifests/gguf-local.yaml"
"$IRPA" manifest "$nginx_url/redirect/safetensors/sharded/model.safetensors.index.json" \
  -o "$manifests/sharded-url.yaml"
"$IRPA" manifest "$models/safetensors/sharded/model.safetensors.index.json" \
  -o "$manifests/sharded-local.yaml"
"$IRPA" manifest "$nginx_url/models/safetensors/model.with_metadata.safetensors" \
  -o "$manifests/st-url.yaml"
"$IRPA" manifest "$models/safetensors/model.with_metadata.safetensors" \
  -o "$manifests/st-local.yaml"
cat >"$manifests/auth-url.yaml" <<YAML
sources:
  m: {path: "$nginx_url/auth/gguf/dummy.gguf", headers: {Authorization: "Bearer \${NET_AUTH}"}}
entries:
  - source: m
YAML
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$manifests/auth-local.yaml"
cp "$models/$gguf" "$work/mutable/m.gguf"
touch -d '2020-01-01 00:00:00' "$work/mutable/m.gguf"
# (with a presigned-style query, which no log line may show)
"$IRPA" manifest "$nginx_url/mutable/m.gguf?X-Amz-Signature=SECRETSIG42" \
  -o "$manifests/mutable-url.yaml"

# Another user's manifest may not take ${VAR} from the server's environment.
cp "$manifests/auth-url.yaml" "$manifests/other-url.yaml"
chown 65534:65534 "$manifests/other-url.yaml"

status=0
"$IRPAFS" -o net_timeout=0 "$manifests" "$mnt" 2>"$work/err" || status=$?
[ "$status" -eq 2 ] && grep -q "net_timeout=0: must be whole seconds" "$work/err" ||
  fail "net_timeout=0: status $status: $(cat "$work/err")"

NET_AUTH=$NET_TOKEN start_irpafs irpafs "$manifests" "$mnt" -o net_timeout=3
irpafs_pid=$server_pid
for name in gguf sharded st auth; do
  [ -f "$mnt/$name-url.irpa" ] || fail "$name-url.irpa is not served: $(cat "$work/irpafs.log")"
  cmp "$mnt/$name-url.irpa" "$mnt/$name-local.irpa" || fail "$name: URL archive differs"
done
"$IRPA" build -q "$manifests/gguf-local.yaml" -o "$work/built.irpa"
cmp "$mnt/gguf-url.irpa" "$work/built.irpa" || fail "the mounted URL archive differs from a build"
grep -q "$NET_TOKEN" "$work/irpafs.log" && fail "the token is in the log"
[ ! -e "$mnt/other-url.irpa" ] || fail "another user's manifest read the server's environment"
grep -q "other-url.yaml.*taken from the environment only in a manifest owned by the server" \
  "$work/irpafs.log" || fail "other user's manifest: $(cat "$work/irpafs.log")"

# A stalled server: EIO within the bound (3 s, retries included), while
# a local-source archive is served meanwhile; then served again.
drop_cache "$mnt/gguf-url.irpa"
drop_cache "$mnt/gguf-local.irpa"
worker=$(nginx_worker)
kill -STOP "$worker"
started=$SECONDS
status=0
cat "$mnt/gguf-url.irpa" >/dev/null 2>"$work/err" &
reader=$!
cmp "$mnt/gguf-local.irpa" "$work/built.irpa" || fail "local archive during the stall"
wait "$reader" || status=$?
kill -CONT "$worker"
[ "$status" -ne 0 ] && grep -q "Input/output error" "$work/err" ||
  fail "stalled server: status $status: $(cat "$work/err")"
((SECONDS - started < 25)) || fail "the stalled read took $((SECONDS - started)) s (bound 3 s)"
drop_cache "$mnt/gguf-url.irpa"
cmp "$mnt/gguf-url.irpa" "$work/built.irpa" || fail "not served again after the stall"

# The server stopped: EIO, irpafs stays up; started again: served again.
stop_nginx
drop_cache "$mnt/gguf-url.irpa"
status=0
cat "$mnt/gguf-url.irpa" >/dev/null 2>"$work/err" || status=$?
[ "$status" -ne 0 ] && grep -q "Input/output error" "$work/err" ||
  fail "stopped server: status $status: $(cat "$work/err")"
kill -0 "$irpafs_pid" || fail "irpafs exited"
grep -q "archive gguf-url.irpa: $nginx_url/models/$gguf: .*; reads of it get EIO" \
  "$work/irpafs.log" || fail "no log line says why: $(cat "$work/irpafs.log")"
run_nginx || fail "nginx did not start again on port $nginx_port"
drop_cache "$mnt/gguf-url.irpa"
cmp "$mnt/gguf-url.irpa" "$work/built.irpa" || fail "not served again after a restart"

# Replaced under the mount: EIO, one log line, until the manifest reloads.
cp "$models/$gguf" "$work/mutable/m.gguf.new"
mv "$work/mutable/m.gguf.new" "$work/mutable/m.gguf"
drop_cache "$mnt/mutable-url.irpa"
for attempt in 1 2; do
  status=0
  cat "$mnt/mutable-url.irpa" >/dev/null 2>"$work/err" || status=$?
  [ "$status" -ne 0 ] && grep -q "Input/output error" "$work/err" ||
    fail "replaced object, read $attempt: status $status: $(cat "$work/err")"
done
lines=$(grep -c "mutable/m.gguf?... was replaced on the server" "$work/irpafs.log" || true)
[ "$lines" -eq 1 ] || fail "replaced object: $lines log lines: $(cat "$work/irpafs.log")"
grep -q SECRETSIG42 "$work/irpafs.log" && fail "a URL's query string is in the log"
touch "$manifests/mutable-url.yaml"
WAIT_LIMIT=30 wait_for cmp "$mnt/mutable-url.irpa" "$work/built.irpa" ||
  fail "not served after the manifest was reloaded"

stop_irpafs "$mnt" "$irpafs_pid"

# Prefetch pushes URL bytes ahead of a streaming reader (read into memory:
# they cannot be spliced from a descriptor).
"$MAKE_MODEL" "$work/mutable/big.safetensors" 24 40 >/dev/null
mkdir -p "$work/big"
"$IRPA" manifest "$nginx_url/mutable/big.safetensors" -o "$work/big/big.yaml"
"$IRPA" build -q "$work/big/big.yaml" -o "$work/big.irpa"
start_irpafs prefetch "$work/big" "$work/mnt2" -d -o prefetch=8M
dd if="$work/mnt2/big.irpa" bs=1M status=none | cmp - "$work/big.irpa" ||
  fail "prefetch: wrong bytes"
stop_irpafs "$work/mnt2" "$server_pid"
grep -q "prefetch: [0-9]* streams, [1-9][0-9]* pushes" "$work/prefetch.log" ||
  fail "prefetch pushed nothing: $(grep prefetch "$work/prefetch.log")"
# A push answered ENOENT (the kernel forgot the inode: the unmount above can
# race the last push) or ENODEV (the connection is gone) is a normal end.
grep "prefetch of .* stops:" "$work/prefetch.log" |
  grep -v -e "No such file or directory" -e "No such device" &&
  fail "a prefetch stream stopped on an error"
echo "net-mount: ok"

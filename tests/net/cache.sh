#!/usr/bin/env bash
# -o cache_dir=DIR,cache_size=SIZE: URL-source bytes kept on disk, served
# again after a restart without fetching them; a replaced object is keyed
# apart (its new bytes, never the old ones, after the reload); the cache
# stays under its size, least recently used evicted; bad options refused.
source "$(dirname "$0")/lib.sh"
: "${MAKE_MODEL:?}"
require_fuse
start_nginx
manifests=$work/manifests
cache=$work/cache
mkdir -p "$manifests"
sent() { awk '{s += $10} END {print s + 0}' "$work/nginx/access.log"; }
cached_bytes() { find "$cache" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

status=0
"$IRPAFS" -o cache_size=4M "$manifests" "$work/mnt" 2>"$work/err" || status=$?
[ "$status" -eq 2 ] && grep -q "cache_size=4M: needs cache_dir" "$work/err" ||
  fail "cache_size without cache_dir: status $status: $(cat "$work/err")"

mkdir -m 0777 "$work/open-cache"
mkdir -p "$work/mnt"
status=0
"$IRPAFS" -f -o cache_dir="$work/open-cache" "$manifests" "$work/mnt" 2>"$work/err" || status=$?
[ "$status" -eq 1 ] && grep -q "open-cache must be owned by uid 0 and writable by it alone" "$work/err" ||
  fail "a cache_dir others can write: status $status: $(cat "$work/err")"

# A whole-file range of an object the test rewrites in place.
cp "$models/gguf/llama-2-tiny-random.gguf" "$work/mutable/m.bin"
touch -d '2020-01-01 00:00:00' "$work/mutable/m.bin"
size=$(stat -c %s "$work/mutable/m.bin")
for where in "$nginx_url/mutable/m.bin" "$work/mutable/m.bin"; do
  name=url; [ "$where" = "$work/mutable/m.bin" ] && name=local
  printf 'sources:\n  m: {path: "%s", format: raw}\nentries:\n  - {name: all, source: m, offset: 0, length: %s}\n' \
    "$where" "$size" >"$work/$name.yaml"
done
cp "$work/url.yaml" "$manifests/m.yaml"
"$IRPA" build -q "$work/local.yaml" -o "$work/old.irpa"

start_irpafs first "$manifests" "$work/mnt" -o cache_dir="$cache",cache_size=64M
cmp "$work/mnt/m.irpa" "$work/old.irpa" || fail "first read: wrong bytes"
stop_irpafs "$work/mnt" "$server_pid"
(($(cached_bytes) >= size)) || fail "the cache holds $(cached_bytes) bytes of $size"

# A block file is served only for the key it stores: each file rewritten
# with one character of its key changed and its bytes zeroed (what a hash
# collision of another URL and ETag would leave) is a miss, never served.
cp -a "$cache" "$work/cache-kept"
for f in "$cache"/*; do
  [ "$(head -c 8 "$f")" = irpacb1 ] || fail "block file $f does not start with its key"
  key_length=$(od -An -tu8 -j8 -N8 "$f" | tr -d ' ')
  file_size=$(stat -c %s "$f")
  { head -c 16 "$f"; printf 'H'
    dd if="$f" iflag=skip_bytes,count_bytes skip=17 count=$((key_length - 1)) status=none
    head -c $((file_size - 16 - key_length)) /dev/zero; } >"$f.forged"
  mv "$f.forged" "$f"
done
start_irpafs forged "$manifests" "$work/mnt" -o cache_dir="$cache",cache_size=64M
cmp "$work/mnt/m.irpa" "$work/old.irpa" || fail "a block file of another key was served"
stop_irpafs "$work/mnt" "$server_pid"
rm -rf "$cache" && mv "$work/cache-kept" "$cache"

# After a restart, the bytes come from the cache (only the open's 1-byte
# probe reaches the server).
: >"$work/nginx/access.log"
start_irpafs second "$manifests" "$work/mnt" -o cache_dir="$cache",cache_size=64M
cmp "$work/mnt/m.irpa" "$work/old.irpa" || fail "after a restart: wrong bytes"
(($(sent) < 4096)) || fail "after a restart $(sent) bytes were fetched again"

# Replaced (same size, other bytes, other mtime: another ETag): EIO until
# the manifest reloads, then the new bytes only.
printf 'NEWBYTES' | dd of="$work/mutable/m.bin" bs=1 seek=700000 conv=notrunc status=none
"$IRPA" build -q "$work/local.yaml" -o "$work/new.irpa"
cmp -s "$work/old.irpa" "$work/new.irpa" && fail "the rewrite changed nothing"
touch "$manifests/m.yaml"
WAIT_LIMIT=30 wait_for cmp "$work/mnt/m.irpa" "$work/new.irpa" ||
  fail "after the replacement: not the new bytes"
stop_irpafs "$work/mnt" "$server_pid"

# The limit holds: 24 MiB read through a 3 MiB cache.
rm -rf "$cache"
"$MAKE_MODEL" "$work/mutable/big.safetensors" 24 40 >/dev/null
mkdir -p "$work/big"
"$IRPA" manifest "$nginx_url/mutable/big.safetensors" -o "$work/big/big.yaml"
"$IRPA" build -q "$work/big/big.yaml" -o "$work/big.irpa"
start_irpafs small "$work/big" "$work/mnt" -o cache_dir="$cache",cache_size=3M
cmp "$work/mnt/big.irpa" "$work/big.irpa" || fail "small cache: wrong bytes"
stop_irpafs "$work/mnt" "$server_pid"
held=$(cached_bytes)
((held <= 4 * 1048576)) || fail "a 3M cache holds $held bytes"
((held > 0)) || fail "the small cache holds nothing"
echo "net-cache: ok"

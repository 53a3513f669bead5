#!/usr/bin/env bash
# How the mount reads URL sources (fs/net_reads.h, core/url_chunks.h):
# - reads of a stalled server wait in the network threads, not in libfuse's
#   workers: with more of them waiting than libfuse has workers (10), a
#   local archive of the same mount is still served, and they all get their
#   bytes once the server goes on;
# - a streaming read fetches chunks, as ranges well above the kernel's 1 MiB
#   reads, and fetches ahead of the reader in the archive's order, which
#   need not be the object's order (entries reversed);
# - the chunks' memory is given back once reads stop.
source "$(dirname "$0")/lib.sh"
: "${MAKE_MODEL:?}"
require_fuse
# A slow server of our own (lib.sh adds it, with its own log): 256 KB/s per
# connection, so a 16 MiB chunk (8 ranges of 2 MiB) takes 8 s, a 1 MiB read
# (8 of 128 KiB) 0.5 s.
slow_rate=256k
nginx_extra_conf() {
  echo "server { listen 127.0.0.1:$(($1 + 2)); access_log $work/nginx/slow.log ranges;"
  echo "  location /mutable/ { limit_rate $slow_rate; alias $work/mutable/; } }"
}
start_nginx
slow_url=http://127.0.0.1:$((nginx_port + 2))
manifests=$work/manifests
mnt=$work/mnt
mkdir -p "$manifests"

"$MAKE_MODEL" "$work/mutable/big.safetensors" 96 48 >/dev/null
"$IRPA" manifest "$nginx_url/mutable/big.safetensors" -o "$manifests/big-url.yaml"
"$IRPA" build -q "$manifests/big-url.yaml" -o "$work/big.irpa"
# The same object again, as archives whose sources have no chunk held and
# no page cached when their part of the test starts.
cp "$manifests/big-url.yaml" "$manifests/stall-url.yaml"
cp "$manifests/big-url.yaml" "$manifests/stop-url.yaml"
sed "s|$nginx_url|$slow_url|" "$manifests/big-url.yaml" >"$work/slow-url.yaml"
cp "$manifests/big-url.yaml" "$work/queue-url.yaml"
gguf=$models/gguf/llama-2-tiny-random.gguf
"$IRPA" manifest "$gguf" -o "$manifests/local.yaml"
"$IRPA" build -q "$manifests/local.yaml" -o "$work/local.irpa"
# The same tensors, the archive's entries in the reverse of the object's
# order (irpa manifest writes one 4-line block per entry).
awk '/^  - name:/ { n++ } n == 0 { print; next } { block[n] = block[n] $0 "\n" }
     END { for (i = n; i >= 1; i--) printf "%s", block[i] }' \
  "$manifests/big-url.yaml" >"$manifests/reversed-url.yaml"
"$IRPA" build -q "$manifests/reversed-url.yaml" -o "$work/reversed.irpa"

start_irpafs irpafs "$manifests" "$mnt" -o net_timeout=120
irpafs_pid=$server_pid
size=$(stat -c %s "$work/big.irpa")
[ -f "$mnt/big-url.irpa" ] || fail "big-url.irpa is not served: $(cat "$work/irpafs.log")"

# ---- chunks: ranges well above 1 MiB (first: no chunk held yet) -------------
ranges=$work/nginx/ranges.log
: >"$ranges"
drop_cache "$mnt/big-url.irpa"
cmp "$mnt/big-url.irpa" "$work/big.irpa" || fail "big-url.irpa differs from a build"
# Ranges of the object, as "START END" (inclusive), from nginx's log.
object_ranges() {
  awk '$1 == "/mutable/big.safetensors" && $3 == 206 { sub("bytes=", "", $2); split($2, r, "-"); print r[1], r[2] }' "$ranges"
}
requests=$(object_ranges | wc -l)
large=$(object_ranges | awk '$2 - $1 + 1 > 1048576' | wc -l)
mib=$((size >> 20))
[ "$requests" -gt 0 ] || fail "no range requests logged: $(head "$ranges")"
# 1 MiB FUSE reads would be $mib requests or more; chunks take fewer.
((requests < mib)) || fail "$requests requests for $mib MiB: not fetched a chunk at a time"
((large * 2 >= requests)) || fail "$large of $requests requests were above 1 MiB"

# ---- a stalled server holds up no other archive -----------------------------
readers=()
worker=$(nginx_worker)
kill -STOP "$worker"
for i in $(seq 0 23); do  # 24 reads 3 MiB apart: more than libfuse's 10 workers
  dd if="$mnt/stall-url.irpa" of="$work/part$i" bs=64K count=1 skip=$((i * 48)) status=none \
    2>"$work/part$i.err" &
  readers+=($!)
done
# Each reader is blocked in the kernel, its read sent to irpafs.
blocked() {
  local pid
  for pid in "${readers[@]}"; do
    case $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) in S | D) ;; *) return 1 ;; esac
  done
}
WAIT_LIMIT=60 wait_for blocked || {
  for pid in "${readers[@]}"; do echo "$pid: $(cut -d' ' -f3 "/proc/$pid/stat" 2>&1) $(cat "/proc/$pid/wchan" 2>&1)"; done
  kill -CONT "$worker"
  fail "the readers did not block"
}
sleep 1  # (not a bound: time for the requests to reach irpafs's threads)
drop_cache "$mnt/local.irpa"
cmp "$mnt/local.irpa" "$work/local.irpa" || { kill -CONT "$worker"; fail "local archive during the stall"; }
for pid in "${readers[@]}"; do
  kill -0 "$pid" 2>/dev/null || { kill -CONT "$worker"; fail "a read of the stalled server ended before the local archive was read"; }
done
kill -CONT "$worker"
for i in $(seq 0 23); do
  wait "${readers[$i]}" || fail "read $i after the stall: $(cat "$work/part$i.err")"
  dd if="$work/big.irpa" bs=64K count=1 skip=$((i * 48)) status=none | cmp - "$work/part$i" ||
    fail "read $i after the stall: wrong bytes"
done

# ---- fetches ahead, in the archive's order ------------------------------------
# Ahead of the reader, in the archive's order: the first 8 MiB of the
# reversed archive are the end of the object; what comes next in the archive
# lies before them in the object.
: >"$ranges"
dd if="$mnt/reversed-url.irpa" bs=1M count=8 status=none | cmp - <(head -c 8M "$work/reversed.irpa") ||
  fail "reversed archive: wrong bytes"
lowest_read=$((size - (16 << 20)))  # the 8 MiB read, with the kernel's readahead, and a chunk
fetched_ahead() {
  object_ranges | awk -v low="$lowest_read" '$2 < low' | grep -q .
}
WAIT_LIMIT=60 wait_for fetched_ahead ||
  fail "nothing fetched ahead in archive order: $(object_ranges)"
cmp "$mnt/reversed-url.irpa" "$work/reversed.irpa" || fail "reversed-url.irpa differs from a build"

# ---- chunk memory is given back once reads stop -----------------------------
# The store's slots keep their 16 MiB mappings for the next chunk while reads
# go on; a second after they stop (about seven for a chunk fetched ahead
# and never read), none is resident any more.
# A chunk's mapping: 16 MiB, resident, marked for huge pages ("hg").
chunk_mappings() {
  awk 'function count() { if (size == 16384 && rss > 0 && hg) n++; size = rss = hg = 0 }
       /^[0-9a-f]+-[0-9a-f]+ / { count() }
       /^Size:/ { size = $2 } /^Rss:/ { rss = $2 } /^VmFlags:/ { hg = / hg/ }
       END { count(); print n + 0 }' "/proc/$irpafs_pid/smaps"
}
echo "net-reads: $(chunk_mappings) chunk mappings resident after the reads"
no_chunk_memory() { [ "$(chunk_mappings)" -eq 0 ]; }
WAIT_LIMIT=60 wait_for no_chunk_memory ||
  fail "$(chunk_mappings) chunk mappings still resident 60 s after the reads stopped"

# ---- a stop does not wait out a stalled read ----------------------------------
# SIGTERM with a read of a stalled server in progress: the server ends its
# reads at once (EIO) and exits cleanly, within 30 s, far from the 120 s
# net_timeout it would otherwise wait out.
kill -STOP "$worker"
dd if="$mnt/stop-url.irpa" of=/dev/null bs=64K count=1 skip=160 status=none 2>"$work/stop.err" &
readers=($!)
WAIT_LIMIT=60 wait_for blocked || { kill -CONT "$worker"; fail "the reader did not block"; }
sleep 1  # (not a bound: time for the request to reach irpafs's threads)
kill -TERM "$irpafs_pid"
expect_clean_exit "$irpafs_pid" "$mnt" "SIGTERM during a stalled read" || true
kill -CONT "$worker"
status=0
wait "${readers[0]}" || status=$?
[ "$status" -ne 0 ] || fail "the stalled read got bytes after the stop"

# ---- reads that wait out their bound in the queue, and a slow server ---------
# With net_timeout=5: of 24 reads of a stalled server, those still queued
# when their bound is over get EIO without a request, and a log line says
# why. A server too slow to send a chunk within the bound has its reads ask
# for their own bytes from then on, and they succeed.
mkdir -p "$work/m2"
mv "$work/queue-url.yaml" "$work/slow-url.yaml" "$work/m2/"
start_irpafs irpafs2 "$work/m2" "$work/mnt2" -o net_timeout=5
irpafs_pid=$server_pid
kill -STOP "$worker"
readers=()
for i in $(seq 0 23); do
  dd if="$work/mnt2/queue-url.irpa" of=/dev/null bs=64K count=1 skip=$((i * 48 + 16)) status=none \
    2>/dev/null &
  readers+=($!)
done
failed=0
for pid in "${readers[@]}"; do wait "$pid" || failed=$((failed + 1)); done
kill -CONT "$worker"
((failed == 24)) || fail "$failed of 24 reads of a stalled server failed"
grep -q "archive queue-url.irpa: a read waited longer than -o net_timeout for a network thread" \
  "$work/irpafs2.log" || fail "no log line for reads timed out in the queue: $(cat "$work/irpafs2.log")"
ok=
for attempt in 1 2 3; do
  if dd if="$work/mnt2/slow-url.irpa" bs=1M count=1 skip=8 status=none 2>/dev/null |
    cmp - <(dd if="$work/big.irpa" bs=1M count=1 skip=8 status=none); then ok=1; break; fi
  drop_cache "$work/mnt2/slow-url.irpa"
done
[ -n "$ok" ] || fail "a slow server's reads never succeeded: $(cat "$work/irpafs2.log")"

# ---- chunks again once the server is fast again ----------------------------
# The slow server loses its limit (nginx reloads its configuration). Twice
# net_timeout after the chunk that timed out, a fetch ahead tries a chunk
# again; it arrives, and the source's reads take chunks again: ranges of
# 2 MiB (a chunk's) in the server's log, not just 128 KiB ones.
slow_rate=0
write_nginx_conf "$nginx_port"
kill -HUP "$nginx_pid"
fast_again() {  # 8 MiB within 2 s (8 ranges of 1 MiB: 4 s at the limit)
  "$HTTP_GET" -t 2000 "$slow_url/mutable/big.safetensors" 0 8388608 >/dev/null
}
wait_for fast_again || fail "nginx did not drop the slow server's limit"
sleep 11  # twice net_timeout, and a second
chunk_ranges() {
  awk '$3 == 206 { sub("bytes=", "", $2); split($2, r, "-"); if (r[2] - r[1] + 1 == 2097152) n++ }
       END { print n + 0 }' "$work/nginx/slow.log"
}
: >"$work/nginx/slow.log"
for skip in $(seq 16 4 60); do  # a streaming reader: fetches ahead, one of which tries a chunk
  dd if="$work/mnt2/slow-url.irpa" bs=1M count=4 skip="$skip" status=none |
    cmp - <(dd if="$work/big.irpa" bs=1M count=4 skip="$skip" status=none) ||
    fail "slow-url.irpa: wrong bytes at $skip MiB"
  (($(chunk_ranges) > 0)) && break
done
WAIT_LIMIT=30 wait_for test "$(chunk_ranges)" -gt 0 ||
  fail "no chunk fetched from the server once it was fast again: $(head -20 "$work/nginx/slow.log")"
stop_irpafs "$work/mnt2" "$irpafs_pid"
echo "net-reads: ok"

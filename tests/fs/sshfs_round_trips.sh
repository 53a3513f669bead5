#!/usr/bin/env bash
# What small reads through irpafs cost in SFTP requests (round trips) when
# the source is on sshfs: counted in the log of sftp-server, which logs
# every request it gets (-l DEBUG3); never timed. For sshfs's default
# caches and for dir_cache=no (sshfs's own attribute cache off), each with
# lib.sh's options:
#  - warm: 200 reads of 4 KiB (O_DIRECT: each one FUSE read of irpafs, each
#    checking its source with an fstat) of source bytes that are in the
#    source's page cache: with the default caches, asserted to cost fewer
#    than one request per 10 reads (irpafs's fstat is answered by the
#    kernel's attribute cache, 1 s, then by sshfs's, 20 s); with
#    dir_cache=no, printed, and so are the requests of 5 s without a read
#    (what the attribute checks cost per second, whatever the read rate);
#    and with no attribute cache at all (dir_cache=no,attr_timeout=0,
#    entry_timeout=0), where each fstat is a round trip (printed);
#  - cold: the same reads, the source's cache dropped first (printed);
#  - the attribute caches expired (two reads 1.2 s apart, printed).
# The counts by request type are printed for the README.
IRPA_TEST_SOURCES=sshfs
source "$(dirname "$0")/lib.sh"
require_fuse
: "${MAKE_MODEL:?}"
reads=200

mkdir -p "$work/manifests"
"$MAKE_MODEL" "$source_dir/model.safetensors" 8 20 >/dev/null

# Requests logged in LOG after its line LINE, by type ("read 12 fstat 1").
requests_since() {  # LOG LINE
  tail -n +"$(($2 + 1))" "$1" | sed -nE 's/^debug[0-9]: request ([0-9]+): ([a-z]+).*/\1 \2/p' |
    awk '$2 != "sent" && !seen[$1]++ {n[$2]++; total++}
         END {printf "%d:", total + 0; for (t in n) printf " %s %d", t, n[t]; print ""}'
}
total_of() { echo "${1%%:*}"; }  # COUNTS

small_reads() {  # FILE FIRST_OFFSET: $reads reads of 4 KiB, one after another
  local i
  for ((i = 0; i < reads; i++)); do
    dd if="$1" iflag=direct,skip_bytes skip=$(($2 + i * 4096)) bs=4096 count=1 status=none
  done >/dev/null
}

measure() {  # NAME [SSHFS ARGS...]
  local name=$1 log=$work/sftp-$1.log mnt=$work/mnt-$1 line counts
  shift
  mount_sshfs "$name" "$work/remote" "$net/$name" \
    -o "sftp_server=/usr/lib/openssh/sftp-server -e -l DEBUG3 2>>$log" "$@"
  "$IRPA" manifest "$net/$name/model.safetensors" -o "$work/manifests/$name.yaml"
  "$IRPA" build -q "$work/manifests/$name.yaml" -o "$work/$name.irpa"
  start_irpafs "irpafs-$name" "$work/manifests" "$mnt"
  cmp "$mnt/$name.irpa" "$work/$name.irpa" || fail "$name: wrong bytes"
  local base=$(($(stat -c %s "$work/$name.irpa") / 2)) attempt
  # Up to three tries: anything on the machine that drops every page cache
  # between the two passes (drop_caches, as scripts/bench.sh's cold reads do)
  # makes the second pass cold; three such drops in a row are not chance.
  for attempt in 1 2 3; do
    small_reads "$mnt/$name.irpa" "$base"  # the source's bytes are cached now
    line=$(wc -l <"$log")
    local start=$SECONDS
    small_reads "$mnt/$name.irpa" "$base"
    counts=$(requests_since "$log" "$line")
    echo "$name: $reads warm 4 KiB reads in $((SECONDS - start)) s: $counts requests"
    [ "$name" = default ] || break
    [ "$(total_of "$counts")" -lt $((reads / 10)) ] && break
    ((attempt < 3)) || fail "$name: a round trip per small read: $counts"
    echo "$name: again (were the source's cached pages dropped meanwhile?)"
  done
  line=$(wc -l <"$log")
  sleep 5
  echo "$name: 5 s without a read: $(requests_since "$log" "$line") requests"
  drop_cache "$net/$name/model.safetensors"
  line=$(wc -l <"$log")
  small_reads "$mnt/$name.irpa" "$base"
  echo "$name: $reads cold 4 KiB reads: $(requests_since "$log" "$line") requests"
  line=$(wc -l <"$log")
  small_reads "$mnt/$name.irpa" "$base" && sleep 1.2
  reads=1 small_reads "$mnt/$name.irpa" "$base"
  echo "$name: $((reads + 1)) warm reads, then one 1.2 s later: $(requests_since "$log" "$line") requests"
  stop_irpafs "$mnt" "$server_pid"
  rm "$work/manifests/$name.yaml"
}

measure default
measure no-dir-cache -o dir_cache=no
measure no-cache -o dir_cache=no,attr_timeout=0,entry_timeout=0
echo "ok: small reads of cached source bytes cost no round trip each"

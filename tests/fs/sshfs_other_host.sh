#!/usr/bin/env bash
# Sources on sshfs changed by another host: written on the server directly
# (in the directory sshfs exports, not through the mount), with the mount
# option the README recommends for that case, dir_cache=no (the attributes
# then come from the kernel's 1 s cache, then from the server):
#  1. a source replaced by rename on the server: every read gives the old
#     bytes (the open SFTP handle keeps the old file) until the change is
#     seen, then EIO (SFTP looks attributes up by path: unlike a local
#     rename, the new file's size and mtime are what irpafs sees), within
#     $change_limit s; touching the manifest serves the new file;
#  2. a source rewritten in place on the server (same size, a later mtime):
#     EIO within $change_limit s; touching the manifest serves the new bytes.
# The server stays up; the other archive is untouched.
IRPA_TEST_SOURCES=sshfs
source "$(dirname "$0")/lib.sh"
require_fuse
: "${MAKE_MODEL:?}"
change_limit=${IRPAFS_CHANGE_LIMIT:-10}  # about 1 s with dir_cache=no (20 s with sshfs's default cache)

remote=$work/remote  # what the server exports: "another host" writes here
mount_sshfs other "$remote" "$net/other" -o dir_cache=no
mkdir -p "$work/manifests"
for name in renamed rewritten; do
  "$MAKE_MODEL" "$remote/$name.safetensors" 8 20 >/dev/null
  "$IRPA" manifest "$net/other/$name.safetensors" -o "$work/manifests/$name.yaml"
  "$IRPA" build -q "$work/manifests/$name.yaml" -o "$work/$name.irpa"
done
start_irpafs server "$work/manifests" "$work/mnt"
mnt=$work/mnt
log=$work/server.log
for name in renamed rewritten; do cmp "$mnt/$name.irpa" "$work/$name.irpa"; done

# Flips 4 KiB of tensor bytes of FILE (4 MiB in), in place.
flip() { dd if=/dev/urandom of="$1" bs=4096 seek=1024 count=1 conv=notrunc status=none; }

# Reads NAME.irpa once a second until it fails with EIO (0) or $change_limit s
# pass (1); any read that succeeds must give the old bytes.
until_eio() {  # NAME
  local start=$SECONDS
  while ((SECONDS - start <= change_limit)); do
    drop_cache "$mnt/$1.irpa"
    if cmp -s "$mnt/$1.irpa" "$work/$1.irpa" 2>"$work/read.err"; then
      sleep 1
      continue
    fi
    grep -q "Input/output error" "$work/read.err" && { echo "$1: EIO after $((SECONDS - start)) s"; return 0; }
    [ -s "$work/read.err" ] && fail "$1: expected EIO, got: $(cat "$work/read.err")"
    [ "$1" = rewritten ] && { sleep 1; continue; }  # (bytes of either version, until seen)
    fail "$1: a read gave other bytes than the old file's"
  done
  return 1
}

reloaded() {  # NAME: touching the manifest serves the source as it is now
  "$IRPA" build -q "$work/manifests/$1.yaml" -o "$work/$1.new"
  cmp -s "$work/$1.new" "$work/$1.irpa" && fail "$1: the test did not change the bytes"
  touch "$work/manifests/$1.yaml"
  same() { drop_cache "$mnt/$1.irpa"; cmp "$mnt/$1.irpa" "$work/$1.new"; }  # NAME
  wait_for same "$1" || fail "$1: the new bytes not served after touching the manifest"
}

# 1. replaced by rename on the server
cp "$remote/renamed.safetensors" "$remote/.renamed.new"
flip "$remote/.renamed.new"
touch -d '+2 seconds' "$remote/.renamed.new"
mv "$remote/.renamed.new" "$remote/renamed.safetensors"
until_eio renamed || fail "renamed: no EIO within $change_limit s"
grep -q "archive renamed.irpa: source .*renamed.safetensors .*reads fail with EIO" "$log" \
  || fail "renamed: not logged: $(cat "$log")"
cmp "$mnt/rewritten.irpa" "$work/rewritten.irpa" || fail "the other archive broke"
reloaded renamed

# 2. rewritten in place on the server (SFTP's mtime has whole seconds: a
# later second, as a writer a second or more after the last change makes)
flip "$remote/rewritten.safetensors"
touch -d '+2 seconds' "$remote/rewritten.safetensors"
until_eio rewritten || fail "rewritten: no EIO within $change_limit s"
grep -q "archive rewritten.irpa: source .*rewritten.safetensors modified in place" "$log" \
  || fail "rewritten: not logged: $(cat "$log")"
reloaded rewritten
kill -0 "$server_pid" || fail "irpafs died"
stop_irpafs "$mnt" "$server_pid"
echo "ok: sources changed by another host: old bytes or EIO, then the new bytes after a reload"

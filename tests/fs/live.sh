#!/usr/bin/env bash
# Live manifests: adding, changing and removing a manifest in the watched
# directory shows in the mount without remounting (polled, bounded), and a
# file that is open keeps serving the version it was opened with. SIGHUP
# rescans at once instead of ending the server.
source "$(dirname "$0")/lib.sh"
require_fuse
: "${CHECK_MMAP:?}"
reference=$IRPA_TESTDATA/reference
models=$IRPA_TESTDATA/models
# Reload is designed to take well under a second (inotify, <= 300 ms of
# debounce); the bound here is looser so a loaded CI machine cannot fail it.
WAIT_LIMIT=${IRPAFS_RELOAD_LIMIT:-15}

mkdir -p "$work/manifests" "$work/staging"
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/manifests/dummy.yaml"
start_irpafs server "$work/manifests" "$work/mnt"
mnt=$work/mnt
[ "$(ls "$mnt")" = dummy.irpa ] || fail "unexpected listing: $(ls "$mnt")"
inode_before=$(stat -c %i "$mnt/dummy.irpa")

# add: written elsewhere then renamed in, as tools should
"$IRPA" manifest "$models/safetensors/overall.safetensors" -o "$work/staging/overall.yaml"
mv "$work/staging/overall.yaml" "$work/manifests/overall.yaml"
wait_for test -f "$mnt/overall.irpa" || fail "added manifest not visible"
cmp "$mnt/overall.irpa" "$reference/overall.irpa"
# add: written in place
"$IRPA" manifest "$models/gguf/llama-2-tiny-random.gguf" -o "$work/manifests/llama.yaml"
wait_for test -f "$mnt/llama.irpa" || fail "manifest written in place not visible"
cmp "$mnt/llama.irpa" "$reference/llama-2-tiny-random.irpa"

# change, with the old version open (fd 3) and mapped (by a reader started later)
exec 3<"$mnt/llama.irpa"
old_size=$(stat -c %s "$mnt/llama.irpa")
"$IRPA" manifest "$models/gguf/llama-2-tiny-random.gguf" --exclude output.weight \
  --rename token_embd.weight=model.embed_tokens.weight --splat blk.0.ffn_norm.weight=f32=1.0 \
  -o "$work/staging/llama.yaml"
mv "$work/staging/llama.yaml" "$work/manifests/llama.yaml"
changed() { [ "$(stat -c %s "$mnt/llama.irpa")" != "$old_size" ]; }
wait_for changed || fail "changed manifest not visible"
cmp "$mnt/llama.irpa" "$reference/tiny-edit.irpa" || fail "new version has wrong bytes"
# the open descriptor still reads the old version, even from a cold cache
drop_cache /proc/self/fd/3
cmp - "$reference/llama-2-tiny-random.irpa" <&3 || fail "open fd lost its version"
cmp /proc/self/fd/3 "$reference/llama-2-tiny-random.irpa" || fail "open fd lost its version"
"$CHECK_MMAP" /proc/self/fd/3 "$reference/llama-2-tiny-random.irpa" >/dev/null \
  || fail "old version not served through a mapping of the open fd"
exec 3<&-
[ "$(stat -c %i "$mnt/dummy.irpa")" = "$inode_before" ] || fail "an unchanged file changed inode"

# remove
rm "$work/manifests/overall.yaml"
gone() { [ ! -e "$mnt/overall.irpa" ]; }
wait_for gone || fail "removed manifest still visible"
[ "$(ls "$mnt" | tr '\n' ' ')" = "dummy.irpa llama.irpa " ] || fail "listing: $(ls "$mnt")"

# a manifest renamed away (to a non-manifest name) disappears too;
# hidden and non-yaml files are ignored
mv "$work/manifests/dummy.yaml" "$work/manifests/dummy.yaml.bak"
cp "$work/manifests/dummy.yaml.bak" "$work/manifests/.hidden.yaml"
gone_dummy() { [ ! -e "$mnt/dummy.irpa" ]; }
wait_for gone_dummy || fail "renamed-away manifest still visible"
[ "$(ls "$mnt")" = llama.irpa ] || fail "listing: $(ls "$mnt")"

# SIGHUP rescans at once and the server goes on serving. A manifest that is
# a symlink to a file elsewhere: editing that file is nothing inotify on the
# directory sees, so SIGHUP is how to have it picked up without waiting.
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/staging/linked.yaml"
ln -s "$work/staging/linked.yaml" "$work/manifests/linked.yaml"
wait_for test -f "$mnt/linked.irpa" || fail "symlinked manifest not visible"
cmp "$mnt/linked.irpa" "$reference/dummy.irpa" || fail "symlinked manifest: bytes"
"$IRPA" manifest "$models/safetensors/overall.safetensors" -o "$work/staging/linked.yaml.new"
mv "$work/staging/linked.yaml.new" "$work/staging/linked.yaml"
kill -HUP "$server_pid"
linked_changed() { drop_cache "$mnt/linked.irpa"; cmp "$mnt/linked.irpa" "$reference/overall.irpa"; }
wait_for linked_changed || fail "symlinked manifest edited, then SIGHUP: old bytes"
kill -0 "$server_pid" || fail "SIGHUP ended the server"
mountpoint -q "$mnt" || fail "SIGHUP: mount gone"
grep -q "SIGHUP: rescanning" "$work/server.log" || fail "SIGHUP not logged: $(cat "$work/server.log")"
rm "$work/manifests/linked.yaml"
wait_for test ! -e "$mnt/linked.irpa" || fail "removed symlinked manifest still visible"

# The same name, unchanged, keeps its inode number across mounts.
mv "$work/manifests/dummy.yaml.bak" "$work/manifests/dummy.yaml"
wait_for test -f "$mnt/dummy.irpa" || fail "manifest moved back not visible"
stop_irpafs "$mnt" "$server_pid"

# The log (stderr with -f): one line when serving starts, one per archive
# added, replaced or removed, one when it stops.
log=$work/server.log
expect_lines() {  # COUNT PATTERN
  [ "$(grep -c -- "$2" "$log")" -eq "$1" ] || fail "log: $1 line(s) '$2' expected: $(cat "$log")"
}
expect_lines 1 "^irpafs: serving"
expect_lines 1 "^irpafs: serving 1 archive from $work/manifests at $mnt\$"
expect_lines 1 "^irpafs: archive overall.irpa added (manifest $work/manifests/overall.yaml, 9 entries, [0-9]* bytes)\$"
expect_lines 1 "^irpafs: archive llama.irpa added (manifest $work/manifests/llama.yaml, "
expect_lines 1 "^irpafs: archive llama.irpa replaced (manifest $work/manifests/llama.yaml, "
expect_lines 1 "^irpafs: archive overall.irpa removed (manifest $work/manifests/overall.yaml)\$"
expect_lines 1 "^irpafs: archive linked.irpa added "
expect_lines 1 "^irpafs: archive linked.irpa replaced "
expect_lines 1 "^irpafs: archive linked.irpa removed "
expect_lines 9 "^irpafs: archive "
expect_lines 1 "^irpafs: archive dummy.irpa removed "
expect_lines 1 "^irpafs: archive dummy.irpa added "
expect_lines 1 "^irpafs: stopped serving $work/manifests at $mnt: unmounted\$"
start_irpafs server2 "$work/manifests" "$mnt"
[ "$(stat -c %i "$mnt/dummy.irpa")" = "$inode_before" ] || fail "inode not stable across mounts"
stop_irpafs "$mnt" "$server_pid"
echo "ok: add, change, remove visible; open fd kept its version"

#!/usr/bin/env bash
# The mount is read-only: every write, create, truncate, rename, chmod,
# link, mkdir and xattr change fails with EROFS. The server ends cleanly on
# SIGTERM, on SIGINT and on fusermount3 -u, leaving no mount behind.
source "$(dirname "$0")/lib.sh"
require_fuse

mkdir -p "$work/manifests"
"$IRPA" manifest "$IRPA_TESTDATA/models/gguf/dummy.gguf" -o "$work/manifests/dummy.yaml"
start_irpafs server "$work/manifests" "$work/mnt"
mnt=$work/mnt
file=$mnt/dummy.irpa

erofs() {  # DESCRIPTION COMMAND...
  local what=$1 err; shift
  if err=$("$@" 2>&1); then fail "$what succeeded"; fi
  grep -q "Read-only file system" <<<"$err" || fail "$what: expected EROFS, got: $err"
}
erofs "write" bash -c "echo x >'$file'"
erofs "append" bash -c "echo x >>'$file'"
erofs "create" touch "$mnt/new.irpa"
erofs "touch" touch "$file"
erofs "truncate" truncate -s 0 "$file"
erofs "rm" rm -f "$file"
erofs "mv" mv "$file" "$mnt/other.irpa"
erofs "chmod" chmod 0644 "$file"
erofs "mkdir" mkdir "$mnt/dir"
erofs "ln" ln "$file" "$mnt/hard"
erofs "ln -s" ln -s dummy.irpa "$mnt/soft"
# setxattr and open(O_WRONLY) in one /usr/bin/python3 (started once: the python3 first on PATH
# can be a slow version-manager shim): it prints each call's error, or "ok".
calls=$(/usr/bin/python3 -c "
import os, sys
for what, call in (('setfattr', lambda: os.setxattr(sys.argv[1], 'user.x', b'1')),
                   ('write open', lambda: os.open(sys.argv[1], os.O_WRONLY))):
    try:
        call(); print(what + ': ok')
    except OSError as e:
        print(what + ': ' + os.strerror(e.errno))" "$file")
for what in setfattr "write open"; do
  grep -qx "$what: Read-only file system" <<<"$calls" || fail "$what: expected EROFS, got: $calls"
done
cmp "$file" "$IRPA_TESTDATA/reference/dummy.irpa"
grep -q ' ro[ ,]' <(grep " $mnt " /proc/mounts) || fail "not mounted ro: $(grep " $mnt " /proc/mounts)"
grep -q "fuse.irpafs" <(grep " $mnt " /proc/mounts) || fail "type is not fuse.irpafs"

# SIGTERM
kill -TERM "$server_pid"
expect_clean_exit "$server_pid" "$mnt" SIGTERM

# SIGINT
start_irpafs server2 "$work/manifests" "$mnt"
kill -INT "$server_pid"
expect_clean_exit "$server_pid" "$mnt" SIGINT

# fusermount3 -u
start_irpafs server3 "$work/manifests" "$mnt"
cmp "$file" "$IRPA_TESTDATA/reference/dummy.irpa"
stop_irpafs "$mnt" "$server_pid"
mountpoint -q "$mnt" && fail "still mounted after fusermount3 -u"
echo "ok: EROFS everywhere; SIGTERM, SIGINT and fusermount3 -u end the server cleanly"

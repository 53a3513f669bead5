#!/usr/bin/env bash
# irpafs run by an ordinary user (carol), mounting through the set-uid
# fusermount3, in a private mount namespace where /dev/fuse is usable by
# everyone (as on a stock Debian host; our CI container has it root-only):
#  - carol's archives have the owner, group and mode of the rule in
#    the README's Security section, and she reads the right bytes;
#  - a manifest of a uid with no passwd entry (its groups unknown: a
#    source's group bit counts for it only with the other bit) naming a
#    0640 source of carol's group: the archive is 0040, carol reads it;
#  - a source carol cannot read is refused (Permission denied, logged),
#    even if root could read it;
#  - the server holds no capability and has no no_new_privs, so that
#    SIGTERM unmounts it through fusermount3: exit status 0, mount gone.
source "$(dirname "$0")/lib.sh"
require_fuse
[ "$(id -u)" -eq 0 ] || skip "needs root (creates a user and a mount namespace)"
for tool in useradd userdel setpriv unshare mknod; do
  command -v "$tool" >/dev/null || skip "no $tool"
done
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not set-uid"

carol=irpafs-c$$  # a name of this run: tests may run concurrently
created=no
remove_account() { [ "$created" = yes ] && userdel "$carol" >/dev/null 2>&1; return 0; }
trap 'status=$?; set +e; remove_account; (exit $status); cleanup' EXIT
if ! getent passwd "$carol" >/dev/null; then
  useradd -M -U -s /usr/sbin/nologin "$carol" || skip "cannot create user $carol"
  created=yes
fi
carol_group=$(id -gn "$carol")

chmod 755 "$work"
mkdir -m 755 "$work/src"
mkdir "$work/manifests" "$work/mnt"
head -c 8192 /dev/urandom >"$work/src/public"
head -c 8192 /dev/urandom >"$work/src/private"
chmod 644 "$work/src/public"
chmod 600 "$work/src/private"
head -c 8192 /dev/urandom >"$work/src/carols"
chown root:"$carol_group" "$work/src/carols"
chmod 640 "$work/src/carols"
for name in public private carols; do
  cat >"$work/manifests/$name.yaml" <<YAML
sources:
  s: ../src/$name
entries:
  - name: a
    source: s
    offset: 0
    length: 4096
YAML
done
"$IRPA" build -q "$work/manifests/public.yaml" -o "$work/public.expected"
chown -R "$carol:$carol_group" "$work/manifests" "$work/mnt"
stranger=$(( $(id -u "$carol") + 54321 ))
getent passwd "$stranger" >/dev/null && fail "uid $stranger unexpectedly exists"
mv "$work/manifests/carols.yaml" "$work/manifests/stranger.yaml"
chown "$stranger:$stranger" "$work/manifests/stranger.yaml"

# Runs inside the namespace; the server's pid goes to $work/pid.
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
work=$1 carol=$2 carol_group=$3 irpafs=$4 stranger=$5
fail() { echo "FAIL: $*" >&2; exit 1; }
as_carol() { setpriv --reuid="$carol" --regid="$carol_group" --init-groups "$@"; }
mounted() { awk -v m="$work/mnt" '$5 == m' /proc/self/mountinfo | grep -q .; }
# This namespace holds a copy of every mount: detach the copies of other
# FUSE mounts, or their servers would outlive their unmount while we run.
sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \([^ ]*\) .* - fuse[^ ]* .*/\1/p' /proc/self/mountinfo |
  while read -r other; do umount -l "$(printf '%b' "$other")" 2>/dev/null || true; done
mknod "$work/fuse" c 10 229
chmod 666 "$work/fuse"
mount --bind "$work/fuse" /dev/fuse
# (not through the function: $! must be the server itself, setpriv and env exec)
setpriv --reuid="$carol" --regid="$carol_group" --init-groups \
  env --default-signal=INT "$irpafs" -f "$work/manifests" "$work/mnt" >"$work/carol.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT  # gone before its user is
for _ in $(seq 600); do mounted && break; kill -0 $pid || fail "server exited: $(cat "$work/carol.log")"; sleep 0.05; done
mounted || fail "not mounted after 30 s: $(cat "$work/carol.log")"
got=$(as_carol stat -c '%U %G %a' "$work/mnt/public.irpa") || fail "public.irpa not served"
[ "$got" = "$carol root 444" ] || fail "public.irpa is '$got', expected '$carol root 444'"
as_carol cat "$work/mnt/public.irpa" | cmp - "$work/public.expected" || fail "public.irpa: wrong bytes"
got=$(as_carol stat -c '%u %G %a' "$work/mnt/stranger.irpa") || fail "stranger.irpa not served"
[ "$got" = "$stranger $carol_group 40" ] || fail "stranger.irpa is '$got', expected '$stranger $carol_group 40'"
as_carol cat "$work/mnt/stranger.irpa" >/dev/null || fail "carol cannot read stranger.irpa"
as_carol test -e "$work/mnt/private.irpa" && fail "private.irpa is served"
grep -q "private.yaml:2:.*cannot open source .*private.*Permission denied" "$work/carol.log" \
  || fail "refusal of private.yaml not logged: $(cat "$work/carol.log")"
cap=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$pid/status)
[ "$cap" = 0000000000000000 ] || fail "capabilities held: CapEff $cap, $(grep -E "^(Name|Uid)" /proc/$pid/status | tr "\n" " ")"
[ "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/$pid/status)" = 0 ] || fail "no_new_privs set"
kill -TERM $pid
status=0
wait $pid || status=$?
[ "$status" -eq 0 ] || fail "server exited with status $status after SIGTERM: $(cat "$work/carol.log")"
mounted && fail "still mounted after SIGTERM: $(cat "$work/carol.log")"
echo "ok"
INSIDE
# The build directory may not be reachable by other users (a checkout under
# a 0700 directory): the user runs a copy of the server from the work dir.
cp "$IRPAFS" "$work/irpafs" && chmod 755 "$work/irpafs"
unshare -m --propagation private bash "$work/inside.sh" "$work" "$carol" "$carol_group" "$work/irpafs" "$stranger" \
  || fail "the user's server misbehaved (see above)"
echo "ok: a user's server serves by the rule, refuses what the user cannot read, unmounts at SIGTERM"

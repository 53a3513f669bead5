#!/usr/bin/env bash
# Security of a shared mount (root server, -o allow_other), with two test
# users: alice (in group models) and bob (in group data):
#  - each archive's owner, group and mode follow the rule of
#    the README's Security section for several combinations of source and manifest
#    permissions, and, for every archive and user, reading through the
#    mount succeeds only if reading every source directly does (the kernel
#    checks with default_permissions; EACCES otherwise); who reads each
#    archive is spelled out too, notably where an object's group and other
#    bits disagree (0604, 0640 and 0644 mixes of several groups, a directory
#    its group may not search, owner-only sources);
#
# Every clause of the permission rule (fs/security.c: restrict_by,
# archive_group, compute_access, visit_sources, visit_directories) and the
# case here that fails first when the clause is removed or inverted,
# checked one clause at a time with fs-security, fs-security-rule and
# fs-security-user. A name in quotes is a case of security_user.sh; "unit"
# says test_security.c fails too. M is the manifest's owner, o an object,
# B the archive's group.
#   archive group B: the sources' common group, else the manifest's:
#     root-group (always the manifest's), alice-mixed (the first source's);
#     "public"; unit
#   the manifest is an object ................... root-private; unit
#   directories are objects ..................... root-hidden; unit
#   directories need search, not read ........... root-search-only; unit
#   owner read, M is root: always ............... root-alices-private (also
#     for root: 0000); inverted: root-alices-private, "stranger"; unit
#   owner read, M owns o: o's owner bit ......... alice-private (alice cannot
#     read it); inverted: also "stranger"
#   owner read, o's group is M's: its group bit . alice-group
#   owner read, o's group is not M's: its other bit ... alice-604-data
#     (removed, or the group bit instead: alice cannot read it)
#   owner read, M's groups unknown: o's group and other bits: stranger-604
#     (without the group bit: 0404), "stranger" (without the other bit: 0440)
#   group and other read need M to own o, or o's owner bit:
#     without "M owns o" ......... alice-unreadable (bob cannot read it); unit
#     without "o's owner bit" .... alice-group, "public"; unit
#     removed (from group, other or both) ... alice-not-for-bob (bob reads
#       it); unit
#     inverted ................... root-public, "public"; unit
#   group read, o's group is B: its group bit ... root-group (group and other
#     bits instead), root-only (no bit needed), root-public (inverted); unit
#   group read, o's group is not B: its group and other bits:
#     without the group bit ...... root-604-mixed (0440; alice reads
#       root-604-mixed-alice); unit
#     without the other bit, or removed ... root-mixed (0440; bob reads
#       root-640-mixed-bob); unit
#   other read: o's other bit ................... root-group (bob reads it),
#     "stranger"; unit
#   other read: o's group is B, or its group bit:
#     removed (issue 14) ......... root-604-mixed (alice reads it); unit
#     without "o's group is B" ... root-604; unit
#     without "its group bit" .... root-604 (through its directories),
#       "public"; unit
#     inverted ................... root-public, "public"; unit
#   an object with a POSIX ACL: group and other read off: root-acl (both kept:
#     bob reads it; other kept: 0404)
#   ... and owner read only if M owns o and its owner bit allows, unless M is
#     root: for root too ......... root-acl-alices (0000)
#     removed, or without "M owns o" ... alice-acl (alice reads it)
#     without "its owner bit" .... alice-acl-manifest (alice reads it)
#   ACLs looked for on the sources, directories and the manifest: root-acl,
#     root-acl-dir, alice-acl-manifest
#   an object that cannot be examined turns group and other read off, and
#     owner read unless M is root: no case. The objects are open
#     descriptors and the directories on their canonical paths, which the
#     server (with CAP_DAC_READ_SEARCH, or as the user who has just opened
#     the source) can always stat; only a race (a directory removed between
#     the open and the stat, after which the manifest fails to load anyway)
#     reaches it.
source "$(dirname "$0")/lib.sh"
require_fuse
[ "$(id -u)" -eq 0 ] || skip "needs root (creates users, mounts with allow_other)"
for tool in useradd userdel groupadd groupdel setpriv; do
  command -v "$tool" >/dev/null || skip "no $tool"
done

alice=irpafs-a$$  # names of this run: tests may run concurrently
bob=irpafs-b$$
models=irpafs-m$$  # alice's second group
data=irpafs-d$$    # bob's second group
created_users=()
created_groups=()
remove_accounts() {
  local name
  for name in "${created_users[@]}"; do userdel "$name" >/dev/null 2>&1 || true; done
  for name in "${created_groups[@]}"; do groupdel "$name" >/dev/null 2>&1 || true; done
}
# lib.sh's cleanup reads $?: hand it the test's status after removing the accounts
# (errexit off, or a failing status would end the trap before cleanup).
stuck_pid=  # a server this test stops: resumed before cleanup looks at its mount
trap 'status=$?; set +e; [ -n "$stuck_pid" ] && kill -CONT "$stuck_pid"; remove_accounts; (exit $status); cleanup' EXIT

for group in "$models" "$data"; do
  if ! getent group "$group" >/dev/null; then
    groupadd "$group" || skip "cannot create group $group"
    created_groups+=("$group")
  fi
done
for user in "$alice" "$bob"; do
  if ! getent passwd "$user" >/dev/null; then
    useradd -M -U -s /usr/sbin/nologin "$user" || skip "cannot create user $user"
    created_users+=("$user")
  fi
done
usermod -a -G "$models" "$alice"
usermod -a -G "$data" "$bob"
id -nG "$bob" | grep -qw "$models" && gpasswd -d "$bob" "$models" >/dev/null
id -nG "$alice" | grep -qw "$data" && gpasswd -d "$alice" "$data" >/dev/null
alice_group=$(id -gn "$alice")
bob_group=$(id -gn "$bob")

as() {  # USER COMMAND...: runs with the user's uid, gid and groups
  local user=$1
  shift
  setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups "$@"
}
can_read() { as "$1" cat "$2" >/dev/null 2>&1; }  # USER FILE

# Everything below $work is reachable by everyone unless a test says not.
chmod 755 "$work"
src=$source_dir/src
mkdir -p "$src" "$work/manifests" "$source_dir/secret" "$work/alice"
chmod 755 "$src" "$work/manifests"
chmod 700 "$source_dir/secret"
chown "$alice:$alice_group" "$work/alice"
chmod 755 "$work/alice"

source_file() {  # NAME OWNER:GROUP MODE [DIR]: a 8 KiB random source
  local path=${4:-$src}/$1
  head -c 8192 /dev/urandom >"$path"
  chown "$2" "$path"
  chmod "$3" "$path"
}
# manifest NAME OWNER:GROUP MODE SOURCE...: one 4 KiB range of each source
# Written beside the directory, given its owner and mode, then renamed into
# place: the server loads a manifest as soon as its writer closes it, and a
# manifest still owned by root (before the chown) would open its sources as
# root -- on the hung file system below, that open would never return.
manifest() {
  local name=$1 owner=$2 mode=$3 i=0 path
  shift 3
  mkdir -p "$work/staging"
  path=$work/staging/$name.yaml
  {
    echo "archive: $name.irpa"
    echo "sources:"
    for source in "$@"; do echo "  s$i: $source"; i=$((i + 1)); done
    echo "entries:"
    for ((i = 0; i < $#; i++)); do
      printf '  - name: t%d\n    source: s%d\n    offset: 0\n    length: 4096\n' "$i" "$i"
    done
  } >"$path"
  chown "$owner" "$path"
  chmod "$mode" "$path"
  mv "$path" "$work/manifests/$name.yaml"
}

source_file public root:root 644
source_file group root:"$models" 640
source_file rootonly root:root 600
source_file group-not-owner root:"$models" 604
source_file alices "$alice:$alice_group" 644
source_file hidden root:root 644 "$source_dir/secret"
mkdir -m 755 "$source_dir/later"
source_file acl root:root 644        # given the ACL user:bob:--- below
source_file acl-alices "$alice:$alice_group" 644  # likewise
source_file models-644 root:"$models" 644
source_file data-644 root:"$data" 644
source_file data-604 root:"$data" 604
source_file alices-private "$alice:$alice_group" 600
source_file not-for-bob "$bob:$bob_group" 044
# a directory members of models cannot search, everyone else can
mkdir "$source_dir/models-blind"
chown root:"$models" "$source_dir/models-blind"
chmod 701 "$source_dir/models-blind"
source_file public root:root 644 "$source_dir/models-blind"
mkdir -m 711 "$source_dir/search-only"  # everyone may search it, not list it
source_file public root:root 644 "$source_dir/search-only"
mkdir -m 755 "$source_dir/acl-dir"  # given the ACL user:bob:--- below
source_file public root:root 644 "$source_dir/acl-dir"
source_file later root:root 644 "$source_dir/later"
# (alice's symlinks stay on the local file system even when the sources are
# on sshfs: SFTP cannot give a symlink an owner, its SETSTAT follows the link)
ln -s "$source_dir/secret/hidden" "$work/alice/link-to-hidden"
ln -s "$src/public" "$work/alice/link-to-public"
chown -h "$alice:$alice_group" "$work/alice/link-to-hidden" "$work/alice/link-to-public"

# name                 owner          mode  sources                      expected (uid gid mode)
manifest root-public   root:root      644   "$src/public"
manifest root-group    root:root      644   "$src/group"
manifest root-only     root:root      644   "$src/rootonly"
manifest root-604      root:root      644   "$src/group-not-owner"
manifest root-hidden   root:root      644   "$source_dir/secret/hidden"
manifest root-private  root:root      600   "$src/public"
manifest root-mixed    root:root      644   "$src/public" "$src/group"
manifest alice-group   "$alice:$alice_group" 644 "$src/group"
manifest alice-own     "$alice:$alice_group" 644 "$src/alices" "$src/public"
manifest alice-mixed   "$alice:$alice_group" 644 "$src/group" "$src/public"
manifest alice-link    "$alice:$alice_group" 644 ../alice/link-to-public
manifest root-later    root:root      644   "$source_dir/later/later"
manifest root-acl      root:root      644   "$src/acl"
# where group and other bits disagree, or the archive's group is not a
# source's (issue 14; the clauses they check are listed at the top)
manifest root-604-mixed       root:root              644 "$src/group-not-owner" "$src/public"
manifest root-604-mixed-alice root:"$alice_group"    644 "$src/group-not-owner" "$src/public"
manifest root-640-mixed-bob   root:"$bob_group"      644 "$src/group" "$src/public"
manifest root-644-mixed       root:root              644 "$src/models-644" "$src/public"
manifest root-640-644         root:"$models"         644 "$src/group" "$src/data-644"
manifest root-blind-dir       root:root              644 "$source_dir/models-blind/public"
manifest root-search-only     root:root              644 "$source_dir/search-only/public"
manifest root-alices-private  root:root              644 "$src/alices-private"
manifest root-acl-alices      root:root              644 "$src/acl-alices"
manifest root-acl-dir         root:root              644 "$source_dir/acl-dir/public"
manifest alice-private        "$alice:$alice_group"  644 "$src/alices-private"
manifest alice-not-for-bob    "$alice:$alice_group"  644 "$src/not-for-bob"
manifest alice-604-data       "$alice:$alice_group"  644 "$src/data-604"
manifest alice-unreadable     "$alice:$alice_group"  044 "$src/public"
manifest alice-acl            "$alice:$alice_group"  644 "$src/acl"
manifest alice-acl-manifest   "$alice:$alice_group"  644 "$src/public"  # ACL below: 0044
# an owner with no passwd entry: only the manifest's group, nothing else
stranger=$(( $(id -u "$bob") + 54321 ))
getent passwd "$stranger" >/dev/null && fail "uid $stranger unexpectedly exists"
manifest stranger      "$stranger:$stranger" 644 "$src/public"
manifest stranger-group "$stranger:$stranger" 644 "$src/group"
manifest stranger-604  "$stranger:$stranger" 644 "$src/group-not-owner"
# refused
manifest alice-rootonly "$alice:$alice_group" 644 "$src/rootonly"
manifest alice-hidden  "$alice:$alice_group" 644 "$source_dir/secret/hidden"
manifest alice-symlink "$alice:$alice_group" 644 ../alice/link-to-hidden
manifest alice-magic   "$alice:$alice_group" 644 "/proc/self/root$src/public"
manifest group-writable root:root     664   "$src/public"
manifest world-writable root:root     646   "$src/public"
cat >"$work/manifests/escape.yaml" <<'YAML'
archive: ../escape.irpa
entries:
  - name: z
    splat: {type: f32, value: 1.0}
    length: 16
YAML
cat >"$work/manifests/slash.yaml" <<'YAML'
archive: sub/slash.irpa
entries:
  - name: z
    splat: {type: f32, value: 1.0}
    length: 16
YAML
# a symlink in the manifest directory owned by alice, to root's manifest
manifest elsewhere root:root 644 "$src/public"
mv "$work/manifests/elsewhere.yaml" "$work/elsewhere.yaml"
ln -s "$work/elsewhere.yaml" "$work/manifests/alice-link-to-root.yaml"
chown -h "$alice:$alice_group" "$work/manifests/alice-link-to-root.yaml"

# POSIX ACLs, each with user:bob:--- (bob cannot read or search, whatever
# the mode bits say; then PATH OWNER_BITS OTHERS_BITS): the sources acl and
# acl-alices (0644), the directory acl-dir (0755), and alice's manifest
# alice-acl-manifest, which she cannot read either (0044)
acl=yes
/usr/bin/python3 - "$(id -u "$bob")" "$src/acl" 6 4 "$src/acl-alices" 6 4 "$source_dir/acl-dir" 7 5 \
  "$work/manifests/alice-acl-manifest.yaml" 0 4 <<'PY' || acl=no
import os, struct, sys
bob = int(sys.argv[1])
for path, owner, others in zip(sys.argv[2::3], sys.argv[3::3], sys.argv[4::3]):
    owner, others = int(owner), int(others)
    entries = [(1, owner, 0xffffffff), (2, 0, bob), (4, others, 0xffffffff),
               (0x10, others, 0xffffffff), (0x20, others, 0xffffffff)]
    blob = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)
    os.setxattr(path, "system.posix_acl_access", blob)
PY
if [ "$acl" = no ]; then
  # (sshfs has no POSIX ACLs: these cases cannot apply to sources there)
  [ "${CI:-}" = true ] && [ "${IRPA_TEST_SOURCES:-}" != sshfs ] && fail "cannot set a POSIX ACL in $src"
  echo "no POSIX ACLs here: the ACL cases are not checked" >&2
fi

# (the test itself changes later's mode, hence its ctime)
sources=("$src"/* "$source_dir/secret/hidden")
stat -c '%n %s %Y %Z' "${sources[@]}" >"$work/sources.before"
sha256sum "${sources[@]}" "$source_dir/later/later" >"$work/sources.sha"

start_irpafs server "$work/manifests" "$work/mnt" -o allow_other
mnt=$work/mnt
log=$work/server.log

# ---- owner, group and mode ------------------------------------------------
expect_attributes() {  # NAME UID GID MODE
  local got
  got=$(stat -c '%U %G %a' "$mnt/$1.irpa") || fail "$1.irpa is not served: $(cat "$log")"
  [ "$got" = "$2 $3 $4" ] || fail "$1.irpa: owner group mode are '$got', expected '$2 $3 $4'"
}
expect_attributes root-public   root root 444
expect_attributes root-group    root "$models" 440
expect_attributes root-only     root root 400
expect_attributes root-604      root "$models" 404
expect_attributes root-hidden   root root 400
expect_attributes root-private  root root 400
expect_attributes root-mixed    root root 400
expect_attributes alice-group   "$alice" "$models" 440
expect_attributes alice-own     "$alice" "$alice_group" 444
expect_attributes alice-mixed   "$alice" "$alice_group" 400
expect_attributes alice-link    "$alice" root 444
expect_attributes root-later    root root 444
[ "$(stat -c '%u %g %a' "$mnt/stranger.irpa")" = "$stranger 0 444" ] \
  || fail "stranger.irpa: $(stat -c '%u %g %a' "$mnt/stranger.irpa")"
expect_attributes root-604-mixed       root "root"         400
expect_attributes root-604-mixed-alice root "$alice_group" 400
expect_attributes root-640-mixed-bob   root "$bob_group"   400
expect_attributes root-644-mixed       root root           444
expect_attributes root-640-644         root "$models"      440
expect_attributes root-blind-dir       root root           400
expect_attributes root-search-only     root root           444
expect_attributes root-alices-private  root "$alice_group" 400
expect_attributes alice-private        "$alice" "$alice_group" 400
expect_attributes alice-not-for-bob    "$alice" "$bob_group"   400
expect_attributes alice-604-data       "$alice" "$data"        404
expect_attributes alice-unreadable     "$alice" root           44
models_gid=$(getent group "$models" | cut -d: -f3)
[ "$(stat -c '%u %g %a' "$mnt/stranger-604.irpa")" = "$stranger $models_gid 4" ] \
  || fail "stranger-604.irpa: $(stat -c '%u %g %a' "$mnt/stranger-604.irpa"), expected $stranger $models_gid 4"
if [ "$acl" = yes ]; then
  can_read "$bob" "$src/acl" && fail "the ACL does not deny bob"
  can_read "$alice" "$work/manifests/alice-acl-manifest.yaml" && fail "the ACL does not deny alice"
  expect_attributes root-acl           root root           400
  expect_attributes root-acl-alices    root "$alice_group" 400
  expect_attributes root-acl-dir       root root           400
  expect_attributes alice-acl          "$alice" root       0
  expect_attributes alice-acl-manifest "$alice" root       0
fi

# ---- refusals -----------------------------------------------------------------
not_served() {  # NAME LOG_PATTERN
  [ -e "$mnt/$1.irpa" ] && fail "$1.irpa is served"
  grep -q -- "$2" "$log" || fail "$1: log lacks '$2': $(cat "$log")"
}
not_served alice-rootonly "alice-rootonly.yaml:3:.*cannot open source .*rootonly.*Permission denied"
not_served alice-hidden   "alice-hidden.yaml:3:.*cannot open source .*hidden.*Permission denied"
not_served stranger-group "stranger-group.yaml:3:.*cannot open source .*group.*Permission denied"
not_served alice-magic    "alice-magic.yaml:3:.*cannot open source '/proc/self/root.*': Too many levels of symbolic links"
not_served alice-symlink  "alice-symlink.yaml:3:.*cannot open source .*link-to-hidden.*Permission denied"
not_served group-writable "group-writable.yaml: refused: the manifest is writable by its group (mode 0664).*chmod go-w $work/manifests/group-writable.yaml"
not_served world-writable "world-writable.yaml: refused: the manifest is writable by everyone (mode 0646).*chmod go-w"
not_served elsewhere      "alice-link-to-root.yaml: refused: a symlink owned by uid $(id -u "$alice") to a file owned by uid 0"
grep -q "escape.yaml: archive name '../escape.irpa' cannot be a file name\|escape.yaml:.*escape.irpa" "$log" \
  || fail "../escape.irpa not refused: $(cat "$log")"
grep -q "slash.yaml:.*sub/slash.irpa" "$log" || fail "sub/slash.irpa not refused: $(cat "$log")"
[ -e "$work/escape.irpa" ] && fail "an archive escaped the mount"
served=$(ls "$mnt" | LC_ALL=C sort | tr '\n' ' ')
[ "$served" = "alice-604-data.irpa alice-acl-manifest.irpa alice-acl.irpa alice-group.irpa alice-link.irpa alice-mixed.irpa alice-not-for-bob.irpa alice-own.irpa alice-private.irpa alice-unreadable.irpa root-604-mixed-alice.irpa root-604-mixed.irpa root-604.irpa root-640-644.irpa root-640-mixed-bob.irpa root-644-mixed.irpa root-acl-alices.irpa root-acl-dir.irpa root-acl.irpa root-alices-private.irpa root-blind-dir.irpa root-group.irpa root-hidden.irpa root-later.irpa root-mixed.irpa root-only.irpa root-private.irpa root-public.irpa root-search-only.irpa stranger-604.irpa stranger.irpa " ] \
  || fail "served: $served"

# ---- who can read what ---------------------------------------------------------
# Reading through the mount must never succeed where reading a source
# directly fails; the expected outcomes are spelled out too.
expect_read() {  # USER NAME yes|no
  local err
  if err=$(as "$1" cat "$mnt/$2.irpa" 2>&1 >/dev/null); then
    [ "$3" = yes ] || fail "$1 can read $2.irpa"
  else
    [ "$3" = no ] || fail "$1 cannot read $2.irpa: $err"
    grep -q "Permission denied" <<<"$err" || fail "$1 reading $2.irpa: expected EACCES, got: $err"
  fi
}
#            user    archive        readable
expect_read "$bob"   root-public    yes
expect_read "$alice" root-public    yes
expect_read "$bob"   root-group     no
expect_read "$alice" root-group     yes
expect_read "$bob"   root-only      no
expect_read "$alice" root-only      no
expect_read "$bob"   root-604       yes
expect_read "$alice" root-604       no
expect_read "$bob"   root-hidden    no
expect_read "$bob"   root-private   no
expect_read "$alice" root-mixed     no
expect_read "$alice" alice-group    yes
expect_read "$bob"   alice-group    no
expect_read "$alice" alice-own      yes
expect_read "$bob"   alice-own      yes
expect_read "$alice" alice-mixed    yes
expect_read "$bob"   alice-mixed    no
expect_read "$bob"   alice-link     yes
[ "$acl" = yes ] && expect_read "$bob" root-acl no
# where group and other bits disagree (a "no" where the user can read every
# source is the rule granting less than the sources: see the README)
expect_read "$alice" root-604-mixed       no   # the 0604 source's group is not the archive's
expect_read "$bob"   root-604-mixed       no
expect_read "$alice" root-604-mixed-alice no   # alice is in the archive's group and the source's
expect_read "$bob"   root-604-mixed-alice no
expect_read "$bob"   root-640-mixed-bob   no   # bob is in the archive's group, not the source's
expect_read "$alice" root-640-mixed-bob   no
expect_read "$alice" root-644-mixed       yes
expect_read "$bob"   root-644-mixed       yes
expect_read "$alice" root-640-644         yes  # the archive's group is the 0640 source's
expect_read "$bob"   root-640-644         no   # bob is in the 0644 source's group only
expect_read "$alice" root-blind-dir       no   # models may not search the source's directory
expect_read "$bob"   root-blind-dir       no
expect_read "$bob"   root-search-only     yes  # a directory needs search, not read
expect_read "$alice" root-alices-private  no   # owner-only source: alice is the archive's group
expect_read "$bob"   root-alices-private  no
expect_read "$alice" alice-private        yes
expect_read "$bob"   alice-private        no
expect_read "$alice" alice-not-for-bob    yes  # a 0044 source of bob's
expect_read "$bob"   alice-not-for-bob    no
expect_read "$alice" alice-604-data       yes  # 0604 of group data: alice is outside it
expect_read "$bob"   alice-604-data       no   # bob is in it
expect_read "$alice" alice-unreadable     no   # her manifest is 0044
expect_read "$bob"   alice-unreadable     yes
if [ "$acl" = yes ]; then
  expect_read "$bob"   root-acl-dir       no   # bob may not search the directory
  expect_read "$alice" root-acl-dir       no   # (the ACL's named entries are not looked at)
  expect_read "$alice" alice-acl          no   # only an ACL'd object's owner is certain
  expect_read "$bob"   alice-acl          no
  expect_read "$alice" alice-acl-manifest no
  expect_read "$bob"   alice-acl-manifest no
fi
# and the invariant, for every archive and user, against the sources
for yaml in "$work"/manifests/*.yaml; do
  name=$(basename "$yaml" .yaml)
  [ -e "$mnt/$name.irpa" ] || continue
  mapfile -t archive_sources < <(sed -n 's/^  s[0-9]*: //p' "$yaml")
  for user in "$alice" "$bob"; do
    can_read "$user" "$mnt/$name.irpa" || continue
    for source in "${archive_sources[@]}"; do
      [ "${source:0:1}" = / ] || source=$work/manifests/$source
      can_read "$user" "$source" || fail "$user reads $name.irpa but not its source $source"
    done
  done
done
# root still reads everything, and the bytes are right
for yaml in "$work"/manifests/root-*.yaml "$work"/manifests/alice-{group,own,mixed,link}.yaml; do
  name=$(basename "$yaml" .yaml)
  "$IRPA" build -q "$yaml" -o "$work/$name.expected"
  cmp "$mnt/$name.irpa" "$work/$name.expected" || fail "$name.irpa: wrong bytes"
  cp "$mnt/$name.irpa" "$work/$name.copy"
  cmp "$work/$name.copy" "$work/$name.expected" || fail "$name.irpa: cp differs"
done

# ---- manifests added once the server has dropped its capabilities ---------------
manifest alice-late    "$alice:$alice_group" 644 "$src/group"
manifest alice-late-no "$alice:$alice_group" 644 "$src/rootonly"
late() { [ "$(stat -c '%U %G %a' "$mnt/alice-late.irpa")" = "$alice $models 440" ]; }
wait_for late || fail "alice-late.irpa not served as '$alice $models 440': $(cat "$log")"
expect_read "$alice" alice-late yes
expect_read "$bob" alice-late no
refused_late() { grep -q "alice-late-no.yaml:3:.*cannot open source .*rootonly.*Permission denied" "$log"; }
wait_for refused_late || fail "alice-late-no.yaml not refused: $(cat "$log")"
[ -e "$mnt/alice-late-no.irpa" ] && fail "alice-late-no.irpa is served"

# ---- a source whose file system never answers: opening it as alice gives up ------
# (a second irpafs, stopped with SIGSTOP, is that file system)
mkdir -m 755 "$work/stuck-manifests"
cp "$work/manifests/root-public.yaml" "$work/stuck-manifests/"
main_pid=$server_pid
start_irpafs stuck "$work/stuck-manifests" "$work/stuck" -o allow_other
stuck_pid=$server_pid
server_pid=$main_pid
kill -STOP "$stuck_pid"
manifest alice-stuck "$alice:$alice_group" 644 "$work/stuck/root-public.irpa"
manifest alice-after "$alice:$alice_group" 644 "$src/public"
gave_up() { grep -q "alice-stuck.yaml:3:.*cannot open source .*Connection timed out" "$log"; }
WAIT_LIMIT=40 wait_for gave_up || fail "opening a hung source did not time out: $(cat "$log")"
after() { [ -e "$mnt/alice-after.irpa" ]; }
wait_for after || fail "the scan did not go on after the hung source"
kill -CONT "$stuck_pid"
stuck_pid=

# ---- a refused manifest fixed with chmod go-w is served -------------------------
chmod go-w "$work/manifests/group-writable.yaml"
fixed() { [ "$(stat -c %a "$mnt/group-writable.irpa")" = 444 ]; }
WAIT_LIMIT=30 wait_for fixed || fail "group-writable.irpa not served after chmod go-w: $(cat "$log")"

# ---- permissions changed after loading: the archive follows (rescan, ~5 s) -------
expect_read "$bob" root-later yes
attributes_are() { [ "$(stat -c '%U %G %a' "$mnt/$1.irpa")" = "$2" ]; }
chmod 640 "$source_dir/later/later"
WAIT_LIMIT=30 wait_for attributes_are root-later "root root 440" \
  || fail "root-later.irpa did not follow chmod 640 of its source: $(stat -c '%U %G %a' "$mnt/root-later.irpa")"
expect_read "$bob" root-later no
chmod 644 "$source_dir/later/later"
WAIT_LIMIT=30 wait_for attributes_are root-later "root root 444" || fail "root-later.irpa: chmod 644 not followed"
chmod 700 "$source_dir/later"
WAIT_LIMIT=30 wait_for attributes_are root-later "root root 400" \
  || fail "root-later.irpa did not follow chmod 700 of its source's directory"
expect_read "$bob" root-later no

# ---- sources are never written -------------------------------------------------
held=0
for fd in /proc/"$server_pid"/fd/*; do
  target=$(readlink "$fd") || continue
  case $target in "$src"/* | "$source_dir"/secret/* | "$source_dir"/later/* | "$work"/manifests/* | "$work"/manifests) ;; *) continue ;; esac
  held=$((held + 1))
  flags=$(sed -n 's/^flags:[[:space:]]*//p' /proc/"$server_pid"/fdinfo/"${fd##*/}")
  [ $((8#$flags & 3)) -eq 0 ] || fail "the server holds $target open with flags $flags (not O_RDONLY)"
done
[ "$held" -ge 10 ] || fail "only $held source descriptors seen in /proc/$server_pid/fd"
stat -c '%n %s %Y %Z' "${sources[@]}" | diff -u "$work/sources.before" - \
  || fail "a source's size, mtime or ctime changed"
sha256sum --quiet -c "$work/sources.sha" || fail "a source's content changed"

# ---- privileges held by the server ---------------------------------------------
# CAP_DAC_READ_SEARCH (2), CAP_SETGID (6), CAP_SETUID (7), CAP_SYS_ADMIN (21)
kept=$(( (1 << 2) | (1 << 6) | (1 << 7) | (1 << 21) ))
for status in /proc/"$server_pid"/task/*/status; do
  for set in CapEff CapPrm CapBnd; do
    value=$(sed -n "s/^$set:[[:space:]]*//p" "$status")
    if [ $((16#$value)) -ne "$kept" ]; then
      # the bounding set may have been smaller to begin with
      [ "$set" = CapBnd ] && [ $((16#$value & ~kept)) -eq 0 ] && continue
      fail "$status: $set is $value, expected $(printf %016x "$kept")"
    fi
  done
  [ "$(sed -n 's/^CapInh:[[:space:]]*//p' "$status")" = 0000000000000000 ] || fail "$status: CapInh not empty"
  [ "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "$status")" = 1 ] || fail "$status: no_new_privs not set"
done

stop_irpafs "$mnt" "$server_pid"

# ---- a manifest directory anyone may write to, without the sticky bit: warned --
mkdir -m 777 "$work/open"
cp "$work/manifests/root-public.yaml" "$work/open/"
start_irpafs open "$work/open" "$work/open-mnt"
grep -q "manifest directory $work/open is writable by everyone (mode 0777) without the sticky bit.*chmod +t" \
  "$work/open.log" || fail "no warning about $work/open: $(cat "$work/open.log")"
cmp "$work/open-mnt/root-public.irpa" "$work/root-public.expected" || fail "open: wrong bytes"
stop_irpafs "$work/open-mnt" "$server_pid"
chmod 1777 "$work/open"
start_irpafs sticky "$work/open" "$work/sticky-mnt"
grep -q "without the sticky bit" "$work/sticky.log" && fail "warned about a sticky directory"
stop_irpafs "$work/sticky-mnt" "$server_pid"
echo "ok: permissions follow the sources, foreign and writable manifests refused, sources untouched, capabilities dropped"

#!/usr/bin/env bash
# irpafs started the way mount(8), /etc/fstab and systemd start FUSE file
# systems: through mount.fuse3, which runs `irpafs SOURCE MOUNTPOINT -o
# OPTIONS` (with rw,dev,suid added) and expects it to detach once mounted.
#  1. mount.fuse3 SOURCE MNT -t fuse.irpafs -o ... (what `mount -t
#     fuse.irpafs` runs), with irpafs found on PATH through a symlink;
#  2. mount(8) -t fuse 'IRPAFS#SOURCE' (the helper's program#source form,
#     which needs no installed irpafs), and an fstab line read with -T;
#  3. mount -t fuse.irpafs and a fuse.irpafs fstab line (mount -T), with
#     irpafs where mount's helper looks for it (its default PATH), arranged
#     in a private mount namespace.
# Each mount must be read-only, named fuse.irpafs with SOURCE as fsname,
# serve the right bytes, take -o readahead_kb=N, and end when unmounted.
source "$(dirname "$0")/lib.sh"
require_fuse
command -v mount.fuse3 >/dev/null || skip "no mount.fuse3"
[ "$(id -u)" = 0 ] || skip "mount(8) of a FUSE file system needs root here"
reference=$IRPA_TESTDATA/reference

mkdir -p "$work/manifests" "$work/bin" "$work/mnt"
"$IRPA" manifest "$IRPA_TESTDATA/models/gguf/dummy.gguf" -o "$work/manifests/dummy.yaml"
ln -s "$IRPAFS" "$work/bin/irpafs"
mnt=$work/mnt
mounts+=("$mnt")

# The pid of the irpafs serving MOUNTPOINT (it detached: not our child);
# the mount point is a fresh temporary path, so the match is ours.
server_of() {  # MOUNTPOINT
  pgrep -n -f -- "irpafs .* $1 -o "
}

# Whether PID has exited (gone, or a zombie its new parent has not reaped).
exited() {  # PID
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$state" = Z ] || [ -z "$state" ]
}

check_mount() {  # WHAT READAHEAD_KB
  local what=$1 line device pid
  line=$(grep " $mnt " /proc/self/mountinfo | tail -n 1) || fail "$what: not mounted"
  grep -q " - fuse.irpafs $work/manifests " <<<"$line" || fail "$what: type/fsname: $line"
  grep -qE "^[0-9]+ [0-9]+ [0-9:]+ / $mnt ro[, ]" <<<"$line" || fail "$what: not read-only: $line"
  cmp "$mnt/dummy.irpa" "$reference/dummy.irpa" || fail "$what: bytes differ"
  device=$(awk '{print $3}' <<<"$line")
  if [ -w "/sys/class/bdi/$device/read_ahead_kb" ]; then
    [ "$(cat "/sys/class/bdi/$device/read_ahead_kb")" = "$2" ] \
      || fail "$what: read_ahead_kb is $(cat "/sys/class/bdi/$device/read_ahead_kb"), expected $2"
  fi
  pid=$(server_of "$mnt") || fail "$what: no server process found"
  servers+=("$pid")
  umount "$mnt"
  wait_for exited "$pid" || fail "$what: server still running after umount"
  mountpoint -q "$mnt" && fail "$what: still mounted after umount"
  return 0
}

# 1. what `mount -t fuse.irpafs DIR MNT -o readahead_kb=2048` runs
PATH="$work/bin:$PATH" mount.fuse3 "$work/manifests" "$mnt" -t fuse.irpafs -o rw,readahead_kb=2048 \
  || fail "mount.fuse3 failed"
check_mount "mount.fuse3 -t fuse.irpafs" 2048

# 2. mount(8), and an fstab line
mount -t fuse "$IRPAFS#$work/manifests" "$mnt" -o readahead_kb=512 || fail "mount -t fuse failed"
check_mount "mount -t fuse" 512
printf '%s %s fuse noauto,allow_other,readahead_kb=4096 0 0\n' "$IRPAFS#$work/manifests" "$mnt" \
  >"$work/fstab"
mount -T "$work/fstab" "$mnt" || fail "mount with an fstab line failed"
check_mount "fstab" 4096

# 3. mount -t fuse.irpafs and a fuse.irpafs fstab line, as in the README.
# mount(8) runs the helper with its default PATH, so irpafs must be in
# /usr/local/bin or the like: in a private mount namespace, a directory
# holding the irpafs under test is bind-mounted over /usr/local/bin.
printf '%s %s fuse.irpafs noauto,allow_other,readahead_kb=2048 0 0\n' "$work/manifests" "$mnt" \
  >"$work/fstab.irpafs"
cat >"$work/namespace.sh" <<'INNER'
set -euo pipefail
dir=$1 mnt=$2 bin=$3 expected=$4 fstab=$5
mount --bind "$bin" /usr/local/bin
trap 'umount "$mnt" 2>/dev/null || true' EXIT
check() {  # WHAT READAHEAD_KB
  local line device pid i
  line=$(grep " $mnt " /proc/self/mountinfo | tail -n 1) || { echo "$1: not mounted"; exit 1; }
  grep -q " - fuse.irpafs $dir " <<<"$line" || { echo "$1: type/fsname: $line"; exit 1; }
  cmp "$mnt/dummy.irpa" "$expected" || { echo "$1: bytes differ"; exit 1; }
  device=$(awk '{print $3}' <<<"$line")
  if [ -w "/sys/class/bdi/$device/read_ahead_kb" ] &&
     [ "$(cat "/sys/class/bdi/$device/read_ahead_kb")" != "$2" ]; then
    echo "$1: read_ahead_kb is not $2"; exit 1
  fi
  pid=$(pgrep -n -f -- "irpafs .* $mnt -o ") || { echo "$1: no server"; exit 1; }
  umount "$mnt"
  for i in $(seq 600); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
    [ "$state" = Z ] && break
    sleep 0.05
  done
  [ -z "${state:-}" ] || [ "$state" = Z ] || { echo "$1: server still running"; exit 1; }
}
mount -t fuse.irpafs "$dir" "$mnt" -o readahead_kb=256
check "mount -t fuse.irpafs" 256
mount -T "$fstab" "$mnt"
check "fstab fuse.irpafs line" 2048
INNER
if command -v unshare >/dev/null && unshare -m --propagation private true 2>/dev/null; then
  unshare -m --propagation private bash "$work/namespace.sh" "$work/manifests" "$mnt" \
    "$work/bin" "$reference/dummy.irpa" "$work/fstab.irpafs" \
    || fail "mount -t fuse.irpafs / fuse.irpafs fstab line"
else
  echo "note: no private mount namespace: mount -t fuse.irpafs itself not tried"
fi
echo "ok: mount.fuse3, mount -t fuse.irpafs, mount -t fuse IRPAFS#DIR, fstab lines"

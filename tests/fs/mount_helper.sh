#!/usr/bin/env bash
# irpafs started the way mount(8), /etc/fstab and systemd start FUSE file
# systems: through mount.fuse3, which runs `irpafs SOURCE MOUNTPOINT -o
# OPTIONS` (with rw,dev,suid added) and expects it to detach once mounted.
#  1. mount.fuse3 SOURCE MNT -t fuse.irpafs -o ... (what `mount -t
#     fuse.irpafs` runs), with irpafs found on PATH through a symlink;
#  2. mount(8) -t fuse 'IRPAFS#SOURCE' (the helper's program#source form,
#     which needs no installed irpafs), and an fstab line read with -T;
#  3. mount -t fuse.irpafs itself when an irpafs is installed where mount's
#     helper looks (its default PATH).
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

# 3. mount -t fuse.irpafs, when irpafs is installed
if PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v irpafs >/dev/null; then
  mount -t fuse.irpafs "$work/manifests" "$mnt" || fail "mount -t fuse.irpafs failed"
  check_mount "mount -t fuse.irpafs" 1024
else
  echo "note: no installed irpafs: mount -t fuse.irpafs itself not tried"
fi
echo "ok: mount.fuse3, mount -t fuse, fstab"

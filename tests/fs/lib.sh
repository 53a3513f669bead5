# lib.sh: shared by the irpafs tests (sourced). Each test mounts in its own
# temporary directory; the EXIT trap unmounts (fusermount3 -u, then a lazy
# umount), stops every server it started and removes the directory, so no
# stale mount is left behind whatever happens.
#
# Without /dev/fuse or the right to mount, a test is skipped (exit 77), or
# fails when CI=true: CI must run them.
#
# IRPA_TEST_SOURCES=sshfs (the fs-sshfs suite) puts the sources on a network
# file system: require_fuse then starts an sshd on 127.0.0.1 and mounts over
# it with sshfs both the shared test data ($IRPA_TESTDATA, read-only) and
# $source_dir, where a test writes the sources it makes or changes
# (otherwise $source_dir is $work). Manifests, logs and mount points stay local.
set -euo pipefail
: "${IRPA:?} ${IRPAFS:?} ${IRPA_TESTDATA:?}"

work=$(mktemp -d "${TMPDIR:-/tmp}/irpafs-test.XXXXXX")
mounts=()   # mount points to unmount at exit
servers=()  # server pids to stop at exit
source_dir=$work  # where a test writes the sources it makes or changes

cleanup() {
  local status=$?
  resume_sshd
  for mnt in "${mounts[@]}"; do
    if mountpoint -q "$mnt" 2>/dev/null; then
      fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
  done
  for pid in "${servers[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${servers[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  stop_sshfs
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    for log in "$work"/*.log; do
      [ -f "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
# Killed by meson's timeout or ^C: still clean up (through the EXIT trap).
trap 'exit 143' TERM
trap 'exit 130' INT

skip() {  # REASON
  if [ "${CI:-}" = true ]; then
    echo "FAIL (CI=true, cannot skip): $1" >&2
    exit 1
  fi
  echo "SKIP: $1" >&2
  exit 77
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Polls COMMAND... every 50 ms for up to WAIT_LIMIT seconds (default 20: what
# takes a moment on a quiet machine can take ten times as long on a loaded
# 2-core one under ASan; a bound only decides how long a failure takes);
# 0 as soon as it succeeds, 1 when the time is up.
wait_for() {
  local i
  for ((i = 0; i < ${WAIT_LIMIT:-20} * 20; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

require_fuse() {
  [ -c /dev/fuse ] || skip "no /dev/fuse"
  command -v fusermount3 >/dev/null || skip "no fusermount3"
  [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not accessible"
  if [ "${IRPA_TEST_SOURCES:-}" = sshfs ]; then
    start_sshd
    # (mounted outside $work, which is 0700: an archive's mode follows its
    # sources' directories)
    net=$(mktemp -d "${TMPDIR:-/tmp}/irpafs-net.XXXXXX")
    chmod 755 "$net"
    mount_sshfs testdata "$IRPA_TESTDATA" "$net/testdata" -o ro
    IRPA_TESTDATA=$net/testdata
    mkdir -m 755 "$work/remote"
    mount_sshfs sources "$work/remote" "$net/sources"
    source_dir=$net/sources
  fi
  return 0
}

# Starts irpafs in the foreground on MANIFESTS at MOUNTPOINT with the extra
# arguments, logging to $work/NAME.log; sets server_pid. Waits until the
# mount is there (skips the test when mounting is not permitted at all).
start_irpafs() {  # NAME MANIFESTS MOUNTPOINT [ARGS...]
  local name=$1 manifests=$2 mnt=$3
  shift 3
  mkdir -p "$mnt"
  mounts+=("$mnt")
  # Background jobs of a script start with SIGINT ignored, and libfuse
  # leaves ignored signals alone: give the server the default disposition.
  env --default-signal=INT "$IRPAFS" -f "$@" "$manifests" "$mnt" >"$work/$name.log" 2>&1 &
  server_pid=$!
  servers+=("$server_pid")
  local i
  for i in $(seq 600); do
    mountpoint -q "$mnt" && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      if grep -qiE "fuse: device not found|Operation not permitted|Permission denied|fusermount" \
           "$work/$name.log"; then
        skip "cannot mount FUSE here: $(tail -n 1 "$work/$name.log")"
      fi
      fail "irpafs exited before mounting: $(cat "$work/$name.log")"
    fi
    sleep 0.05
  done
  fail "irpafs did not mount $mnt within 30 s"
}

# Waits (bounded, 30 s) for server PID to exit; fails unless it exits with
# status 0 and its mount at MOUNTPOINT is gone.
expect_clean_exit() {  # PID MOUNTPOINT WHAT
  local i
  for i in $(seq 600); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$1" 2>/dev/null && fail "irpafs (pid $1) still running 30 s after $3"
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq 0 ] || fail "irpafs exited with status $status after $3"
  mountpoint -q "$2" && fail "still mounted after $3"
  return 0
}

# Unmounts MOUNTPOINT with fusermount3; the server PID must end cleanly.
stop_irpafs() {  # MOUNTPOINT PID
  fusermount3 -u "$1"
  expect_clean_exit "$2" "$1" "fusermount3 -u"
}

# Copies a test model into the work directory (sources we may change).
copy_model() {  # RELATIVE_PATH_IN_MODELS DEST
  cp "$IRPA_TESTDATA/models/$1" "$2"
  chmod u+w "$2"
}

# Drops FILE's clean pages from the kernel's page cache
# (posix_fadvise DONTNEED), so the next read goes to the server again.
drop_cache() {  # FILE
  dd if="$1" iflag=nocache count=0 status=none
}

# ---- sources over sshfs ------------------------------------------------------
# An sshd of the test's own (config, host key and root's client key in
# $work/sshd) on 127.0.0.1 at a free port; each sshfs mount of it runs in
# the foreground and is unmounted and stopped at exit, after the irpafs
# servers. The options are those the README recommends for sources:
#   ServerAliveInterval=2,ServerAliveCountMax=3: ssh gives up on a server
#     that stops answering after 6 to 8 s; the requests waiting on it, and
#     those that come while sshfs reconnects to a server that is gone, fail
#     with EIO instead of hanging;
#   reconnect: sshfs connects again on the next request once the server is
#     back (handles of the old connection stay invalid: EIO);
#   allow_other,default_permissions: the manifests of other users open
#     their sources as themselves (sshfs-security), and the kernel checks
#     the mode bits for them, as on a local file system (without
#     default_permissions sftp-server, running as root, would let them read
#     anything);
#   default caches otherwise (sshfs's 20 s attribute cache, FUSE's 1 s).
# A test that counts SFTP requests mounts with a logging sftp-server of its
# own (mount_sshfs ... -o sftp_server=...: sshfs_round_trips.sh).
sshd_pid=
sshfs_pids=()
sshfs_mounts=()
sshd_dir=$work/sshd
sshfs_options=ServerAliveInterval=2,ServerAliveCountMax=3,reconnect,allow_other,default_permissions
net=  # the directory of the sshfs mount points

start_sshd() {
  command -v sshfs >/dev/null || skip "no sshfs (Debian package sshfs)"
  [ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (Debian package openssh-server)"
  mkdir -m 700 "$sshd_dir"
  mkdir -p -m 755 /run/sshd  # sshd's privilege separation directory
  ssh-keygen -q -t ed25519 -N '' -f "$sshd_dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$sshd_dir/client_key"
  cp "$sshd_dir/client_key.pub" "$sshd_dir/authorized_keys"
  local try
  for try in $(seq 20); do
    sshd_port=$((20000 + RANDOM % 40000))
    listening "$sshd_port" && continue
    cat >"$sshd_dir/sshd_config" <<CONFIG
ListenAddress 127.0.0.1:$sshd_port
HostKey $sshd_dir/host_key
AuthorizedKeysFile $sshd_dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
LogLevel INFO
Subsystem sftp internal-sftp
CONFIG
    launch_sshd && return 0
    grep -q "Address already in use" "$work/sshd.log" 2>/dev/null || break
  done
  skip "sshd did not start on 127.0.0.1: $(tail -n 3 "$work/sshd.log" 2>/dev/null)"
}

# Starts sshd with its config on $sshd_port (again, once a test has stopped
# it); sets sshd_pid. 0 once it listens, 1 if it exits first or takes 10 s.
launch_sshd() {
  /usr/sbin/sshd -D -f "$sshd_dir/sshd_config" -E "$work/sshd.log" &
  sshd_pid=$!
  local i
  for i in $(seq 200); do
    listening "$sshd_port" && return 0
    kill -0 "$sshd_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$sshd_pid" 2>/dev/null || true
  wait "$sshd_pid" 2>/dev/null || true
  sshd_pid=
  return 1
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }  # PORT

# Mounts the server's DIRECTORY at MOUNTPOINT with sshfs (log: sshfs-NAME.log).
mount_sshfs() {  # NAME DIRECTORY MOUNTPOINT [SSHFS ARGS...]
  local name=$1 dir=$2 mnt=$3 pid i
  shift 3
  mkdir -p "$mnt"
  sshfs -f "root@127.0.0.1:$dir" "$mnt" -F /dev/null -p "$sshd_port" \
    -o "IdentityFile=$sshd_dir/client_key,IdentitiesOnly=yes,BatchMode=yes" \
    -o StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,LogLevel=ERROR \
    -o "$sshfs_options" "$@" >"$work/sshfs-$name.log" 2>&1 &
  pid=$!
  sshfs_pids+=("$pid")
  sshfs_mounts+=("$mnt")
  for i in $(seq 600); do
    mountpoint -q "$mnt" && return 0
    kill -0 "$pid" 2>/dev/null || skip "sshfs did not mount: $(tail -n 3 "$work/sshfs-$name.log")"
    sleep 0.05
  done
  fail "sshfs did not mount $mnt within 30 s"
}

# The sshd processes serving sshfs's connections: per connection, the
# listener's child (privileged) and its child, the user's session, which
# runs the sftp server. Prints PARENT's descendants, one pid a line.
descendants() {  # PARENT
  local child
  for child in $(pgrep -P "$1"); do
    echo "$child"
    descendants "$child"
  done
}

# A test may stop the server (SIGSTOP): resumed before anything waits on it.
resume_sshd() {
  [ -n "$sshd_pid" ] || return 0
  local pid
  for pid in "$sshd_pid" $(descendants "$sshd_pid"); do
    kill -CONT "$pid" 2>/dev/null || true
  done
}

none_running() {  # PID...
  local pid
  for pid; do kill -0 "$pid" 2>/dev/null && return 1; done
  return 0
}

stop_sshfs() {
  local mnt pid
  for mnt in "${sshfs_mounts[@]}"; do
    if mountpoint -q "$mnt" 2>/dev/null; then
      fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    fi
  done
  for pid in "${sshfs_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # An sshfs stuck on a request that loops back into its own mount (its
  # server is this machine) does not end on SIGTERM; SIGKILL closes its
  # FUSE connection, which fails whatever waits on it.
  WAIT_LIMIT=5 wait_for none_running "${sshfs_pids[@]}" ||
    for pid in "${sshfs_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${sshfs_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$sshd_pid" ]; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  [ -z "$net" ] || rmdir "$net"/* "$net" 2>/dev/null || true
}

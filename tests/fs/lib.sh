# lib.sh: shared by the irpafs tests (sourced). Each test mounts in its own
# temporary directory; the EXIT trap unmounts (fusermount3 -u, then a lazy
# umount), stops every server it started and removes the directory, so no
# stale mount is left behind whatever happens.
#
# Without /dev/fuse or the right to mount, a test is skipped (exit 77), or
# fails when CI=true: CI must run them.
set -euo pipefail
: "${IRPA:?} ${IRPAFS:?} ${IRPA_TESTDATA:?}"

work=$(mktemp -d "${TMPDIR:-/tmp}/irpafs-test.XXXXXX")
mounts=()   # mount points to unmount at exit
servers=()  # server pids to stop at exit

cleanup() {
  local status=$?
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

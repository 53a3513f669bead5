# common.sh: sourced by the stress tests after tests/fs/lib.sh.

now() { date +%s.%N; }
since() {  # START: seconds since START (from now), for printing
  awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f s", b - a}'
}

# Unmounts MOUNTPOINT; the server PID must then exit with status 0 and the
# mount be gone. Waits up to 60 s: a test running at the same time in a
# private mount namespace (unshare -m) holds a copy of every mount, so the
# kernel ends the connection only when that namespace ends.
stop_server() {  # MOUNTPOINT PID
  fusermount3 -u "$1"
  server_exited() {
    ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
  }
  WAIT_LIMIT=60 wait_for server_exited "$2" ||
    fail "irpafs (pid $2) still running 60 s after fusermount3 -u"
  local status=0
  wait "$2" || status=$?
  [ "$status" -eq 0 ] || fail "irpafs exited with status $status after fusermount3 -u"
  mountpoint -q "$1" && fail "$1 still mounted after fusermount3 -u"
  return 0
}

# CPU time (user + system) PID has used, in milliseconds: steadier than
# wall-clock times on a busy machine.
cpu_ms() {  # PID
  awk -v tick="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / tick}' "/proc/$1/stat"
}

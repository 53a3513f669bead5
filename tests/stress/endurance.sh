#!/usr/bin/env bash
# Endurance: reader threads open, read at random (pread and mmap) and close
# the archives of a mount while manifests are changed, removed and added and
# a source is replaced by rename (tests/stress/stress.c); every byte read is
# compared with `irpa build` output of the version that was open.
# STRESS_ROUNDS (default 4) identical churn rounds; after each, the manifests
# are back to their first state, the kernel is made to forget its inodes
# (drop_caches), and the server's descriptors, mappings and resident memory
# are counted:
#   - descriptors: exactly as many as right after mounting (a leaked version
#     holds its sources open, so this catches it whatever the machine's speed);
#   - mappings and VmRSS: judged by their trend, not by a fixed slack. Round 1
#     warms the allocator and libfuse's thread pool; from round 2 on, a leak
#     grows the count in every round, so the test fails only if each round
#     ends higher than the one before AND the rise over those rounds is more
#     than noise (a thread more or less, the allocator's free lists). A count
#     that goes up once and then stays, or moves up and down, is not a leak.
# STRESS_SECONDS (default 50) is the churn time of all rounds together;
# scripts/stress.sh SECONDS runs it longer. Nothing asserts on timing.
source "$(dirname "$0")/../fs/lib.sh"
source "$(dirname "$0")/common.sh"
require_fuse
: "${STRESS:?}"
seconds=${STRESS_SECONDS:-50}
rounds=${STRESS_ROUNDS:-4}
[ "$rounds" -ge 3 ] || { echo "STRESS_ROUNDS must be at least 3 (a warm-up and a trend)" >&2; exit 2; }
round_seconds=$(awk -v s="$seconds" -v r="$rounds" 'BEGIN {print s / r}')
threads=${STRESS_THREADS:-8}
names=8 versions=3 generations=2
# Under ASan, a small quarantine: freed memory held back is not a leak.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8"

mkdir -p "$work"/{versions,manifests,src,expected}
head -c $((1536 * 1024)) /dev/urandom >"$work/src/fixed.bin"
for g in 0 1; do head -c $((512 * 1024)) /dev/urandom >"$work/src/shared.g$g.bin"; done
gguf=$IRPA_TESTDATA/models/gguf/llama-2-tiny-random.gguf

# Version v of archive k: ranges of both sources (version 2 does not use the
# replaced source), a splat, and in version 1 every tensor of a GGUF file.
# Archive k0 has 20,000 ranges (a 2 MB header in memory): a version leaked
# would show in the server's memory and mappings.
for ((k = 0; k < names; k++)); do
  for ((v = 0; v < versions; v++)); do
    awk -v k="$k" -v v="$v" -v gguf="$gguf" 'BEGIN {
      srand(k * 10 + v + 1)
      print "archive: k" k ".irpa"
      print "sources:"
      print "  sh: {path: ../src/shared.bin, format: raw}"
      print "  fx: {path: ../src/fixed.bin, format: raw}"
      if (v == 1) print "  gg: " gguf
      print "entries:"
      if (v != 2) print "  - {name: k" k "v" v ".shared.head, source: sh, offset: 0, length: 64}"
      n = k == 0 ? 20000 : 3 + int(rand() * 6)
      for (i = 0; i < n; i++) {
        len = 1 + int(rand() * (k == 0 ? 200 : 200000))
        offset = int(rand() * (1536 * 1024 - len))
        print "  - {name: k" k "v" v ".fixed." i ", source: fx, offset: " offset ", length: " len "}"
      }
      if (v != 2) print "  - {name: k" k "v" v ".shared.tail, source: sh, offset: " int(rand() * 400000) ", length: 100000}"
      print "  - {name: k" k "v" v ".ones, splat: {type: f32, value: 1.0}, length: " 4 * (1 + int(rand() * 5000)) "}"
      if (v == 1) print "  - source: gg"
    }' >"$work/versions/k${k}_v$v.yaml"
  done
done
for g in 0 1; do
  cp "$work/src/shared.g$g.bin" "$work/src/shared.bin"
  for ((k = 0; k < names; k++)); do
    for ((v = 0; v < versions; v++)); do
      "$IRPA" build -q "$work/versions/k${k}_v$v.yaml" -o "$work/expected/k${k}_v${v}_g$g.irpa"
    done
  done
done
cp "$work/src/shared.g0.bin" "$work/src/shared.bin"
for ((k = 0; k < names; k++)); do cp "$work/versions/k${k}_v0.yaml" "$work/manifests/k$k.yaml"; done

start_irpafs server "$work/manifests" "$work/mnt"
pid=$server_pid

can_drop=true
sync
echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || can_drop=false

serves_first_state() {
  local k
  for ((k = 0; k < names; k++)); do
    drop_cache "$work/mnt/k$k.irpa" 2>/dev/null || return 1
    cmp -s "$work/mnt/k$k.irpa" "$work/expected/k${k}_v0_g0.irpa" || return 1
  done
}
# Descriptors other than pipes (each libfuse worker thread that spliced
# holds a pipe pair for as long as it lives, counted apart).
fds() { find "/proc/$pid/fd" -mindepth 1 -lname 'pipe:*' -o -mindepth 1 -print | wc -l; }
pipes() { find "/proc/$pid/fd" -mindepth 1 -lname 'pipe:*' -print | wc -l; }
maps() { wc -l <"/proc/$pid/maps"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
threads_now() { awk '/^Threads/ {print $2}' "/proc/$pid/status"; }
# Back in the first state, and the kernel has forgotten what it can.
settle() {  # WHAT
  WAIT_LIMIT=30 wait_for serves_first_state || fail "$1: the mount does not serve the first state"
  if $can_drop; then
    sync
    echo 2 >/proc/sys/vm/drop_caches
  fi
  sleep 1
}
counts() { echo "fds $(fds) (+ $(pipes) pipes), maps $(maps), VmRSS $(rss_kb) kB, threads $(threads_now)"; }

settle "after mounting"
fds0=$(fds) pipes0=$(pipes)
echo "after mounting:  $(counts)"
maps_seen=() rss_seen=() fds_seen=()
for ((round = 1; round <= rounds; round++)); do
  "$STRESS" "$work" "$names" "$versions" "$generations" "$round_seconds" "$threads" 7 ||
    fail "round $round: a read did not match the version that was open (see above)"
  kill -0 "$pid" || fail "the server died in round $round"
  settle "after round $round"
  if $can_drop; then
    at_start() { [ "$(fds)" -eq "$fds0" ]; }
    wait_for at_start || fail "round $round: $(fds) descriptors open, $fds0 after mounting (leak)"
  fi
  pipes_now=$(pipes) threads_then=$(threads_now)
  [ "$pipes_now" -le $((pipes0 + 2 * threads_then)) ] ||
    fail "round $round: $pipes_now pipes for $threads_then threads ($pipes0 after mounting)"
  maps_seen+=("$(maps)") rss_seen+=("$(rss_kb)") fds_seen+=("$(fds)")
  echo "after round $round: $(counts)"
done

# A leak: the count rises after every round from round 2 on, and the rise
# from round 2 to the last is more than NOISE.
leaks() {  # NOISE VALUES... (one per round)
  local noise=$1; shift
  local values=("$@") r
  for ((r = 2; r < ${#values[@]}; r++)); do
    [ "${values[r]}" -gt "${values[r - 1]}" ] || return 1
  done
  [ $((values[-1] - values[1])) -gt "$noise" ]
}
# Noise: a few worker threads more (a stack, a guard page, an arena: up to
# 5 mappings and 2 MiB each), and a quarter of the memory for the allocator.
leaks 20 "${maps_seen[@]}" && fail "mappings grew in every round: ${maps_seen[*]} (leak)"
leaks $((rss_seen[1] / 4 + 8192)) "${rss_seen[@]}" &&
  fail "VmRSS grew in every round: ${rss_seen[*]} kB (leak)"
if ! $can_drop; then
  echo "note: cannot write /proc/sys/vm/drop_caches; descriptors judged by their trend only"
  leaks 0 "${fds_seen[@]}" && fail "descriptors grew in every round: ${fds_seen[*]} (leak)"
fi
if grep -E "invalid|EIO|modified in place|truncated|out of memory" "$work/server.log"; then
  fail "the server logged errors during the churn"
fi
stop_server "$work/mnt" "$pid"
echo "ok: $seconds s of churn in $rounds rounds under $threads readers; descriptors $fds0 after" \
  "every round; mappings ${maps_seen[*]}; VmRSS ${rss_seen[*]} kB"

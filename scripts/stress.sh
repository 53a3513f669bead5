#!/usr/bin/env bash
# Runs the scale and endurance tests (meson suite `stress`) with a longer
# churn than CI's minute.
#
#   scripts/stress.sh [--asan] [SECONDS]
#
# SECONDS (default 600) is the churn time of the endurance test, split in
# two identical rounds; the descriptors, mappings and resident memory of the
# server are compared after each (tests/stress/endurance.sh). Builds in
# build-stress/ (gcc, debugoptimized) or, with --asan, in build-stress-asan/
# (clang, AddressSanitizer + UndefinedBehaviorSanitizer: a leak at unmount
# fails the test). STRESS_THREADS (default 8) sets the reader threads.
# Mounting needs /dev/fuse; run as root so that the kernel's inode cache
# can be dropped (/proc/sys/vm/drop_caches) before descriptors are counted.
# Exits non-zero when any test failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
asan=false
if [ "${1:-}" = --asan ]; then
  asan=true
  shift
fi
seconds=${1:-600}
case $seconds in
'' | *[!0-9]*) echo "usage: scripts/stress.sh [--asan] [SECONDS]" >&2; exit 2 ;;
esac

if $asan; then
  build=$root/build-stress-asan
  [ -d "$build" ] || CC=clang meson setup "$build" "$root" -Dbuildtype=debug \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
else
  build=$root/build-stress
  [ -d "$build" ] || meson setup "$build" "$root" -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$build" >/dev/null || { ninja -C "$build" | tail -30; exit 1; }

# The endurance test's timeout is 600 s for a minute of churn: scale it.
multiplier=$(( (seconds + 120) / 600 + 1 ))
echo "stress: $seconds s of churn in $build (timeout multiplier $multiplier)"
STRESS_SECONDS=$seconds meson test -C "$build" --suite stress --print-errorlogs \
  --timeout-multiplier "$multiplier" --verbose

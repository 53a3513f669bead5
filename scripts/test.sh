#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian 12, as root), builds twice
# (gcc, and clang with ASan + UBSan, which also builds the libFuzzer targets)
# and runs the whole suite in each build, integration tests that mount with
# FUSE included. Exit status 0 only if every test passed in both builds.
#
#   scripts/test.sh            # everything
#   scripts/test.sh SUITE...   # only these meson suites (core, manifest, model, inspect, fs, fs-sshfs, net)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1

suites=()
for suite in "$@"; do suites+=(--suite "$suite"); done

configure() { # DIR [meson args...]
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 ||
      meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
  fi || { cat "$dir.setup.log"; return 1; }
}

passed=0 failed=0
run_build() { # NAME DIR [meson args...]   (skip_suites: --no-suite args for this build)
  local name=$1 dir=$2; shift 2
  echo "== $name build ($dir)"
  if ! configure "$dir" "$@" || ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
    cat "$dir.ninja.log" 2>/dev/null | tail -40
    echo "== $name: build FAILED"
    failed=$((failed + 1))
    return
  fi
  # Timeouts three times the ones in meson.build: a shared 2-core machine
  # can run twice as slow as the last run, and the ASan build slower still.
  meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 "${suites[@]}" \
    ${skip_suites:-}
  local log="$dir/meson-logs/testlog.json"
  local ok bad
  ok=$(grep -c '"result": "OK"' "$log" 2>/dev/null) || ok=0
  bad=$(grep -c -E '"result": "(FAIL|ERROR|TIMEOUT|UNEXPECTEDPASS)"' "$log" 2>/dev/null) || bad=0
  passed=$((passed + ok)); failed=$((failed + bad))
}

# Warnings are errors here (not in a user's build: see meson.build).
run_build gcc build-test -Dbuildtype=debugoptimized --werror -Dtests=enabled
# The fs scripts run again with their sources on sshfs (suite fs-sshfs) in the
# gcc build only: they exercise the network file system, which the
# sanitizers do not change, and the fs suite already runs them under ASan
# with local sources. This keeps the whole run within CI's 15 minutes.
no_sshfs=""
[ ${#suites[@]} -eq 0 ] && no_sshfs="--no-suite fs-sshfs"
CC=clang skip_suites=$no_sshfs run_build "clang ASan+UBSan" build-test-asan \
  -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false --werror -Dtests=enabled

# The README's first command must keep working: run the demo end to end.
if [ ${#suites[@]} -eq 0 ]; then
  echo "== demo (scripts/demo.sh)"
  demo_dir=$(mktemp -d)
  if scripts/demo.sh "$demo_dir" >"$demo_dir.log" 2>&1; then
    passed=$((passed + 1)); echo "demo: OK"
  else
    failed=$((failed + 1)); tail -30 "$demo_dir.log"; echo "demo: FAILED"
  fi
  rm -rf "$demo_dir" "$demo_dir.log"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/usr/bin/env bash
# `irpa help CMD` and `irpa CMD --help` print the command's help on standard
# output and exit 0, for every command `irpa --help` lists; `irpa help` alone
# is the overview; an unknown command is exit 2 with a message on stderr.
set -euo pipefail
irpa=${IRPA:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run NAME ARGS...: runs irpa, keeping stdout, stderr and the status under NAME.
run() {
  local name=$1; shift
  local status=0
  "$irpa" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  echo "$status" >"$work/$name.status"
}
expect_help() { # NAME COMMAND: NAME's output is COMMAND's help, cleanly
  local name=$1 command=$2
  [ "$(cat "$work/$name.status")" = 0 ] || fail "$name: exit $(cat "$work/$name.status")"
  [ ! -s "$work/$name.err" ] || fail "$name: wrote to stderr: $(head -1 "$work/$name.err")"
  grep -q "^usage: irpa $command" "$work/$name.out" ||
    fail "$name: stdout does not start with 'usage: irpa $command': $(head -1 "$work/$name.out")"
}

run overview --help
mapfile -t commands < <(sed -n 's/^  irpa \([a-z]*\) .*/\1/p' "$work/overview.out")
[ ${#commands[@]} -ge 4 ] || fail "irpa --help lists ${#commands[@]} commands: ${commands[*]}"
for command in "${commands[@]}"; do
  run "help-$command" help "$command"
  expect_help "help-$command" "$command"
  run "option-$command" "$command" --help
  expect_help "option-$command" "$command"
  cmp -s "$work/help-$command.out" "$work/option-$command.out" ||
    fail "irpa help $command and irpa $command --help differ"
done

run help help
[ "$(cat "$work/help.status")" = 0 ] && cmp -s "$work/help.out" "$work/overview.out" ||
  fail "irpa help is not irpa --help"
run help-help help help
[ "$(cat "$work/help-help.status")" = 0 ] && cmp -s "$work/help-help.out" "$work/overview.out" ||
  fail "irpa help help is not irpa --help"
run unknown help nosuch
[ "$(cat "$work/unknown.status")" = 2 ] || fail "irpa help nosuch: exit $(cat "$work/unknown.status")"
grep -q "unknown command 'nosuch'" "$work/unknown.err" || fail "irpa help nosuch: $(head -1 "$work/unknown.err")"
run two help build check
[ "$(cat "$work/two.status")" = 2 ] || fail "irpa help build check: exit $(cat "$work/two.status")"

[ "$failures" -eq 0 ] || exit 1
echo "help: ${#commands[@]} commands (${commands[*]}): ok"

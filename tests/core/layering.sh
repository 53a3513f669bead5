#!/bin/bash
# libirpacore holds no command-line code (issue 12): it defines no printing
# or subcommand functions and never names stdout, stderr or JSON output;
# the `irpa` program (core/cli) does all of that on top of it.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
lib=${IRPA_CORE_LIB:?}
symbols=$(nm -A "$lib")
printing=$(grep -E ' U (stdout|stderr|printf|puts|putchar|json_dump[a-z]*)$' <<<"$symbols" || true)
[ -z "$printing" ] || fail "the library prints:
$printing"
commands=$(grep -E ' T (irpa_print_[a-z_]*|irpa_cmd_[a-z_]*|main)$' <<<"$symbols" || true)
[ -z "$commands" ] || fail "command-line code in the library:
$commands"
# The program has them (so the check above looks at the right names).
program=$(nm "${IRPA:?}")
grep -qE ' T irpa_print_listing$' <<<"$program" || fail "irpa has no irpa_print_listing"
grep -qE ' T irpa_cmd_inspect$' <<<"$program" || fail "irpa has no irpa_cmd_inspect"
echo "ok: libirpacore has no printing, irpa has"

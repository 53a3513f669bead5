#!/usr/bin/env bash
# Runs every libFuzzer target of the project for a while, each with its seeds.
#
#   scripts/fuzz.sh [-t SECONDS] [TARGET...]
#
# Builds with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build-fuzz/, then runs each executable named fuzz_* under build-fuzz/tests/*/
# (or only the TARGETs named, e.g. fuzz_gguf) for SECONDS (default 60).
# A target's inputs: its growing working corpus build-fuzz/corpus/NAME/
# (kept between runs), then, read-only, the checked-in corpus
# tests/DIR/corpus/NAME/ (if present) and the shared test data folders listed
# one per line in tests/DIR/NAME.seeds (relative to $IRPA_TESTDATA, default
# ../shared/testdata beside the checkout).
# A crash, leak, timeout or memory blow-up is saved as
# build-fuzz/crashes/NAME/crash-* (or leak-*, timeout-*, oom-*): fix the bug,
# then add the file to tests/DIR/corpus/NAME/ so the fuzz tests replay it.
# Exits 1 when any target failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=60
while getopts "t:h" option; do
    case $option in
    t) seconds=$OPTARG ;;
    h) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/fuzz.sh [-t SECONDS] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: -t needs a whole number of seconds, got '$seconds'" >&2; exit 2 ;;
esac
testdata=${IRPA_TESTDATA:-$root/../shared/testdata}
build="$root/build-fuzz"

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is needed (apt-get install clang)" >&2
    exit 2
fi
if [ ! -d "$build" ]; then
    CC=clang meson setup "$build" "$root" -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null || exit 2
fi
ninja -C "$build" >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 2; }

mapfile -t targets < <(find "$build/tests" -mindepth 2 -maxdepth 2 -type f -name 'fuzz_*' \
    -perm -u+x | sort)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no fuzz_* executables under $build/tests (is the compiler clang?)" >&2
    exit 2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for executable in "${targets[@]}"; do
    name=$(basename "$executable")
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
        continue
    fi
    test_dir=$(basename "$(dirname "$executable")")
    inputs=("$build/corpus/$name")
    mkdir -p "$build/corpus/$name" "$build/crashes/$name"
    checked_in="$root/tests/$test_dir/corpus/$name"
    [ -d "$checked_in" ] && inputs+=("$checked_in")
    seeds_list="$root/tests/$test_dir/$name.seeds"
    if [ -f "$seeds_list" ]; then
        while IFS= read -r seed_dir; do
            [ -z "$seed_dir" ] || [ "${seed_dir#\#}" != "$seed_dir" ] && continue
            if [ -d "$testdata/$seed_dir" ]; then
                inputs+=("$testdata/$seed_dir")
            else
                echo "fuzz.sh: $name: seed folder $testdata/$seed_dir is missing" >&2
            fi
        done <"$seeds_list"
    fi
    echo "== $name: ${seconds}s, inputs: ${inputs[*]}"
    "$executable" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$build/crashes/$name/" -print_final_stats=1 "${inputs[@]}" \
        >"$build/crashes/$name.log" 2>&1
    status=$?
    grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|Done )' "$build/crashes/$name.log"
    if [ $status -ne 0 ]; then
        failed+=("$name")
        echo "!! $name failed (exit $status); log: $build/crashes/$name.log"
        grep -E 'ERROR|SUMMARY|Test unit written to' "$build/crashes/$name.log" | head -n 5
        echo "   after fixing, add the saved input to $checked_in/"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}"
    exit 1
fi
echo "fuzz.sh: every target ran ${seconds}s without a failure"

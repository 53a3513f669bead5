#!/usr/bin/env bash
# The benchmark's helpers: iree_read reads every data entry in both of IREE's
# modes (the counts `irpa inspect` gives, bad input refused with exit 2),
# pagecache counts cached bytes, and report.py shows the prefetch=64M column,
# irpafs/plain and irpafs/best FUSE ratios, page cache rows and notes.
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?} ${IREE_READ:?} ${PAGECACHE:?} ${BENCH_REPORT:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- iree_read: both modes read what irpa inspect lists ------------------------
# "ENTRIES DATA_BYTES" from irpa inspect: the entry count of the scope line,
# and the lengths of the [data] rows (splat entries have no bytes to read).
expected_counts() {
  "$IRPA" inspect "$1" | awk -F'|' '
    /^\/\/ Parameter scope/ { sub(/.*\(/, ""); entries = $0 + 0 }
    /\[data/ { gsub(/ /, "", $3); bytes += $3 }
    END { print entries + 0, bytes + 0 }'
}
archives=("$IRPA_TESTDATA"/reference/*.irpa)
[ ${#archives[@]} -ge 5 ] || fail "reference archives missing in $IRPA_TESTDATA/reference"
for archive in "${archives[@]}"; do
  expected=$(expected_counts "$archive")
  for mode in mmap file; do
    result=$("$IREE_READ" "$mode" "$archive") || fail "iree_read $mode $archive: exit $?"
    read -r entries bytes nanoseconds <<<"$result"
    [ "$entries $bytes" = "$expected" ] ||
      fail "iree_read $mode $archive: '$entries $bytes', irpa inspect says '$expected'"
    [[ $nanoseconds =~ ^[0-9]+$ ]] || fail "iree_read $mode $archive: time '$nanoseconds'"
  done
done
echo "iree_read mmap and file agree with irpa inspect on ${#archives[@]} archives"

# Bad usage and bad archives: exit 2 with a message naming the file.
expect_status() { # STATUS PATTERN COMMAND...
  local want=$1 pattern=$2 status=0; shift 2
  "$@" >"$work/out" 2>"$work/err" || status=$?
  [ "$status" -eq "$want" ] || fail "$*: exit $status, wanted $want"
  grep -q -- "$pattern" "$work/err" || { cat "$work/err" >&2; fail "$*: no '$pattern'"; }
  [ ! -s "$work/out" ] || fail "$*: printed a result"
}
reference="$IRPA_TESTDATA/reference/llama-2-tiny-random.irpa"
expect_status 2 "usage: iree_read mmap|file" "$IREE_READ" "$reference"
expect_status 2 "usage: iree_read mmap|file" "$IREE_READ" seek "$reference"
printf 'not an archive, but long enough to hold a header of 88 bytes..........................\n' \
  >"$work/text.irpa"
for mode in mmap file; do
  expect_status 2 "$work/text.irpa: not an IRPA v0 archive" "$IREE_READ" $mode "$work/text.irpa"
  head -c 600 "$reference" >"$work/short.irpa"  # header and entry table, data cut off
  expect_status 2 "$work/short.irpa: " "$IREE_READ" $mode "$work/short.irpa"
  expect_status 1 "$work/missing.irpa: No such file" "$IREE_READ" $mode "$work/missing.irpa"
done

# --- pagecache cached: bytes of the file's cached pages -------------------------
page=$(getconf PAGESIZE)
head -c $((5 * page + 100)) /dev/urandom >"$work/data"
cat "$work/data" >/dev/null
read -r cached path < <("$PAGECACHE" cached "$work/data")
[ "$path" = "$work/data" ] || fail "pagecache cached printed path '$path'"
[ "$cached" -eq $((6 * page)) ] || fail "pagecache cached: $cached bytes, wanted $((6 * page))"
if [ "$(findmnt -no FSTYPE -T "$work")" != tmpfs ]; then  # tmpfs pages cannot be dropped
  sync "$work/data"
  "$PAGECACHE" evict "$work/data"
  read -r cached path < <("$PAGECACHE" cached "$work/data")
  [ "$cached" -eq 0 ] || fail "pagecache cached after evict: $cached bytes"
fi
: >"$work/empty"
[ "$("$PAGECACHE" cached "$work/empty")" = "0 $work/empty" ] || fail "pagecache cached of an empty file"
status=0; "$PAGECACHE" cached "$work/missing" 2>/dev/null || status=$?
[ "$status" -eq 1 ] || fail "pagecache cached of a missing file: exit $status"

# --- report.py: columns and ratios ------------------------------------------------
samples="$work/samples.tsv"
{
  printf 'case\tsystem\tunit\tvalue\n'
  for system_value in irpafs:200 irpafs-prefetch:100 plain:400 passthrough_ll:50 \
                      squashfuse_ll:160 bindfs:80; do
    printf '1-seq-default\t%s\tMB/s\t%s\n' "${system_value%:*}" "${system_value#*:}"
  done
  printf '4-iree-mmap\t%s\tms\t%s\n' irpafs 300 plain 100 squashfuse_ll 600
  printf '7-cache-dd\t%s\tx archive\t%s\n' irpafs 1.02 plain 1.0 bindfs 2.0
  printf '7-cache-dd-one_copy0\tirpafs\tx archive\t2.0\n'
} >"$samples"
printf 'runs=1\nnote=this irpafs does not know -o one_copy=1: irpafs-one_copy1 left out\n' \
  >"$work/meta.txt"
# Without a prefetch=64M sample there is no prefetch=64M column (the report made
# a second time, in the same Python process).
grep -v irpafs-prefetch "$samples" >"$work/samples-no-prefetch.tsv"
/usr/bin/python3 -B - "$BENCH_REPORT" "$work" <<'PYTHON'
import contextlib, runpy, sys
report, work = sys.argv[1:]
for samples, prefix, printed in (("samples.tsv", "report", "printed"),
                                 ("samples-no-prefetch.tsv", "r2", "printed2")):
    sys.argv = [report, work + "/" + samples, work + "/meta.txt", work + "/" + prefix]
    with open(work + "/" + printed, "w") as out, contextlib.redirect_stdout(out):
        runpy.run_path(report, run_name="__main__")
PYTHON
cat "$work/report.txt"
row() { grep -F -- "$1" "$work/report.txt" || fail "report: no row '$1'"; }
header=$(grep '^case ' "$work/report.txt")
for column in "irpafs prefetch=64M" "irpafs/plain" "irpafs/best FUSE"; do
  [[ $header == *"$column"* ]] || fail "report: no column '$column' in: $header"
done
# dd: irpafs 200 MB/s, prefetch=64M 100 (2.00x), plain 400 (0.50x), best peer squashfuse_ll 160.
seq_row=$(row "1 dd bs=1M, FUSE cache empty, mount's readahead")
[[ $seq_row == *"100 (100-100) 2.00x"* ]] || fail "report: prefetch=64M ratio: $seq_row"
[[ $seq_row =~ 0\.50x\ +1\.25x\ squashfuse_ll$ ]] || fail "report: last columns: $seq_row"
# ms rows: the inverse of the time ratio (plain 100 ms against 300: 0.33x).
iree_row=$(row "4 IREE mmap mode")
[[ $iree_row =~ 0\.33x\ +2\.00x\ squashfuse_ll$ ]] || fail "report: IREE row: $iree_row"
# Page cache rows: amounts, no ratios; the one_copy row has irpafs only.
cache_row=$(row "7 cold dd: page cache, sources + mount")
[[ $cache_row == *"1.02 (1.02-1.02)"*"2.00 (2.00-2.00)" ]] || fail "report: cache row: $cache_row"
if [[ $cache_row =~ [0-9]x ]]; then fail "report: a ratio on a cache row: $cache_row"; fi
row "7 cold dd, one_copy=0: sources + mount" >/dev/null
grep -qF "note: this irpafs does not know -o one_copy=1" "$work/report.txt" || fail "report: no note"
grep -qF "| irpafs / plain | irpafs / best FUSE peer |" "$work/report.md" || fail "report.md header"
cmp -s "$work/printed" "$work/report.txt" || fail "report: printed table differs from report.txt"
if grep '^case ' "$work/r2.txt" | grep -q "prefetch=64M"; then
  fail "report: a prefetch=64M column without samples"
fi
echo "bench helpers: ok"

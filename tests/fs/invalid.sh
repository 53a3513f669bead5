#!/usr/bin/env bash
# Invalid manifests are skipped with every error logged (stderr with -f),
# the valid ones beside them are served; two manifests claiming one archive
# name at startup are both reported and neither is served, unless one is
# named after it. A served manifest that stops loading keeps its last good
# version served (failing, logged once), until it loads again (recovered);
# a newcomer claiming a served name is refused. Startup fails, with a clear
# message and exit status 1, only when nothing can be mounted: a missing
# directory, a single manifest file that is invalid, a mount point that
# is the manifest directory itself or already has a mount; bad usage (an
# unknown option) exits 2. A single valid manifest file can be mounted by
# itself.
source "$(dirname "$0")/lib.sh"
require_fuse
models=$IRPA_TESTDATA/models
reference=$IRPA_TESTDATA/reference

mkdir -p "$work/manifests" "$work/staging"
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/manifests/dummy.yaml"
"$IRPA" manifest "$models/safetensors/overall.safetensors" -o "$work/manifests/a.yaml"
printf 'archive: same.irpa\n' >>"$work/manifests/a.yaml"
cp "$work/manifests/a.yaml" "$work/manifests/b.yaml"
# named.yaml and other.yaml both claim named.irpa: the one named after it wins
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/manifests/named.yaml"
printf 'archive: named.irpa\n' >>"$work/manifests/named.yaml"
"$IRPA" manifest "$models/safetensors/overall.safetensors" -o "$work/manifests/other.yaml"
printf 'archive: named.irpa\n' >>"$work/manifests/other.yaml"
cat >"$work/manifests/broken.yaml" <<'YAML'
sources:
  s0: missing-model.gguf
entries:
  - name: x
    source: elsewhere
    offset: 0
    length: 16
  - name: y
    source: nowhere
    offset: 0
    length: 16
YAML
cat >"$work/manifests/missing.yaml" <<'YAML'
sources:
  s0: missing-model.gguf
entries:
  - name: x
    source: s0
    offset: 0
    length: 16
YAML
printf 'entries: [\n' >"$work/manifests/syntax.yml"
printf 'not a manifest' >"$work/manifests/notes.txt"
start_irpafs server "$work/manifests" "$work/mnt"
log=$work/server.log
mnt=$work/mnt
[ "$(ls "$mnt" | tr '\n' ' ')" = "dummy.irpa named.irpa " ] || fail "listing: $(ls "$mnt")"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa"
cmp "$mnt/named.irpa" "$reference/dummy.irpa" || fail "named.irpa not from named.yaml"
grep -q "other.yaml refused: archive name 'named.irpa' goes to the one named after it, manifest .*/named.yaml" \
  "$log" || fail "other.yaml not refused: $(cat "$log")"
grep -q "manifest .*/broken.yaml is invalid and is not served (2 errors)" "$log" \
  || fail "broken.yaml not reported: $(cat "$log")"
grep -q "broken.yaml:.*elsewhere" "$log" || fail "unknown source key not reported"
grep -q "broken.yaml:.*nowhere" "$log" || fail "second unknown source key not reported"
grep -q "missing.yaml:.*missing-model.gguf" "$log" || fail "missing source not reported"
grep -q "manifest .*/syntax.yml is invalid" "$log" || fail "syntax.yml not reported"
grep -q "a.yaml: archive name 'same.irpa' is claimed by 2 manifests" "$log" || fail "duplicate a"
grep -q "b.yaml: archive name 'same.irpa' is claimed by 2 manifests" "$log" || fail "duplicate b"
grep -q "notes.txt" "$log" && fail "a non-manifest file was read"
grep -q "^irpafs: serving 2 archives from $work/manifests at $mnt\$" "$log" || fail "start: $(cat "$log")"
# fixing the duplicate serves the remaining one
rm "$work/manifests/b.yaml"
wait_for test -f "$mnt/same.irpa" || fail "same.irpa not served once unique"
cmp "$mnt/same.irpa" "$reference/overall.irpa"
grep -q "archive same.irpa added (manifest $work/manifests/a.yaml, " "$log" || fail "added: $(cat "$log")"

# A newcomer claiming a served name is refused; the served one stays.
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/staging/c.yaml"
printf 'archive: same.irpa\n' >>"$work/staging/c.yaml"
cp "$work/staging/c.yaml" "$work/manifests/c.yaml"
refused() { grep -q "c.yaml refused: archive name 'same.irpa' is already served from manifest .*/a.yaml" "$log"; }
wait_for refused || fail "newcomer not refused: $(cat "$log")"
cmp "$mnt/same.irpa" "$reference/overall.irpa" || fail "the newcomer took same.irpa"

# A typo in a served manifest: its last good version stays, the error is
# logged once with its place; the fix is served and logged as recovered.
cp "$work/manifests/dummy.yaml" "$work/dummy.good"
sed -i 's/^entries:/exclud: x\nentries:/' "$work/manifests/dummy.yaml"
failing() { grep -q "archive dummy.irpa failing: manifest $work/manifests/dummy.yaml does not load (1 error); its last good version stays served" "$log"; }
wait_for failing || fail "failing not logged: $(cat "$log")"
grep -q "dummy.yaml:4:1: unknown key 'exclud'" "$log" || fail "the error's place: $(cat "$log")"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa" || fail "the last good version is not served"
inode_good=$(stat -c %i "$mnt/dummy.irpa")
# nothing more is logged about it while it stays the same (SIGHUP rescans
# at once; a manifest added after it shows the rescan is done)
kill -HUP "$server_pid"
cp "$work/dummy.good" "$work/manifests/later.yaml"
wait_for test -e "$mnt/later.irpa" || fail "later.irpa not served"
[ "$(grep -c "exclud" "$log")" -eq 1 ] || fail "the error was logged more than once: $(cat "$log")"
# a second manifest claiming the failing archive's name is refused too
cp "$work/staging/c.yaml" "$work/manifests/d.yaml"
sed -i 's/^archive: same.irpa/archive: dummy.irpa/' "$work/manifests/d.yaml"
wait_for grep -q "d.yaml refused: archive name 'dummy.irpa' is already served" "$log" \
  || fail "claim on a failing archive not refused: $(cat "$log")"
[ "$(stat -c %i "$mnt/dummy.irpa")" = "$inode_good" ] || fail "the failing archive changed"
rm "$work/manifests/d.yaml"
cp "$work/dummy.good" "$work/manifests/dummy.yaml"
recovered() { grep -q "archive dummy.irpa recovered: its manifest loads again (manifest $work/manifests/dummy.yaml, " "$log"; }
wait_for recovered || fail "recovery not logged: $(cat "$log")"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa"
# broken again, then deleted: the archive goes with its manifest
printf 'entries: [\n' >"$work/manifests/dummy.yaml"
failing_twice() { [ "$(grep -c "archive dummy.irpa failing" "$log")" -eq 2 ]; }
wait_for failing_twice || fail "second failure not logged: $(cat "$log")"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa" || fail "the last good version is not served"
rm "$work/manifests/dummy.yaml"
wait_for test ! -e "$mnt/dummy.irpa" || fail "a deleted failing manifest is still served"
grep -q "archive dummy.irpa removed (manifest $work/manifests/dummy.yaml)" "$log" || fail "removal: $(cat "$log")"
# A failing manifest whose own permissions are tightened (chmod 600: its
# names and metadata are in the archive) takes its last good version away:
# the archive's mode was computed with the manifest's old bits.
cp "$work/dummy.good" "$work/manifests/tight.yaml"
wait_for test -e "$mnt/tight.irpa" || fail "tight.irpa not served"
printf 'entries: [\n' >"$work/manifests/tight.yaml"
tight_failing() { grep -q "archive tight.irpa failing" "$log"; }
wait_for tight_failing || fail "tight.yaml: failing not logged: $(cat "$log")"
chmod 600 "$work/manifests/tight.yaml"
wait_for test ! -e "$mnt/tight.irpa" || fail "a failing manifest made 0600 still serves its old version"

# A second mount on the same mount point is refused; the first stays.
status=0
"$IRPAFS" -f "$work/manifests" "$mnt" >"$work/fail.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "mounting over a mount: exit status $status: $(cat "$work/fail.log")"
grep -q "^irpafs: the mount point $mnt already has fuse.irpafs from $work/manifests mounted on it; unmount it first" \
  "$work/fail.log" || fail "mounting over a mount: $(cat "$work/fail.log")"
[ "$(grep -c " $mnt " /proc/self/mountinfo)" -eq 1 ] || fail "stacked: $(grep " $mnt " /proc/self/mountinfo)"
cmp "$mnt/same.irpa" "$reference/overall.irpa" || fail "the first mount broke"
stop_irpafs "$mnt" "$server_pid"
grep -q "^irpafs: stopped serving $work/manifests at $mnt: unmounted\$" "$log" || fail "stop: $(cat "$log")"
cp "$work/dummy.good" "$work/manifests/dummy.yaml"

startup_fails() {  # DESCRIPTION MESSAGE_PATTERN ARGS...
  local what=$1 pattern=$2 status=0; shift 2
  mkdir -p "$work/mnt"
  "$IRPAFS" -f "$@" "$work/mnt" >"$work/fail.log" 2>&1 || status=$?
  [ "$status" -eq 1 ] || fail "$what: exit status $status, expected 1: $(cat "$work/fail.log")"
  grep -q "$pattern" "$work/fail.log" || fail "$what: message: $(cat "$work/fail.log")"
  mountpoint -q "$work/mnt" && fail "$what: left a mount"
  return 0
}
# Bad usage exits 2, with libfuse's message naming the option.
usage_fails() {  # MESSAGE_PATTERN ARGS...
  local pattern=$1 status=0; shift
  "$IRPAFS" -f "$@" >"$work/usage.log" 2>&1 || status=$?
  [ "$status" -eq 2 ] || fail "irpafs $*: exit status $status, expected 2: $(cat "$work/usage.log")"
  grep -q -- "$pattern" "$work/usage.log" || fail "irpafs $*: $(cat "$work/usage.log")"
  mountpoint -q "$work/mnt" && fail "irpafs $*: left a mount"
  return 0
}
usage_fails "unknown option(s): \`--bogus'" --bogus "$work/manifests" "$work/mnt"
usage_fails "unknown option(s): \`-o bogus'" -o bogus "$work/manifests" "$work/mnt"
usage_fails "invalid parameter in option \`readahead_kb=many'" -o readahead_kb=many "$work/manifests" "$work/mnt"
usage_fails "invalid argument \`extra'" "$work/manifests" "$work/mnt" extra
usage_fails "^usage: " "$work/manifests"

startup_fails "missing directory" "cannot serve .*/nowhere: No such file or directory" "$work/nowhere"
status=0
"$IRPAFS" -f "$work/manifests" "$work/no-mnt" >"$work/fail.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "missing mount point: exit status $status: $(cat "$work/fail.log")"
grep -q "mount point $work/no-mnt: No such file or directory" "$work/fail.log" || fail "$(cat "$work/fail.log")"
startup_fails "invalid single manifest" "nothing to mount: .*missing.yaml is not a valid manifest" \
  "$work/manifests/missing.yaml"
grep -q "missing.yaml:.*missing-model.gguf" "$work/fail.log" || fail "single: errors not listed"

status=0
"$IRPAFS" -f "$work/manifests" "$work/manifests" >"$work/fail.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "mounting over the manifest directory: exit status $status"
grep -q "cannot be the manifest directory itself" "$work/fail.log" || fail "$(cat "$work/fail.log")"
mountpoint -q "$work/manifests" && fail "mounted over the manifest directory"

# A single valid manifest file is served by itself, and reloads when changed.
start_irpafs single "$work/manifests/dummy.yaml" "$mnt"
[ "$(ls "$mnt")" = dummy.irpa ] || fail "single manifest listing: $(ls "$mnt")"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa"
stop_irpafs "$mnt" "$server_pid"

# An empty directory mounts (empty), and shows manifests added later.
mkdir -p "$work/empty"
start_irpafs empty "$work/empty" "$mnt"
grep -q "no valid manifest in .*/empty yet" "$work/empty.log" || fail "empty dir not reported"
cp "$work/manifests/dummy.yaml" "$work/empty/"
sed -i "s#\"\\.\\./#\"../#" "$work/empty/dummy.yaml"  # same relative depth: sources still resolve
wait_for test -f "$mnt/dummy.irpa" || fail "manifest added to an empty mount not visible"
stop_irpafs "$mnt" "$server_pid"
echo "ok: invalid and duplicate manifests reported, valid ones served, last good versions kept, startup failures clear"

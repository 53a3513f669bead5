#!/usr/bin/env bash
# A manifest is loaded only once its writer is done (closed, or renamed into
# the directory), never on a quiet period alone. Two writers pause halfway
# (the first entry written; the rest once the test says so, after a pause
# longer than the periodic rescan, so that a rescan falls inside it): one
# writes a new manifest, the other rewrites a served one in place. While
# they pause, the mount shows nothing for the new one and the previous
# version of the other, never the half-written one; once they close, both
# archives are whole, each loaded once (one "added", one "replaced" in the
# log).
source "$(dirname "$0")/lib.sh"
require_fuse
models=$IRPA_TESTDATA/models
reference=$IRPA_TESTDATA/reference
pause_checks=30  # 0.2 s apart: longer than the 5 s periodic rescan

mkdir -p "$work/manifests" "$work/staging"
"$IRPA" manifest "$models/gguf/llama-2-tiny-random.gguf" -o "$work/staging/full.yaml"
# (staging and manifests are siblings: the relative source paths resolve alike)
"$IRPA" build -q "$work/staging/full.yaml" -o "$work/full.irpa"
entries=$(grep -c '^  - name:' "$work/staging/full.yaml")
[ "$entries" -gt 1 ] || fail "the test manifest has $entries entries"
# its first 8 lines are a valid manifest of one entry: what a loader that
# does not wait would serve
head -8 "$work/staging/full.yaml" >"$work/staging/first.yaml"
"$IRPA" check "$work/staging/first.yaml" | grep -q '1 entr' || fail "the first 8 lines are not one entry"
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/manifests/old.yaml"
start_irpafs server "$work/manifests" "$work/mnt"
mnt=$work/mnt
log=$work/server.log
cmp "$mnt/old.irpa" "$reference/dummy.irpa"

# Whether file GO exists, or the test ended (a failure's cleanup removed
# $work): a paused writer then goes on, and the test does not hang.
go_on() { [ -e "$1" ] || [ ! -d "$work" ]; }
# Writes the first 8 lines of full.yaml to MANIFEST, waits for file GO, writes the rest.
write_pausing() {  # MANIFEST GO
  (head -8 "$work/staging/full.yaml"
   until go_on "$2"; do sleep 0.05; done
   tail -n +9 "$work/staging/full.yaml" 2>/dev/null) >"$1"
}
write_pausing "$work/manifests/new.yaml" "$work/go" &
new_writer=$!
write_pausing "$work/manifests/old.yaml" "$work/go" &
old_writer=$!
# Both have written their first entry (and paused, or are about to).
half_written() { [ "$(wc -l <"$1")" -ge 8 ]; }
wait_for half_written "$work/manifests/new.yaml" || fail "the first writer wrote nothing"
wait_for half_written "$work/manifests/old.yaml" || fail "the second writer wrote nothing"
for ((checks = 0; checks < pause_checks; checks++)); do
  [ -e "$mnt/new.irpa" ] &&
    fail "new.irpa served half-written ($(stat -c %s "$mnt/new.irpa") bytes) after $checks checks"
  cmp -s "$mnt/old.irpa" "$reference/dummy.irpa" ||
    fail "old.irpa served half-written ($(stat -c %s "$mnt/old.irpa") bytes) after $checks checks"
  sleep 0.2
done
touch "$work/go"
wait "$new_writer" "$old_writer"
whole() { cmp "$mnt/new.irpa" "$work/full.irpa" && cmp "$mnt/old.irpa" "$work/full.irpa"; }
wait_for whole || fail "not whole after the writers closed: $(ls -l "$mnt")"
[ "$(grep -c "archive new.irpa added" "$log")" -eq 1 ] || fail "new.irpa not added once: $(cat "$log")"
[ "$(grep -c "archive old.irpa replaced" "$log")" -eq 1 ] || fail "old.irpa not replaced once: $(cat "$log")"
grep -q "invalid\|failing" "$log" && fail "a half-written manifest was loaded: $(cat "$log")"

# A writer that pauses before its first byte (the file truncated, then
# written) is waited for too; and an editor's rename into place is loaded.
(until go_on "$work/go2"; do sleep 0.05; done; cat "$work/staging/first.yaml" 2>/dev/null) \
  >"$work/manifests/old.yaml" &
truncating_writer=$!
wait_for test ! -s "$work/manifests/old.yaml" || fail "the file was not truncated"
sleep 2  # longer than the watcher's quiet period and settle time
cmp "$mnt/old.irpa" "$work/full.irpa" || fail "an empty manifest was loaded"
touch "$work/go2"
wait "$truncating_writer"
one_entry() { [ "$(stat -c %s "$mnt/old.irpa")" != "$(stat -c %s "$work/full.irpa")" ]; }
wait_for one_entry || fail "the rewritten manifest was not loaded"
cp "$work/staging/full.yaml" "$work/manifests/.old.yaml.swp"
mv "$work/manifests/.old.yaml.swp" "$work/manifests/old.yaml"
wait_for cmp "$mnt/old.irpa" "$work/full.irpa" || fail "a manifest renamed into place was not loaded"
# A finished file linked in under its manifest name, its first name removed
# at once (the watcher may see one link when it looks): loaded, as is a
# file created without being opened for writing once it has content.
cp "$work/staging/full.yaml" "$work/manifests/.linked.tmp"
ln "$work/manifests/.linked.tmp" "$work/manifests/linked.yaml"
rm "$work/manifests/.linked.tmp"
wait_for cmp "$mnt/linked.irpa" "$work/full.irpa" || fail "a manifest linked in was not loaded"
stop_irpafs "$mnt" "$server_pid"
echo "ok: $pause_checks checks while two writers paused; loaded once each, when closed"

#!/usr/bin/env bash
# Invalid manifests are skipped with every error logged (stderr with -f),
# the valid ones beside them are served; two manifests claiming one archive
# name are both reported and neither is served. Startup fails, with a clear
# message and exit status 1, only when nothing can be mounted: a missing
# directory, a single manifest file that is invalid, or a mount point that
# is the manifest directory itself. A single valid
# manifest file can be mounted by itself.
source "$(dirname "$0")/lib.sh"
require_fuse
models=$IRPA_TESTDATA/models
reference=$IRPA_TESTDATA/reference

mkdir -p "$work/manifests"
"$IRPA" manifest "$models/gguf/dummy.gguf" -o "$work/manifests/dummy.yaml"
"$IRPA" manifest "$models/safetensors/overall.safetensors" -o "$work/manifests/a.yaml"
printf 'archive: same.irpa\n' >>"$work/manifests/a.yaml"
cp "$work/manifests/a.yaml" "$work/manifests/b.yaml"
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
[ "$(ls "$mnt")" = dummy.irpa ] || fail "listing: $(ls "$mnt")"
cmp "$mnt/dummy.irpa" "$reference/dummy.irpa"
grep -q "manifest .*/broken.yaml is invalid and is not served (2 errors)" "$log" \
  || fail "broken.yaml not reported: $(cat "$log")"
grep -q "broken.yaml:.*elsewhere" "$log" || fail "unknown source key not reported"
grep -q "broken.yaml:.*nowhere" "$log" || fail "second unknown source key not reported"
grep -q "missing.yaml:.*missing-model.gguf" "$log" || fail "missing source not reported"
grep -q "manifest .*/syntax.yml is invalid" "$log" || fail "syntax.yml not reported"
grep -q "a.yaml: archive name 'same.irpa' is claimed by 2 manifests" "$log" || fail "duplicate a"
grep -q "b.yaml: archive name 'same.irpa' is claimed by 2 manifests" "$log" || fail "duplicate b"
grep -q "notes.txt" "$log" && fail "a non-manifest file was read"
# fixing the duplicate serves the remaining one
rm "$work/manifests/b.yaml"
wait_for test -f "$mnt/same.irpa" || fail "same.irpa not served once unique"
cmp "$mnt/same.irpa" "$reference/overall.irpa"
stop_irpafs "$mnt" "$server_pid"

startup_fails() {  # DESCRIPTION MESSAGE_PATTERN ARGS...
  local what=$1 pattern=$2 status=0; shift 2
  mkdir -p "$work/mnt"
  "$IRPAFS" -f "$@" "$work/mnt" >"$work/fail.log" 2>&1 || status=$?
  [ "$status" -eq 1 ] || fail "$what: exit status $status, expected 1: $(cat "$work/fail.log")"
  grep -q "$pattern" "$work/fail.log" || fail "$what: message: $(cat "$work/fail.log")"
  mountpoint -q "$work/mnt" && fail "$what: left a mount"
  return 0
}
startup_fails "missing directory" "cannot serve .*/nowhere: No such file or directory" "$work/nowhere"
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
echo "ok: invalid and duplicate manifests reported, valid ones served, startup failures clear"

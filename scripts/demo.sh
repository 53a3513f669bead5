#!/usr/bin/env bash
# The main job, end to end, on a sample model generated here: installs what is
# missing (Debian 12, as root), builds, writes a manifest over the sample,
# mounts the directory of manifests with irpafs, lists and reads the archive,
# copies it out and compares it with `irpa build`'s file, and unmounts.
#
#   scripts/demo.sh [WORKDIR]      (default: a new temporary directory, kept)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"

build="$root/build-demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "build (release)"
# -Dtests=enabled: the sample model comes from tests/make_model.
[ -d "$build" ] || meson setup "$build" -Dbuildtype=release -Dtests=enabled >/dev/null
ninja -C "$build" >/dev/null
irpa="$build/core/cli/irpa"
irpafs="$build/fs/irpafs"
make_model="$build/tests/make_model"

work=${1:-$(mktemp -d /tmp/irpafs-demo.XXXXXX)}
mkdir -p "$work/manifests" "$work/mnt"
cd "$work"

step "a small sample model: safetensors, 24 tensors"
run "$make_model" sample.safetensors 8 24
ls -l sample.safetensors

step "a manifest: every tensor but the k projections, renamed, plus a splat"
cat >manifests/sample.yaml <<'YAML'
# The archive appears as sample.irpa in the mount.
sources:
  st: ../sample.safetensors
entries:
  - source: st                        # every tensor of the file, in its order...
    exclude: ["*.k_proj.*"]           # ...but these
    rename: [{from: "model.", to: ""}]
  - name: extra.scale                 # a parameter that is not in the file
    splat: {type: f32, value: 1.0}
    length: 4096
YAML
cat manifests/sample.yaml
run "$irpa" check manifests/sample.yaml

step "irpa build: the archive as a real file"
run "$irpa" build manifests/sample.yaml -o built.irpa
ls -l built.irpa

step "irpa inspect"
run "$irpa" inspect built.irpa >inspect.txt
head -12 inspect.txt

step "mount the directory of manifests"
run "$irpafs" manifests mnt
trap 'fusermount3 -u "$work/mnt" 2>/dev/null || true' EXIT
run ls -l mnt
step "hexdump -C of the mounted archive (header and first entry)"
hexdump -C -n 256 mnt/sample.irpa
step "irpa inspect on the mounted file (it maps the file as IREE does)"
run "$irpa" inspect mnt/sample.irpa >inspect-mounted.txt
head -8 inspect-mounted.txt
step "cp out of the mount, and compare with irpa build's file"
run cp mnt/sample.irpa copied.irpa
run cmp copied.irpa built.irpa && echo "identical: $(stat -c %s copied.irpa) bytes"
step "unmount"
run fusermount3 -u mnt
trap - EXIT
echo
echo "demo done; files are in $work"

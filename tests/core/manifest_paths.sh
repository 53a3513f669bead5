#!/usr/bin/env bash
# `irpa manifest` writes each source path as the user gave it, made absolute
# with symlinks kept, so the manifest still works once copied elsewhere (the
# README's flow: write it, cp it to /srv/manifests); --relative writes paths
# relative to the manifest's folder, for a tree moved as a whole.
set -euo pipefail
: "${IRPA:?} ${IRPA_TESTDATA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
models=$IRPA_TESTDATA/models
cd "$work"
mkdir -p elsewhere/deep tree/manifests
ln -s "$models" linked   # a symlinked models folder, typed relative

# Written to a file in the current directory, then copied elsewhere.
"$IRPA" manifest linked/gguf/dummy.gguf -o m.yaml
grep -qxF "  s0: \"$work/linked/gguf/dummy.gguf\"" m.yaml   # absolute, link kept
cp m.yaml elsewhere/deep/
"$IRPA" check elsewhere/deep/m.yaml >/dev/null
# Same with standard output redirected.
"$IRPA" manifest ./linked/./gguf/dummy.gguf >stdout.yaml
grep -qxF "  s0: \"$work/linked/gguf/dummy.gguf\"" stdout.yaml
cp stdout.yaml elsewhere/deep/
(cd / && "$IRPA" check "$work/elsewhere/deep/stdout.yaml" >/dev/null)
# A sharded model through its index: each shard absolute, under the link.
"$IRPA" manifest linked/safetensors/sharded/model.safetensors.index.json -o - >shards.yaml
grep -qxF "  s0: \"$work/linked/safetensors/sharded/model-00001-of-00006.safetensors\"" shards.yaml
cp shards.yaml elsewhere/
# only the shards are listed, each once (not the index they came from)
"$IRPA" check elsewhere/shards.yaml | grep -q ", 6 source files$"

# --relative: a tree moved as a whole keeps working, and the link is kept.
mkdir -p tree/models && ln -s "$models/gguf/dummy.gguf" tree/models/dummy.gguf
(cd tree && "$IRPA" manifest --relative models/dummy.gguf -o manifests/m.yaml)
grep -qxF '  s0: "../models/dummy.gguf"' tree/manifests/m.yaml
# with standard output, relative to the current directory
(cd tree && "$IRPA" manifest --relative models/dummy.gguf) | grep -qxF '  s0: "models/dummy.gguf"'
mv tree moved
"$IRPA" check moved/manifests/m.yaml >/dev/null
(cd moved/manifests && "$IRPA" check m.yaml >/dev/null)
echo "ok: manifests written by irpa manifest survive being copied or moved"

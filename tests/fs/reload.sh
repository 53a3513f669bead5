#!/usr/bin/env bash
# Reloading under load: one manifest is replaced (by rename, as tools do)
# between two versions of different size, again and again, while threads
# keep opening the file and reading or mapping all of it. Every open must
# see one whole version, never a mix and never an error; the server must
# stay up, and in the end serve the last version. (The replacements are
# paced only to let several reloads happen; nothing asserts on timing.)
source "$(dirname "$0")/lib.sh"
require_fuse
: "${RELOAD_READS:?}"
models=$IRPA_TESTDATA/models
reference=$IRPA_TESTDATA/reference

mkdir -p "$work/manifests"
"$IRPA" manifest "$models/gguf/llama-2-tiny-random.gguf" -o "$work/manifests/.a.yaml"
"$IRPA" manifest "$models/gguf/llama-2-tiny-random.gguf" --exclude output.weight \
  --rename token_embd.weight=model.embed_tokens.weight --splat blk.0.ffn_norm.weight=f32=1.0 \
  -o "$work/manifests/.b.yaml"
# (hidden names: irpafs ignores them; same directory: same relative paths)
for v in a b; do printf 'archive: model.irpa\n' >>"$work/manifests/.$v.yaml"; done
cp "$work/manifests/.a.yaml" "$work/manifests/model.yaml"
start_irpafs server "$work/manifests" "$work/mnt"

replace_with() {  # a|b
  cp "$work/manifests/.$1.yaml" "$work/manifests/.model.yaml.tmp"
  mv "$work/manifests/.model.yaml.tmp" "$work/manifests/model.yaml"
}
declare -A expected=([a]="$reference/llama-2-tiny-random.irpa" [b]="$reference/tiny-edit.irpa")
# Each round: replace the manifest while 6 threads open and read (which
# version each open sees depends on timing and is not asserted: only that
# it is whole); then, once the new version shows, it is what is served.
for round in $(seq 15); do
  for v in b a; do
    replace_with "$v" &
    replacer=$!
    "$RELOAD_READS" "$work/mnt/model.irpa" "${expected[a]}" "${expected[b]}" 6 12 \
      >>"$work/reads.txt" || fail "round $round: reads during a reload failed"
    wait "$replacer"
    shows() { drop_cache "$work/mnt/model.irpa"; cmp "$work/mnt/model.irpa" "${expected[$v]}"; }
    wait_for shows || fail "round $round: version $v not served after reload"
    kill -0 "$server_pid" || fail "server died"
  done
done
awk '{a += $2; b += $5} END {print "opens during reloads: " a " saw A, " b " saw B"}' "$work/reads.txt"
grep -qi "error" "$work/server.log" && fail "errors logged: $(cat "$work/server.log")"
stop_irpafs "$work/mnt" "$server_pid"
echo "ok: 30 reloads under concurrent opens; every open saw one whole version"

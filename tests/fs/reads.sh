#!/usr/bin/env bash
# Reading the mounted file as IREE and as many readers do:
#  - a program maps it MAP_SHARED, PROT_READ and checks every byte;
#  - 8 threads read random offsets and sizes (some up to 4 MiB, some past
#    the end) for a bounded number of reads, dropping the page cache now
#    and then, and get exactly the bytes `irpa build` writes.
# The archive draws from two sources (a synthetic 40 MiB safetensors model
# whose data starts unaligned, and a GGUF) and has splats and padding.
source "$(dirname "$0")/lib.sh"
require_fuse
: "${MAKE_MODEL:?} ${CHECK_MMAP:?} ${CONCURRENT_READS:?}"

mkdir -p "$work/manifests"
"$MAKE_MODEL" "$source_dir/synthetic.safetensors" 40 300 >/dev/null
copy_model gguf/llama-2-tiny-random.gguf "$source_dir/llama.gguf"
"$IRPA" manifest "$source_dir/synthetic.safetensors" "$source_dir/llama.gguf" \
  --splat 'blk.0.*' --splat 'model.layers.1.mlp.up_proj.*=f32=1.0' --splat 'model.layers.1.*' \
  -o "$work/manifests/mixed.yaml"
grep -q 'splat' "$work/manifests/mixed.yaml" || fail "no splat in the test manifest"
"$IRPA" build -q "$work/manifests/mixed.yaml" -o "$work/mixed.irpa"

start_irpafs server "$work/manifests" "$work/mnt"
served=$work/mnt/mixed.irpa
"$CHECK_MMAP" "$served" "$work/mixed.irpa"
"$CONCURRENT_READS" "$served" "$work/mixed.irpa" 8 1500
# and once more on a cold cache, mapped
drop_cache "$served"
"$CHECK_MMAP" "$served" "$work/mixed.irpa"
cmp "$served" "$work/mixed.irpa"
stop_irpafs "$work/mnt" "$server_pid"

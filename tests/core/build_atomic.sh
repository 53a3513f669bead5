#!/usr/bin/env bash
# `irpa build` is atomic: a failed or interrupted build leaves neither the
# output nor a temporary file, and never replaces an existing output.
set -euo pipefail
: "${IRPA:?}"
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work"
head -c 100000 /dev/urandom >src.bin
cat >ok.yaml <<'YAML'
sources: {s: src.bin}
entries:
  - {name: a, source: s, offset: 0, length: 1000}
  - {name: b, splat: {type: f32, value: 1.0}, length: 64}
YAML
"$IRPA" build ok.yaml -o out.irpa 2>err.txt
[ ! -s err.txt ] || { echo "stderr is not a terminal: no progress expected"; cat err.txt; exit 1; }
[ -f out.irpa ] && [ "$(stat -c %s out.irpa)" -eq 4096 ]
cp out.irpa before.irpa
cp src.bin before.src

# 1. A bad manifest: exit 2, the existing output untouched, no temporary file.
cat >bad.yaml <<'YAML'
sources: {s: src.bin}
entries:
  - {name: a, source: s, offset: 99999, length: 2}
YAML
status=0; "$IRPA" build bad.yaml -o out.irpa 2>err.txt || status=$?
[ "$status" -eq 2 ] || { echo "expected exit 2, got $status"; exit 1; }
grep -q 'bad.yaml:3:.*past the end of source.*(100000 bytes)' err.txt || { cat err.txt; exit 1; }
[ "$(wc -l <err.txt)" -eq 1 ]
cmp out.irpa before.irpa

# 2. An unwritable output directory: exit 1, nothing created.
mkdir ro && chmod 0555 ro
if [ "$(id -u)" -ne 0 ]; then
  status=0; "$IRPA" build ok.yaml -o ro/x.irpa 2>err.txt || status=$?
  [ "$status" -eq 1 ] && [ -z "$(ls -A ro)" ]
fi

# 3. The destination is checked before a byte is written: under a 1 KiB file
#    size limit (the archive is 4 KiB) a build that started writing would be
#    killed by SIGXFSZ; these must end with one line naming the path, exit 1.
refused() {  # refused OUT MESSAGE
  status=0; (ulimit -f 1; exec "$IRPA" build ok.yaml -o "$1") 2>err.txt || status=$?
  [ "$status" -eq 1 ] && [ "$(cat err.txt)" = "irpa build: $2" ] \
    || { echo "-o '$1': exit $status, expected 1 and 'irpa build: $2':"; cat err.txt; exit 1; }
}
refused no/such/dir/x.irpa "no/such/dir/x.irpa: directory 'no/such/dir': does not exist"
refused newdir/ "newdir/: no such directory"
refused ok.yaml/x.irpa "ok.yaml/x.irpa: 'ok.yaml' is not a directory"
refused src.bin "src.bin: is a source of this archive; building would replace it"
cmp -s src.bin before.src || { echo "the source was replaced"; exit 1; }
cp ok.yaml ok.yaml.before
refused ok.yaml "ok.yaml: is the manifest of this archive; building would replace it"
cmp -s ok.yaml ok.yaml.before || { echo "the manifest was replaced"; exit 1; }
# A symbolic link is replaced by the new file, not followed: -o a link to a
# source writes the archive in the link's place and leaves the source alone.
ln -s src.bin link.irpa
"$IRPA" build ok.yaml -o link.irpa
[ -f link.irpa ] && [ ! -L link.irpa ] && cmp -s link.irpa out.irpa && cmp -s src.bin before.src \
  || { echo "-o a symlink to a source: not replaced as expected"; ls -l link.irpa; exit 1; }
rm link.irpa
mkfifo fifo
refused fifo "fifo: exists and is not a regular file (irpa build replaces OUT with a new file; \
-o - writes to standard output)"
[ -p fifo ] && rm fifo
mkdir -p taken/ok.irpa
refused taken "taken/ok.irpa: is a directory"
rmdir taken/ok.irpa taken

if [ "$(id -u)" -eq 0 ]; then  # root writes anywhere; /proc takes no files
  status=0; (ulimit -f 1; exec "$IRPA" build ok.yaml -o /proc/irpa-test.irpa) 2>err.txt || status=$?
  [ "$status" -eq 1 ] && grep -q '^irpa build: /proc/irpa-test.irpa: ' err.txt \
    || { echo "/proc: exit $status"; cat err.txt; exit 1; }
else
  refused ro/x.irpa "ro/x.irpa: cannot create files in directory 'ro': Permission denied"
fi

# 3b. A file-size limit hit while writing (ulimit -f 1: the archive is 4 KiB) is
#     a write error like a full disk: exit 1, one line, nothing left behind.
status=0; (ulimit -f 1; exec "$IRPA" build ok.yaml -o limited.irpa) 2>err.txt || status=$?
[ "$status" -eq 1 ] && grep -q 'File too large' err.txt && [ "$(wc -l <err.txt)" -eq 1 ] \
  || { echo "file-size limit: exit $status:"; cat err.txt; exit 1; }
[ -z "$(ls -A | grep -E '^(limited|\.limited)')" ] || { echo "left behind:"; ls -A; exit 1; }

# 4. -o DIR writes DIR/<archive name>: the manifest's 'archive:', else its
#    file name with .irpa.
mkdir outdir
"$IRPA" build ok.yaml -o outdir && cmp outdir/ok.irpa out.irpa
"$IRPA" build ok.yaml -o outdir/ && cmp outdir/ok.irpa out.irpa
{ echo 'archive: other.irpa'; cat ok.yaml; } >named.yaml
"$IRPA" build named.yaml -o outdir && cmp outdir/other.irpa out.irpa
[ "$(ls -A outdir | sort | tr '\n' ' ')" = "ok.irpa other.irpa " ] || { ls -A outdir; exit 1; }
# The longest archive name a file system takes (255 bytes) builds too: the
# temporary file's name beside it stays within that limit.
long=$(printf 'x%.0s' $(seq 250)).irpa
{ echo "archive: $long"; cat ok.yaml; } >long.yaml
"$IRPA" build long.yaml -o outdir && cmp "outdir/$long" out.irpa
rm -r outdir

# 5. Interrupted: a large (sparse) build killed with SIGINT and SIGTERM leaves
#    either nothing or the complete file, and no temporary file.
truncate -s 3G big.bin
cat >big.yaml <<'YAML'
sources: {s: big.bin}
entries:
  - {name: all, source: s, offset: 0, length: 3221225472}
YAML
for signal in INT TERM; do
  "$IRPA" build big.yaml -o big.irpa & pid=$!
  sleep 0.3
  kill -s "$signal" "$pid" 2>/dev/null || true
  wait "$pid" || true
  leftovers=$(ls -A | grep '^\.big\.irpa\.' || true)
  [ -z "$leftovers" ] || { echo "temporary file left after SIG$signal: $leftovers"; exit 1; }
  if [ -e big.irpa ]; then [ "$(stat -c %s big.irpa)" -eq $((3221225472 + 4096)) ]; fi
  rm -f big.irpa
done

# 6. On a terminal, a progress bar with bytes, rate and time left.
if command -v script >/dev/null; then
  script -qec "'$IRPA' build ok.yaml -o tty.irpa" /dev/null >tty.txt
  grep -q '4.0 KiB / 4.0 KiB.*/s.*left' tty.txt || { echo "no progress bar:"; cat -v tty.txt; exit 1; }
  cmp tty.irpa out.irpa && rm tty.irpa
fi

# 7. No temporary files after any of the above.
[ -z "$(ls -A | grep '^\.' || true)" ]
echo ok

#!/usr/bin/env bash
# What `ninja install` installs, and a build without the tests:
#  1. the test build's `meson install --destdir` puts every file where it
#     belongs (programs, man pages, irpafs@.service, bash completion, every
#     example manifest and the example mount unit);
#  2. with cmocka hidden from pkg-config, -Dtests=enabled fails to configure,
#     and -Dtests=disabled configures, builds and installs (to a prefix),
#     with nothing in the build referring to cmocka;
#  3. the installed man pages have no groff warnings (and no mandoc lint,
#     when mandoc is installed), and `man` finds each by name;
#  4. systemd-analyze verify accepts the installed template unit (as an
#     instance) and the example mount unit, when systemd-analyze is here.
set -euo pipefail
build=${IRPA_BUILD_ROOT:?} source_root=${IRPA_SOURCE_ROOT:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_installed ROOT PREFIX: every file `ninja install` puts under ROOT,
# installed for PREFIX (ROOT is PREFIX, or DESTDIR/PREFIX).
expect_installed() {
  local root=$1 prefix=$2 example
  local files=(bin/irpa bin/irpafs share/man/man1/irpa.1 share/man/man8/irpafs.8
               share/man/man5/irpa-manifest.5 lib/systemd/system/irpafs@.service
               share/bash-completion/completions/irpa share/doc/irpafs/examples/srv-models.mount)
  for example in "$source_root"/manifests/examples/*; do
    files+=("share/doc/irpafs/examples/${example##*/}")
  done
  for file in "${files[@]}"; do
    [ -s "$root/$file" ] || fail "not installed: $root/$file"
  done
  [ -x "$root/bin/irpa" ] && [ -x "$root/bin/irpafs" ] || fail "programs not executable in $root/bin"
  grep -q "^ExecStart=$prefix/bin/irpafs " "$root/lib/systemd/system/irpafs@.service" ||
    fail "irpafs@.service does not start $prefix/bin/irpafs"
}

# 1. The test build, installed under a DESTDIR (its prefix as configured).
meson install -C "$build" --no-rebuild --quiet --destdir "$work/destdir" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; exit 1; }
expect_installed "$work/destdir${IRPA_PREFIX:?}" "$IRPA_PREFIX"
count=$(find "$work/destdir" -type f | wc -l)
echo "install: $count files under DESTDIR$IRPA_PREFIX"

# 2. cmocka hidden: a pkg-config search path with every .pc file but cmocka's.
mkdir "$work/pkgconfig"
IFS=: read -r -a pc_dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for dir in "${pc_dirs[@]}"; do
  for pc in "$dir"/*.pc; do
    [ -e "$pc" ] && [ "${pc##*/}" != cmocka.pc ] && ln -sf "$pc" "$work/pkgconfig/"
  done
done
# meson falls back to CMake's package search, which finds cmocka's CMake files:
# a cmake that fails hides them.
mkdir "$work/bin"
printf '#!/bin/sh\nexit 1\n' >"$work/bin/cmake"
chmod +x "$work/bin/cmake"
saved_path=$PATH
export PKG_CONFIG_LIBDIR=$work/pkgconfig PKG_CONFIG_PATH= PATH=$work/bin:$PATH
if meson setup "$work/build-enabled" "$source_root" -Dtests=enabled >"$work/enabled.log" 2>&1; then
  fail "-Dtests=enabled configured without cmocka (is it really hidden?)"
elif ! grep -q cmocka "$work/enabled.log"; then
  fail "-Dtests=enabled failed, but not for cmocka: $(tail -3 "$work/enabled.log")"
fi
prefix=$work/prefix
if ! meson setup "$work/build-disabled" "$source_root" -Dtests=disabled -Dbuildtype=plain \
     --prefix "$prefix" >"$work/disabled.log" 2>&1; then
  cat "$work/disabled.log" >&2
  fail "-Dtests=disabled does not configure without cmocka"
elif ! ninja -C "$work/build-disabled" >"$work/ninja.log" 2>&1 ||
     ! meson install -C "$work/build-disabled" --quiet >>"$work/ninja.log" 2>&1; then
  tail -20 "$work/ninja.log" >&2
  fail "-Dtests=disabled does not build and install"
else
  ! grep -qi cmocka "$work/build-disabled/build.ninja" || fail "build.ninja refers to cmocka"
  [ ! -e "$work/build-disabled/tests" ] || fail "tests/ was configured with -Dtests=disabled"
  expect_installed "$prefix" "$prefix"
  "$prefix/bin/irpa" --version >/dev/null || fail "the installed irpa does not run"
  echo "install: -Dtests=disabled configures, builds and installs without cmocka"
fi
unset PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
PATH=$saved_path

# 3. The man pages, as installed.
export MANPATH=$prefix/share/man MANWIDTH=80 LC_ALL=C.UTF-8
for page in irpa.1 irpafs.8 irpa-manifest.5; do
  section=${page##*.} name=${page%.*}
  file=$prefix/share/man/man$section/$page
  [ -f "$file" ] || continue
  if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$file" 2>&1) || fail "groff failed on $page"
    [ -z "$warnings" ] || fail "groff warnings in $page: $warnings"
  fi
  if command -v man >/dev/null; then
    warnings=$(man -l "$file" 2>&1 >/dev/null) || fail "man -l $page failed"
    [ -z "$warnings" ] || fail "man -l $page: $warnings"
    [ "$(man -w "$section" "$name" 2>/dev/null)" = "$file" ] || fail "man -w $section $name does not find $file"
  fi
  if command -v mandoc >/dev/null; then
    warnings=$(mandoc -Tlint -W warning "$file" 2>&1) || fail "mandoc -Tlint: $page: $warnings"
  fi
done
for linter in groff man mandoc; do  # scripts/deps.sh installs them
  command -v "$linter" >/dev/null || echo "install: $linter not installed: man pages not checked with it (SKIPPED part)"
done

# 4. The systemd units, as installed.
if command -v systemd-analyze >/dev/null; then
  units=$prefix/lib/systemd/system
  for unit in "$units/irpafs@srv-models.service" "$prefix/share/doc/irpafs/examples/srv-models.mount"; do
    if ! output=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$unit" 2>&1) || [ -n "$output" ]; then
      fail "systemd-analyze verify ${unit##*/}: $output"
    fi
  done
  echo "install: systemd-analyze verify: units ok"
else
  echo "install: systemd-analyze not installed: units not verified (SKIPPED part)"
fi

[ "$failures" -eq 0 ] || exit 1
echo "install: ok"

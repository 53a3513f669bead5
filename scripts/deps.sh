#!/usr/bin/env bash
# Installs the Debian 12 packages irpafs needs to build, test and demo.
# Does nothing when they are all there already; needs root otherwise.
set -euo pipefail

packages=(
  gcc clang libclang-rt-14-dev pkg-config meson ninja-build  # compilers (clang: ASan + libFuzzer)
  libfuse3-dev fuse3                                          # the FUSE server
  libyaml-dev libjansson-dev                                  # manifests, safetensors headers
  libcurl4-openssl-dev                                        # URL sources (core/http.c)
  libcmocka-dev                                               # unit tests
  nginx-light openssl                                         # tests/net: a real HTTP(S) server
  python3 bsdextrautils util-linux procps psmisc             # tests: json.tool, hexdump, mount tools
  groff-base man-db mandoc                                    # tests: man page lint
  sshfs openssh-server                                        # tests: sources on sshfs (fs-sshfs)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: run as root (or install these packages): ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages TimeCoin builds and tests with (DESIGN.md §2).
# Idempotent: installs only what is missing. Needs root (apt-get).
set -euo pipefail

pkgs=(
  build-essential pkg-config
  libsodium-dev liblmdb-dev libevent-dev libssl-dev libjansson-dev libinih-dev
  libcmocka-dev librust-blake3-dev
  clang libclang-rt-14-dev
  python3 python3-pytest python3-openssl python3-cryptography
  chromium  # headless, for test/functional/test_status_page.py
  # test/functional/test_install.py and make deb:
  systemd    # systemd-analyze verify / security on contrib/timed.service
  groff-base man-db  # the man pages render without warnings (groff -ww, man -l)
  dpkg-dev   # dpkg-shlibdeps computes the package's Depends
  gnuplot-nox  # test/e2e: the RSS and descriptor plot of a soak or crash loop
  iproute2   # test/e2e --netns: namespaces, veth pairs, a bridge
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-deps: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

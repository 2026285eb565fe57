#!/usr/bin/env bash
# Installs the system packages Winnow builds and tests with, when they are missing.
# Debian/Ubuntu only (apt-get); run as root, or with sudo available.
set -euo pipefail

# libsnappy-dev, liblz4-dev, libbrotli-dev: Parquet page codecs.
# fasttext: the C++ fastText CLI that the fastText parity test compares with.
packages=(libzstd-dev libxxhash-dev libsqlite3-dev libicu-dev zlib1g-dev libsnappy-dev liblz4-dev libbrotli-dev zstd pkg-config python3 python3-venv fasttext)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$d/swift" ] && { echo "note: swift found in $d; add it to PATH"; exit 0; }
  done
  echo "error: the Swift 6 toolchain is not installed (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

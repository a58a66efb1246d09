#!/usr/bin/env bash
# Installs what strata needs to build and test, from Debian's packages, when missing.
# Usage: scripts/install-deps.sh [--with-torch]   (--with-torch: PyTorch, for fixtures and
# the side-by-side comparisons, with OpenBLAS under it and GNU time; the build and the tests
# never need them)
set -euo pipefail

packages=(cmake g++ ninja-build python3 libeigen3-dev doctest-dev libbenchmark-dev)
if [[ "${1:-}" == "--with-torch" ]]; then
  # python3-torch links the generic libblas.so.3: without OpenBLAS to provide it, PyTorch's
  # products run on the reference BLAS, many times slower than PyTorch can be.
  packages+=(python3-torch libopenblas0-pthread time)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# deps.sh - checks the Debian packages mpx needs and installs the missing ones.
# As root it runs apt-get itself; otherwise it prints the one command to run and fails.
# Usage: scripts/deps.sh [--bench | --fuzz]   (what `make bench` / `make fuzz` add)
set -euo pipefail

packages=(build-essential cmake pkg-config libuv1-dev libprotobuf-c-dev protobuf-c-compiler
          libssl-dev libcmocka-dev libedit-dev python3 iproute2 openssl)
if [[ "${1:-}" == "--bench" ]]; then
    packages+=(redis-server redis-tools)
fi
if [[ "${1:-}" == "--fuzz" ]]; then
    packages+=(clang libclang-rt-dev) # libFuzzer and the sanitizers' runtimes
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "mpx needs these packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null

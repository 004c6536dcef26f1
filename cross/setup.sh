#!/usr/bin/env bash
# Installs what `npm run cross` needs: cross compilers and strip tools for arm64/armv7l, qemu to run
# the foreign Node.js binaries (the SEA blob must be made by the target binary itself), the
# target libc/libstdc++ that qemu -L loads, and the official Node.js binaries from npm.
# Idempotent: packages already installed are skipped; apt-get update runs at most once.
# Usage: cross/setup.sh [more Debian packages to install in the same step]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  qemu-user-static                                       # qemu-aarch64-static, qemu-arm-static
  gcc gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf      # the native addon, per target
  binutils binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf   # *-strip
  libc6-dev-arm64-cross libc6-dev-armhf-cross            # headers + the target ld.so/libc for qemu -L
  libstdc++6-arm64-cross libstdc++6-armhf-cross          # node links libstdc++.so.6 / libgcc_s.so.1
  libatomic1-armhf-cross                                 # ... and, on armv7l, libatomic.so.1
)
packages+=("$@")   # callers' own (.ci/setup.sh)
# systemd-analyze verifies the units (test/deploy/units.test.ts); usually already present.
command -v systemd-analyze >/dev/null || packages+=(systemd)
# openssl makes throwaway certificates for the TLS tests; python3 binds notify sockets in tests.
command -v openssl >/dev/null || packages+=(openssl)
command -v python3 >/dev/null || packages+=(python3)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "cross/setup.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo 'cross/setup.sh: apt packages already present'
fi

# The Node.js binaries each target embeds (npm tarballs, integrity-checked, cached).
if [ "${CROSS_SETUP_SKIP_NODE:-0}" != 1 ]; then
  bash cross/fetch-node.sh
fi

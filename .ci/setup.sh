#!/usr/bin/env bash
# Installs the Debian packages the test suite and CI start for real: Mosquitto (the MQTT bridge),
# Chromium (the dashboard, driven by playwright-core), debootstrap + systemd-nspawn + qemu binfmt
# (the board images), iproute2 (network namespaces with tbf). Then cross/setup.sh (compilers,
# qemu-user, Node.js binaries). Idempotent: installed packages are skipped; apt-get update runs once.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  mosquitto mosquitto-clients          # real broker and independent MQTT peers
  chromium                             # /usr/bin/chromium for playwright-core
  debootstrap systemd-container        # board images booted with systemd-nspawn -b
  qemu-user-static binfmt-support      # arm64 images through binfmt_misc
  iproute2                             # ip netns, tc tbf
  openssl python3 procps util-linux    # certificates, notify sockets, prlimit/taskset
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo ".ci/setup.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo '.ci/setup.sh: apt packages already present'
fi
# The Debian mosquitto package starts a system broker on 1883; the tests start their own.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
bash cross/setup.sh

#!/usr/bin/env bash
# Installs the Debian packages the test suite and CI start for real: Mosquitto (the MQTT bridge),
# Chromium (the dashboard, driven by playwright-core), debootstrap + systemd-nspawn + qemu binfmt
# (the board images), iproute2 (network namespaces with tbf), through cross/setup.sh, which adds
# its own (compilers, qemu-user) and the Node.js binaries. Idempotent: installed packages are
# skipped; apt-get update runs at most once.
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
# cross/setup.sh installs these with its own list (one install step, apt-get update at most once).
bash cross/setup.sh "${packages[@]}"
# The Debian mosquitto package starts a system broker on 1883; the tests start their own.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi

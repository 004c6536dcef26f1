#!/usr/bin/env bash
# Cross-compiles native/ (two Node-API C files, one module) for a target, against the
# include/node headers of the Node.js binary that target embeds. No node-gyp: one gcc call.
# Usage: cross/build-addon.sh <target> <out.node>
set -euo pipefail
cd "$(dirname "$0")/.."
source cross/targets.sh

t=${1:?usage: cross/build-addon.sh <target> <out.node>}
out=${2:?usage: cross/build-addon.sh <target> <out.node>}
check_target "$t"
include=$(node_dir "$t")/include/node
[ -f "$include/node_api.h" ] || { echo "build-addon: $include/node_api.h missing: run cross/fetch-node.sh $t" >&2; exit 1; }

# Same defines as binding.gyp; -fvisibility=hidden leaves only the Node-API entry points exported.
read -r -a cflags <<<"${CFLAGS_FOR[$t]}"
"${CC_FOR[$t]}" -shared -fPIC -O2 -Wall -Wextra -fvisibility=hidden -DNAPI_VERSION=8 -DBUILDING_NODE_EXTENSION \
  "${cflags[@]}" -I "$include" -o "$out" native/vsoa_native.c native/udp_batch.c
"${STRIP_FOR[$t]}" --strip-unneeded "$out"
echo "build-addon: $out ($t, $(stat -c %s "$out") bytes)"

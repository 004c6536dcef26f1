#!/usr/bin/env bash
# Fetches the official Node.js binaries each target embeds: `npm pack` of node-linux-<arch> into
# .cache/node-bins/, sha512 checked against the registry's dist.integrity, then bin/node and
# include/node extracted. Never `npm install` these packages: they would replace the host's node.
# Usage: cross/fetch-node.sh [target...]   (default: all targets)
set -euo pipefail
cd "$(dirname "$0")/.."
source cross/targets.sh

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${CROSS_TARGETS[@]}")

sha512_of() {
  node -e "const c=require('node:crypto'),f=require('node:fs');
    process.stdout.write('sha512-'+c.createHash('sha512').update(f.readFileSync(process.argv[1])).digest('base64'))" "$1"
}

mkdir -p "$NODE_BINS_DIR"
for t in "${targets[@]}"; do
  check_target "$t"
  pkg=${NODE_PKG[$t]} ver=${NODE_VERSION[$t]}
  base="$NODE_BINS_DIR/$pkg-$ver"
  tgz="$base.tgz"
  # The expected hash is asked of the registry once, then kept beside the cached tarball.
  if [ ! -s "$base.integrity" ]; then
    npm view "$pkg@$ver" dist.integrity --loglevel=error >"$base.integrity.tmp"
    mv "$base.integrity.tmp" "$base.integrity"
  fi
  expected=$(tr -d '[:space:]' <"$base.integrity")
  if [ ! -f "$tgz" ]; then
    echo "fetch-node: npm pack $pkg@$ver"
    npm pack "$pkg@$ver" --pack-destination "$NODE_BINS_DIR" --loglevel=error >/dev/null
  fi
  actual=$(sha512_of "$tgz")
  if [ "$actual" != "$expected" ]; then
    echo "fetch-node: $tgz: integrity mismatch (expected $expected, got $actual); removed, run again" >&2
    rm -f "$tgz"
    exit 1
  fi
  if [ ! -f "$base/.extracted" ] || [ "$base/.extracted" -ot "$tgz" ]; then
    rm -rf "$base"
    mkdir -p "$base"
    tar -xzf "$tgz" -C "$base" --strip-components=1 package/bin/node package/include/node package/LICENSE
    echo "$expected" >"$base/.extracted"
  fi
  echo "fetch-node: $t: $pkg@$ver ok ($(du -h "$tgz" | cut -f1) tarball)"
done

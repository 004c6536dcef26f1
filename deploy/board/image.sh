#!/usr/bin/env bash
# Builds (once) the board image: a minimal Debian bookworm root file system with systemd for one
# architecture, cached outside the checkout as $VSOA_BOARD_CACHE/<arch>-<hash of package list>.
# Prints the image directory on stdout (progress on stderr). Rebuilt only when missing.
#
# Usage: deploy/board/image.sh x64|arm64
# Env: VSOA_BOARD_CACHE (default /var/cache/vsoa-board), VSOA_BOARD_MIRROR (default: the first
#      Debian URI of the host's apt sources).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

arch=${1:-x64}
deb_arch=$(deb_arch "$arch")
[ "$(id -u)" -eq 0 ] || die 'must run as root (debootstrap)'
command -v debootstrap >/dev/null || die 'debootstrap not installed: run .ci/setup.sh'
[ "$deb_arch" = amd64 ] || ensure_binfmt "$arch"

image=$(image_dir "$arch")
if [ -f "$image/.vsoa-board-complete" ]; then
  log "image: cached $image"
  echo "$image"
  exit 0
fi

mkdir -p "$(dirname "$image")"
# One builder per image: a second run waits, then finds the image built.
exec 9>"$image.lock"
flock 9
if [ -f "$image/.vsoa-board-complete" ]; then
  log "image: cached $image (built by another run)"
  echo "$image"
  exit 0
fi
mirror=${VSOA_BOARD_MIRROR:-$(host_mirror)}
tmp=$image.tmp.$$
# An interrupted debootstrap leaves /proc, /sys (or a bind of /dev) mounted in its target:
# unmount before deleting, and never delete across a file system boundary.
remove_tree() {
  local d
  for d in "$@"; do
    [ -e "$d" ] || continue
    findmnt -rn -o TARGET | grep "^$d/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$d"
  done
}
trap 'remove_tree "$tmp"; rm -f "$tmp.log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
remove_tree "$image" "$image".tmp.*
t0=$(now)
log "image: building $image (debootstrap bookworm $deb_arch from $mirror; minutes)"
# --foreign + second stage in a chroot is what debootstrap does itself; for a foreign arch the
# chroot runs through the qemu binfmt registered with the F flag (no qemu copied into the image).
debootstrap --variant=minbase --arch="$deb_arch" --include="$(IFS=,; echo "${BOARD_PACKAGES[*]}")" \
  bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
  tail -n 30 "$tmp.log" >&2
  rm -f "$tmp.log"
  die "debootstrap failed for $deb_arch"
}
rm -f "$tmp.log"
# A board has a hostname, a machine id made at first boot, and no root password prompt in the
# way of `--keep` users (they enter with nsenter, not a login).
echo vsoa-board >"$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
rm -f "$tmp/var/cache/apt/archives/"*.deb
# Nothing on the console but the boot: no getty fighting the script for the pty.
ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
printf '%s\n' "${BOARD_PACKAGES[@]}" >"$tmp/.vsoa-board-packages"
echo "$(($(now) - t0))" >"$tmp/.vsoa-board-build-ms"
touch "$tmp/.vsoa-board-complete"
mv "$tmp" "$image"
trap - EXIT
log "image: built in $(secs $(($(now) - t0))) s"
echo "$image"

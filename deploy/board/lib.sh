# Shared by deploy/board/*.sh (sourced, not run).

# What the image holds besides debootstrap's minbase: a real systemd as PID 1 (systemd-sysv),
# D-Bus (systemctl/systemd-analyze talk to PID 1), procps (ps/pgrep for the checks and for
# people using --keep). The cache key is the hash of this list: change it and the image is rebuilt.
BOARD_PACKAGES=(systemd systemd-sysv dbus procps)

BOARD_CACHE=${VSOA_BOARD_CACHE:-/var/cache/vsoa-board}

die() {
  echo "board: $*" >&2
  exit 2
}
log() { echo "board: $*" >&2; }
now() { date +%s%3N; } # milliseconds
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

deb_arch() {
  case $1 in
    x64) echo amd64 ;;
    arm64) echo arm64 ;;
    *) die "unknown arch '$1' (x64, arm64)" ;;
  esac
}

image_dir() {
  local key
  key=$( (echo bookworm "$(deb_arch "$1")"; printf '%s\n' "${BOARD_PACKAGES[@]}") | sha256sum | cut -c1-12)
  echo "$BOARD_CACHE/$1-$key"
}

# The host's Debian mirror (deb822 .sources or one-line .list): the board image comes from the
# same package source the host's apt uses. None found: set VSOA_BOARD_MIRROR.
host_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{ print $2 }' |
    grep -v -- '-security' | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{ print $2 }' |
    grep -v -- '-security' | grep -i debian | head -n1 || true)
  [ -n "$uri" ] || die 'no Debian mirror in the host apt sources: set VSOA_BOARD_MIRROR=<mirror URI>'
  echo "$uri"
}

# The arm64 image runs through qemu-user: binfmt_misc must be mounted and qemu-aarch64 registered
# with the F flag (the kernel opens the interpreter once, so no qemu inside the image).
ensure_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc
  [ "$1" = arm64 ] || return 0
  [ -e "$bm/register" ] || mount -t binfmt_misc binfmt_misc "$bm" || die "cannot mount $bm"
  if [ ! -e "$bm/qemu-aarch64" ]; then
    if command -v update-binfmts >/dev/null && [ -e /usr/share/binfmts/qemu-aarch64 ]; then
      update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    fi
  fi
  if [ ! -e "$bm/qemu-aarch64" ]; then
    local qemu
    qemu=$(command -v qemu-aarch64-static) || die 'qemu-aarch64-static not installed: run .ci/setup.sh'
    printf '%s' ":qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:$qemu:F" >"$bm/register" ||
      die "cannot register qemu-aarch64 in $bm"
  fi
  [ "$(head -n1 "$bm/qemu-aarch64")" = enabled ] || echo 1 >"$bm/qemu-aarch64"
  grep -q '^flags:.*F' "$bm/qemu-aarch64" || die "$bm/qemu-aarch64 lacks the F flag (needed for nspawn)"
}

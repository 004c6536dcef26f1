#!/usr/bin/env bash
# Installs vsoa-edge on a Linux board: the single executable for this board's architecture as
# /usr/local/bin/vsoa, the systemd units, and sample configuration (never overwriting
# existing configuration); then reloads systemd, enables and (re)starts the services.
#
# Usage: deploy/install.sh [--dry-run] [--root DIR] [--uninstall] [--bin-dir DIR] [--machine M]
#   --dry-run     print what would be done, change nothing
#   --root DIR    install into DIR as the file system root (an image, a test); no systemctl
#   --uninstall   stop and disable the services, remove the executable and the units;
#                 configuration in /etc/vsoa.pos and /etc/vsoa/ is kept
#   --bin-dir DIR where the vsoa-linux-<arch> executables are (default: dist/bin of this
#                 checkout, or bin/ beside this script in a release archive)
#   --machine M   use M instead of `uname -m` (x86_64, aarch64, armv7l, ...)
# Services: vsoa-position is enabled and started; vsoa-robot@NAME for each
# /etc/vsoa/robot-NAME.json except the sample robot-example.json.
set -euo pipefail
umask 022

here=$(cd "$(dirname "$0")" && pwd)
dry_run=0 uninstall=0 root='' bin_dir='' machine=''

die() { echo "install.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=1 ;;
    --uninstall) uninstall=1 ;;
    --root) [ $# -ge 2 ] || die '--root needs a directory'; root=$2; shift ;;
    --root=*) root=${1#--root=} ;;
    --bin-dir) [ $# -ge 2 ] || die '--bin-dir needs a directory'; bin_dir=$2; shift ;;
    --bin-dir=*) bin_dir=${1#--bin-dir=} ;;
    --machine) [ $# -ge 2 ] || die '--machine needs a value'; machine=$2; shift ;;
    --machine=*) machine=${1#--machine=} ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'; see 'install.sh --help'" ;;
  esac
  shift
done

if [ -n "$root" ]; then
  [ -d "$root" ] || die "--root $root: no such directory"
  root=$(cd "$root" && pwd)
fi
if [ -z "$root" ] && [ "$dry_run" = 0 ] && [ "$(id -u)" -ne 0 ]; then
  die 'must run as root (or use --dry-run, or --root DIR)'
fi

# Paths on the board; everything below is prefixed with $root.
BIN=/usr/local/bin/vsoa
UNIT_DIR=/etc/systemd/system
UNITS=(vsoa-position.service vsoa-robot@.service)
CONF_FILES=(/etc/vsoa.pos /etc/vsoa/position.json /etc/vsoa/robot-example.json)

# uname -m → the executable's suffix. A 64-bit ARM kernel may run a 32-bit user space: then
# only the armv7l executable can run (no 64-bit loader), which getconf LONG_BIT tells.
arch_for_machine() {
  case $1 in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64)
      if [ -z "$root" ] && [ -z "$machine" ] && [ "$(getconf LONG_BIT 2>/dev/null || echo 64)" = 32 ]; then
        echo armv7l
      else
        echo arm64
      fi
      ;;
    armv7l | armv7* | armv8l) echo armv7l ;;
    *) return 1 ;;
  esac
}

run() {
  if [ "$dry_run" = 1 ]; then echo "  would run: $*"; else "$@"; fi
}

systemctl_run() {
  if [ -n "$root" ]; then
    echo "  skipped (--root): systemctl $*"
  else
    run systemctl "$@"
  fi
}

# Copy to a temporary name, then rename: a running executable is replaced, not overwritten.
install_file() {
  local src=$1 dest=$root$2 mode=$3
  run mkdir -p "$(dirname "$dest")"
  run cp "$src" "$dest.new.$$"
  run chmod "$mode" "$dest.new.$$"
  run mv -f "$dest.new.$$" "$dest"
  [ "$dry_run" = 1 ] || echo "  installed $dest (mode $mode)"
}

remove_file() {
  run rm -f "$1"
  [ "$dry_run" = 1 ] || echo "  removed $1"
}

robot_instances() {
  local f name
  for f in "$root"/etc/vsoa/robot-*.json; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .json)
    name=${name#robot-}
    [ "$name" = example ] || echo "$name"
  done
}

if [ "$uninstall" = 1 ]; then
  echo "install.sh: uninstalling${root:+ from $root}"
  [ "$dry_run" = 0 ] || echo 'install.sh: dry run: nothing is changed'
  mapfile -t robots < <(robot_instances)
  for r in "${robots[@]}"; do systemctl_run disable --now "vsoa-robot@$r.service" || true; done
  systemctl_run stop 'vsoa-robot@*.service' || true # instances whose config is gone
  systemctl_run disable --now vsoa-position.service || true
  for u in "${UNITS[@]}"; do
    if [ -e "$root$UNIT_DIR/$u" ]; then remove_file "$root$UNIT_DIR/$u"; fi
  done
  if [ -e "$root$BIN" ]; then remove_file "$root$BIN"; fi
  systemctl_run daemon-reload
  echo "install.sh: done; configuration kept: ${CONF_FILES[*]}"
  exit 0
fi

[ -n "$machine" ] || machine=$(uname -m)
arch=$(arch_for_machine "$machine") || die "no vsoa executable for machine '$machine' (x86_64, aarch64, armv7l)"

if [ -z "$bin_dir" ]; then
  if [ -d "$here/bin" ]; then bin_dir=$here/bin; else bin_dir=$here/../dist/bin; fi
fi
exe=$bin_dir/vsoa-linux-$arch
[ -f "$exe" ] || die "$exe not found: build it with 'npm run cross' or pass --bin-dir"

unit_src=$here/../systemd
[ -d "$unit_src" ] || unit_src=$here/systemd
for u in "${UNITS[@]}"; do [ -f "$unit_src/$u" ] || die "$unit_src/$u not found"; done

echo "install.sh: installing vsoa-linux-$arch (machine $machine)${root:+ into $root}"
[ "$dry_run" = 0 ] || echo 'install.sh: dry run: nothing is changed'

install_file "$exe" "$BIN" 755
for u in "${UNITS[@]}"; do install_file "$unit_src/$u" "$UNIT_DIR/$u" 644; done

for c in "${CONF_FILES[@]}"; do
  if [ -e "$root$c" ]; then
    echo "  keeping existing $root$c"
  else
    install_file "$here/etc${c#/etc}" "$c" 644
  fi
done

systemctl_run daemon-reload
systemctl_run enable vsoa-position.service
systemctl_run restart vsoa-position.service
mapfile -t robots < <(robot_instances)
for r in "${robots[@]}"; do
  systemctl_run enable "vsoa-robot@$r.service"
  systemctl_run restart "vsoa-robot@$r.service"
done
echo 'install.sh: done'

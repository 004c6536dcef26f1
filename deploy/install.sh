#!/usr/bin/env bash
# Installs vsoa-edge on a Linux board: the single executable for this board's architecture as
# /usr/local/bin/vsoa, every systemd unit of systemd/, and every sample configuration of
# deploy/etc/; then reloads systemd, enables and starts the services. Re-running it changes
# nothing; an upgrade replaces the executable and units, keeps every configuration file the user
# changed, and restarts the running services once.
#
# Usage: deploy/install.sh [--dry-run] [--root DIR] [--bin-dir DIR] [--machine M]
#        deploy/install.sh --uninstall [--purge] [--dry-run] [--root DIR]
#   --dry-run     print what would be done, change nothing
#   --root DIR    install into DIR as the file system root (an image, a test); no systemctl
#   --uninstall   stop and disable the services, remove the executable, the units and the
#                 services' state (/var/lib/private/vsoa-*, /var/cache/private/vsoa-*);
#                 configuration (/etc/vsoa.pos, /etc/vsoa/, /etc/sysctl.d/30-vsoa-edge.conf,
#                 unit drop-ins) is kept
#   --purge       with --uninstall (implies it): remove the configuration too
#   --bin-dir DIR where the vsoa-linux-<arch> executables are (default: the first of bin/ beside
#                 this script (release archive), ../bin (the README's `scp -r dist/bin deploy
#                 systemd board:/tmp/vsoa`), ../dist/bin (a checkout))
#   --machine M   use M instead of `uname -m` (x86_64, aarch64, armv7l, ...)
# Services: every plain unit (vsoa-position) is enabled and started; a template vsoa-X@.service
# gets one instance per configuration file its ExecStart names with %i (vsoa-robot@NAME for
# /etc/vsoa/robot-NAME.json), except the samples NAME=example.
# Configuration files: a sample is installed when missing, and replaced on upgrade only when the
# installed copy is still the previous sample byte for byte (recorded in the manifest below).
# Kernel: /etc/sysctl.d/30-vsoa-edge.conf raises net.core.rmem_max to the 32 MiB a quick socket
# asks for, at every boot and (never lowering it) at once.
set -euo pipefail
umask 022

here=$(cd "$(dirname "$0")" && pwd)
dry_run=0 uninstall=0 purge=0 root='' bin_dir='' machine=''

die() {
  echo "install.sh: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) uninstall=1 purge=1 ;;
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
# What this script installed, "sha256  path" a line: tells an untouched sample from a changed one,
# and which units to remove on uninstall.
MANIFEST=/var/lib/vsoa-edge/manifest
# A configuration file (a sample of deploy/etc/) whose setting the install also applies at once.
SYSCTL_CONF=/etc/sysctl.d/30-vsoa-edge.conf
RMEM_MAX=/proc/sys/net/core/rmem_max

unit_src=$here/../systemd
[ -d "$unit_src" ] || unit_src=$here/systemd
conf_src=$here/etc

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

# A unit is active (never with --root: nothing runs there).
is_active() { [ -z "$root" ] && systemctl is-active --quiet "$1" 2>/dev/null; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Copy to a temporary name, then rename: a running executable is replaced, not overwritten.
install_file() {
  local src=$1 dest=$root$2 mode=$3
  run mkdir -p "$(dirname "$dest")"
  run cp "$src" "$dest.new.$$"
  run chmod "$mode" "$dest.new.$$"
  run mv -f "$dest.new.$$" "$dest"
  [ "$dry_run" = 1 ] || echo "  installed $dest (mode $mode)"
}

remove_path() {
  run rm -rf "$1"
  [ "$dry_run" = 1 ] || echo "  removed $1"
}

# The manifest's hash for a path (empty when not recorded).
recorded() {
  [ -f "$root$MANIFEST" ] || return 0
  awk -v p="$1" '$2 == p { print $1; exit }' "$root$MANIFEST"
}

# Units this package ships: every *.service, *.socket, *.timer, *.path in systemd/.
package_units() {
  local f
  for f in "$unit_src"/*.service "$unit_src"/*.socket "$unit_src"/*.timer "$unit_src"/*.path; do
    [ -f "$f" ] && basename "$f"
  done
  return 0
}

# Installed units (what the manifest lists, else what the package ships and is present).
installed_units() {
  {
    if [ -f "$root$MANIFEST" ]; then
      awk -v d="$UNIT_DIR/" 'index($2, d) == 1 { print substr($2, length(d) + 1) }' "$root$MANIFEST"
    fi
    local u
    while read -r u; do [ -e "$root$UNIT_DIR/$u" ] && echo "$u"; done < <(package_units)
  } | sort -u
}

# Instances of template unit $1 (dir holding it: $2): one per file matching the config path its
# ExecStart names with %i, e.g. /etc/vsoa/robot-%i.json → robot-NAME.json; samples excluded.
instances() {
  local unit=$1 file=$2 pattern prefix suffix f name
  pattern=$(grep -E '^ExecStart=' "$file" 2>/dev/null | grep -oE '/etc/[^ ]*%i[^ ]*' | head -n1) || true
  [ -n "$pattern" ] || return 0
  prefix=${pattern%%%i*} suffix=${pattern#*%i}
  for f in "$root$prefix"*"$suffix"; do
    [ -e "$f" ] || continue
    name=${f#"$root$prefix"}
    name=${name%"$suffix"}
    case $name in example | '' | */*) continue ;; esac
    echo "${unit%@.*}@$name.${unit##*.}"
  done
}

# The services of units $2... (files in directory $1): plain units and template instances.
services() {
  local dir=$1 u
  shift
  for u in "$@"; do
    case $u in
      *@.*) instances "$u" "$dir/$u" ;;
      *) echo "$u" ;;
    esac
  done
}

if [ "$uninstall" = 1 ]; then
  echo "install.sh: uninstalling${root:+ from $root}$([ "$purge" = 1 ] && echo ', configuration too (--purge)')"
  [ "$dry_run" = 0 ] || echo 'install.sh: dry run: nothing is changed'
  mapfile -t units < <(installed_units)
  mapfile -t svcs < <(services "$root$UNIT_DIR" "${units[@]}")
  for s in "${svcs[@]}"; do systemctl_run disable --now "$s" || true; done
  for u in "${units[@]}"; do
    # Instances whose configuration is gone still run: stop them by pattern.
    case $u in *@.*) systemctl_run stop "${u%@.*}@*.${u##*.}" || true ;; esac
  done
  # The services' state: DynamicUser keeps it in /var/{lib,cache}/private/NAME behind a symlink
  # /var/{lib,cache}/NAME; `systemctl clean` removes it for stopped units, the rm what remains.
  if [ -z "$root" ] && [ "${#svcs[@]}" -gt 0 ]; then
    systemctl_run clean --what=all "${svcs[@]}" >/dev/null 2>&1 || true
  fi
  for d in "$root"/var/lib/private/vsoa-* "$root"/var/cache/private/vsoa-* "$root"/var/log/private/vsoa-*; do
    [ -e "$d" ] && remove_path "$d"
  done
  for d in "$root"/var/lib/vsoa-* "$root"/var/cache/vsoa-* "$root"/var/log/vsoa-*; do
    [ -L "$d" ] && remove_path "$d"
  done
  for u in "${units[@]}"; do
    [ -e "$root$UNIT_DIR/$u" ] && remove_path "$root$UNIT_DIR/$u"
    # Enablement symlinks of instances whose configuration is gone (disable could not name them).
    for l in "$root$UNIT_DIR"/*.wants/"$u" "$root$UNIT_DIR"/*.wants/"${u%@.*}"@*."${u##*.}"; do
      [ -L "$l" ] && remove_path "$l"
    done
  done
  [ -e "$root$BIN" ] && remove_path "$root$BIN"
  if [ "$purge" = 1 ]; then
    [ -e "$root/etc/vsoa.pos" ] && remove_path "$root/etc/vsoa.pos"
    [ -e "$root/etc/vsoa" ] && remove_path "$root/etc/vsoa"
    # The running net.core.rmem_max keeps its value until the next boot.
    [ -e "$root$SYSCTL_CONF" ] && remove_path "$root$SYSCTL_CONF"
    for d in "$root$UNIT_DIR"/vsoa-*.d; do [ -e "$d" ] && remove_path "$d"; done
  fi
  [ -e "$root$(dirname "$MANIFEST")" ] && remove_path "$root$(dirname "$MANIFEST")"
  systemctl_run daemon-reload
  if [ "$purge" = 1 ]; then
    echo 'install.sh: done; configuration removed (--purge)'
  else
    echo "install.sh: done; configuration kept: /etc/vsoa.pos /etc/vsoa/ $SYSCTL_CONF (remove it with --purge)"
  fi
  exit 0
fi

[ -n "$machine" ] || machine=$(uname -m)
arch=$(arch_for_machine "$machine") || die "no vsoa executable for machine '$machine' (x86_64, aarch64, armv7l)"

exe_name=vsoa-linux-$arch
if [ -n "$bin_dir" ]; then
  exe=$bin_dir/$exe_name
else
  exe=
  for d in "$here/bin" "$here/../bin" "$here/../dist/bin"; do
    if [ -f "$d/$exe_name" ]; then exe=$(cd "$d" && pwd)/$exe_name; break; fi
  done
  [ -n "$exe" ] || die "$exe_name not found in $here/bin, $(dirname "$here")/bin or $(dirname "$here")/dist/bin: copy dist/bin beside deploy/ (see the README), or pass --bin-dir"
fi
[ -f "$exe" ] || die "$exe not found: build it with 'npm run cross' or pass --bin-dir"

mapfile -t units < <(package_units)
[ "${#units[@]}" -gt 0 ] || die "no units found in $unit_src"
[ -d "$conf_src" ] || die "$conf_src not found"
mapfile -t confs < <(cd "$conf_src" && find . -type f | sed 's|^\.|/etc|' | sort)

echo "install.sh: installing $exe_name (machine $machine)${root:+ into $root}"
[ "$dry_run" = 0 ] || echo 'install.sh: dry run: nothing is changed'

# The kernel caps every receive buffer at net.core.rmem_max (208 KiB by default: three 64 KiB
# quick datagrams). The sysctl.d sample raises it for every boot; this applies it now, and only
# upward: a larger running value stays. Written to /proc directly (procps may be absent).
raise_rmem_max() {
  local conf=$root$SYSCTL_CONF want have
  [ -f "$conf" ] || conf=$conf_src/sysctl.d/${SYSCTL_CONF##*/} # a dry run installed nothing
  want=$(sed -n 's/^[[:space:]]*net\.core\.rmem_max[[:space:]]*=[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$conf" 2>/dev/null | tail -n1)
  [ -n "$want" ] || return 0 # the board's copy no longer sets it: nothing to apply
  if [ -n "$root" ]; then
    echo "  skipped (--root): net.core.rmem_max=$want (applied when the image boots)"
    return 0
  fi
  if ! have=$(cat "$RMEM_MAX" 2>/dev/null); then
    echo "  net.core.rmem_max: $RMEM_MAX not readable here; not changed"
  elif [ "$have" -ge "$want" ]; then
    echo "  net.core.rmem_max is $have (at least $want): not changed"
  elif [ "$dry_run" = 1 ]; then
    echo "  would raise net.core.rmem_max from $have to $want"
  elif (echo "$want" >"$RMEM_MAX") 2>/dev/null; then
    echo "  raised net.core.rmem_max from $have to $want"
  else
    # A container's /proc/sys is read-only: its host decides.
    echo "  could not raise net.core.rmem_max from $have to $want ($RMEM_MAX is read-only here); quick receive buffers stay capped at $have until it is raised"
  fi
}

manifest=() # the new manifest's lines
changed=0   # the executable or a unit changed: running services restart once
install_if_changed() {
  local src=$1 dest=$2 mode=$3
  if [ -f "$root$dest" ] && cmp -s "$src" "$root$dest"; then
    echo "  unchanged $root$dest"
    [ "$dry_run" = 1 ] || chmod "$mode" "$root$dest"
  else
    install_file "$src" "$dest" "$mode"
    changed=1
  fi
  manifest+=("$(sha "$src")  $dest")
}

install_if_changed "$exe" "$BIN" 755
for u in "${units[@]}"; do install_if_changed "$unit_src/$u" "$UNIT_DIR/$u" 644; done
# Units an older version installed and this one no longer ships.
while read -r u; do
  [ -f "$unit_src/$u" ] && continue
  systemctl_run disable --now "$u" || true
  remove_path "$root$UNIT_DIR/$u"
done < <([ -f "$root$MANIFEST" ] && awk -v d="$UNIT_DIR/" 'index($2, d) == 1 { print substr($2, length(d) + 1) }' "$root$MANIFEST")

for c in "${confs[@]}"; do
  src=$conf_src${c#/etc}
  new=$(sha "$src")
  if [ ! -e "$root$c" ]; then
    install_file "$src" "$c" 644
    manifest+=("$new  $c")
    continue
  fi
  have=$(sha "$root$c") was=$(recorded "$c")
  if [ "$have" = "$new" ]; then
    echo "  unchanged $root$c"
    manifest+=("$new  $c")
  elif [ -n "$was" ] && [ "$have" = "$was" ]; then
    # Still the previous sample, never edited: the new sample replaces it, keeping its mode.
    run cp "$src" "$root$c.new.$$"
    run chmod --reference="$root$c" "$root$c.new.$$"
    run mv -f "$root$c.new.$$" "$root$c"
    [ "$dry_run" = 1 ] || echo "  updated sample $root$c"
    manifest+=("$new  $c")
  else
    echo "  keeping existing $root$c (changed on this board; the new sample is $src)"
    [ -z "$was" ] || manifest+=("$was  $c")
  fi
done

raise_rmem_max

if [ "$dry_run" = 1 ]; then
  echo "  would write $root$MANIFEST"
else
  mkdir -p "$root$(dirname "$MANIFEST")"
  printf '%s\n' "${manifest[@]}" >"$root$MANIFEST.new.$$"
  mv -f "$root$MANIFEST.new.$$" "$root$MANIFEST"
fi

systemctl_run daemon-reload
mapfile -t svcs < <(services "$unit_src" "${units[@]}")
for s in "${svcs[@]}"; do
  systemctl_run enable "$s"
  # An upgrade restarts what runs, once; a re-run with nothing new leaves it alone.
  if [ "$changed" = 1 ] && is_active "$s"; then
    systemctl_run restart "$s"
  else
    systemctl_run start "$s"
  fi
done
echo "install.sh: done${svcs[*]:+; services: ${svcs[*]}}"

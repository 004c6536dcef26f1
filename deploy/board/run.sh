#!/usr/bin/env bash
# `npm run board -- [--arch x64|arm64] [--keep] [--no-checks]`: boots a throwaway Debian bookworm
# board with a real systemd as PID 1 (systemd-nspawn -b; arm64 through qemu-user binfmt), installs
# vsoa-edge on it exactly as the README tells a user (copy dist/bin, deploy, systemd to /tmp/vsoa;
# install.sh --dry-run, install.sh), runs the lifecycle checks of issue 18 (one PASS/FAIL line each,
# with its evidence), prints the measured times, and always powers the board off and removes it.
#
#   --arch A     x64 (default) or arm64; needs dist/bin/vsoa-linux-A (npm run cross)
#   --keep       leave the board running afterwards, vsoa installed with a demo server and robot,
#                and print how to enter and stop it (a desk without a board)
#   --no-checks  boot and install only (with --keep: the quickest way to a board)
#   --stop       power off and remove every board left by --keep
# Needs root, debootstrap, systemd-nspawn, qemu-user-static (arm64): .ci/setup.sh installs them.
# The image is built once per arch and package list, in $VSOA_BOARD_CACHE (/var/cache/vsoa-board).
# Exit status: 0 all checks passed, 1 a check failed, 2 the board could not be set up.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
source "$HERE/lib.sh"
source "$HERE/boot.sh"
source "$HERE/checks.sh"

ARCH=x64 keep=0 checks=1 stop=0
while [ $# -gt 0 ]; do
  case $1 in
    --arch) [ $# -ge 2 ] || die '--arch needs x64 or arm64'; ARCH=$2; shift ;;
    --arch=*) ARCH=${1#--arch=} ;;
    --keep) keep=1 ;;
    --no-checks) checks=0 ;;
    --stop) stop=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1'; see 'npm run board -- --help'" ;;
  esac
  shift
done
deb_arch "$ARCH" >/dev/null
[ "$(id -u)" -eq 0 ] || die 'must run as root (systemd-nspawn, debootstrap)'
for t in systemd-nspawn nsenter ip setsid findmnt node; do
  command -v "$t" >/dev/null || die "$t not found: run .ci/setup.sh"
done

if [ "$stop" = 1 ]; then
  for f in "$BOARD_CACHE"/run/*.nspawn-pid; do
    [ -e "$f" ] || continue
    INST=${f%.nspawn-pid} NSPAWN_PID=$(cat "$f") LEADER=$(cat "$INST.leader-pid" 2>/dev/null || true) SLOW=6
    log "stopping $(basename "$INST") (systemd-nspawn $NSPAWN_PID)"
    teardown_board
  done
  exit 0
fi

# qemu-user runs the arm64 board (its systemd, the checks, the node executable) 5-20 times slower.
SLOW=1
[ "$ARCH" = x64 ] || SLOW=6
EXE=$REPO/dist/bin/vsoa-linux-$ARCH
[ -f "$EXE" ] || die "$EXE not found: run 'npm run cross' (or 'bash cross/build.sh $ARCH')"
# The host's vsoa for check 8: the x64 executable when built, else the CLI from source.
if [ -x "$REPO/dist/bin/vsoa-linux-x64" ] && [ "$(uname -m)" = x86_64 ]; then
  HOST_VSOA=("$REPO/dist/bin/vsoa-linux-x64")
else
  HOST_VSOA=(node --import tsx "$REPO/src/cli/main.ts")
fi
mapfile -t UNITS < <(cd "$REPO/systemd" && ls -- *.service *.socket *.timer 2>/dev/null || true)
mapfile -t PLAIN_UNITS < <(printf '%s\n' "${UNITS[@]}" | grep -v '@\.' || true)
OUT=${VSOA_BOARD_OUT:-$REPO/test-results/board/$ARCH}
rm -rf "$OUT"
mkdir -p "$OUT"

finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$keep" = 1 ] && [ -n "${INST:-}" ] && [ "$rc" -le 1 ]; then
    exit "$rc"
  fi
  [ -z "${INST:-}" ] || log "powering the board off and removing $INST"
  teardown_board
  exit "$rc"
}
trap finish EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

t_all=$(now)
image=$(image_dir "$ARCH")
warm=cold
[ ! -f "$image/.vsoa-board-complete" ] || warm=warm
t0=$(now)
image=$(bash "$HERE/image.sh" "$ARCH")
T_IMAGE=$(($(now) - t0))
T_IMAGE_COLD=$(cat "$image/.vsoa-board-build-ms" 2>/dev/null || echo 0)

boot_board "$image" "vb${ARCH:0:1}$$"
log "board $MACHINE ($ARCH, $BOARD_IP): instance in $(secs "$T_COPY") s, booted ($BOOT_STATE) in $(secs "$T_BOOT") s"
[ "$BOOT_STATE" = running ] || die "board boot state '$BOOT_STATE' (see $OUT/console.log)"

# The README's copy step, then its install step.
stage /tmp/vsoa

pass=0 fail=0 results=()
FAILED_EARLY=passed
check() {
  local n=$1 title=$2 t0 verdict
  EV=
  t0=$(now)
  if "check_$n"; then verdict=PASS pass=$((pass + 1)); else verdict=FAIL fail=$((fail + 1)); fi
  [ "$verdict" = PASS ] || [ "$n" -gt 5 ] || FAILED_EARLY="check $n failed"
  results+=("$verdict $n $title ($(secs $(($(now) - t0))) s): $EV")
  echo "${results[-1]}" | tee -a "$OUT/checks.txt"
}

t_checks=$(now)
if [ "$checks" = 1 ]; then
  # set -e would end the run at a check's first failing command: each check reports instead.
  set +e
  check 1 'install, idempotent re-run, upgrade'
  check 2 'position service, lookup, vsoa://name/'
  check 3 'robot READY (Type=notify), status, journal priorities'
  check 4 'watchdog: SIGSTOP, SIGKILL, server outage'
  check 5 'broken config: exit 2, no restart, one clear line'
  check 6 'sandboxing: systemd-analyze security'
  check 8 'vsoa bench from the host'
  check 7 'uninstall, --purge'
  set -e
fi
T_CHECKS=$(($(now) - t_checks))

times="image $warm $(secs "$T_IMAGE") s (cold build $(secs "$T_IMAGE_COLD") s), instance $(secs "$T_COPY") s, boot $(secs "$T_BOOT") s, checks $(secs "$T_CHECKS") s, total $(secs $(($(now) - t_all))) s"
verdict="$pass passed, $fail failed"
[ "$checks" = 1 ] || verdict='checks skipped (--no-checks)'
echo "board $ARCH: $verdict; times: $times" | tee -a "$OUT/checks.txt"

if [ "$keep" = 1 ]; then
  if [ "$checks" = 1 ] || ! board test -x /usr/local/bin/vsoa; then
    board test -d /tmp/vsoa || stage /tmp/vsoa
    board /tmp/vsoa/deploy/install.sh >"$OUT/install-keep.log" 2>&1 || die "install.sh for --keep failed (see $OUT/install-keep.log)"
    user_setup || log 'demo setup failed: the board runs vsoa-position only'
  fi
  cat <<EOF
board $MACHINE kept running ($ARCH): vsoa-position, demo-server (vsoa serve on 127.0.0.1:$DEMO_PORT),
$ROBOT; the host reaches it at $BOARD_IP.
  enter:   sudo nsenter -t $LEADER -a /bin/bash -l
  try:     vsoa lookup demo; vsoa call vsoa://demo/echo --param '{"hi":1}'; journalctl -u $ROBOT -f
  stop:    sudo npm run board -- --stop     (powers it off and removes $INST)
EOF
fi
[ "$fail" = 0 ]

# Sourced by deploy/board/run.sh: a throwaway board instance booted with systemd-nspawn -b.
# Sets INST (its root directory), NSPAWN_PID, LEADER (the board's PID 1 as seen from the host),
# HOST_IP / BOARD_IP (the veth link between them); board CMD... runs CMD on the board.

# Boots a copy of image $1 as machine $2; the board gets a private network namespace with a veth
# link to the host (its own address, as a real board on a cable would: no port clashes with the
# host, and `vsoa bench` from the host crosses a real link).
boot_board() {
  local image=$1 t0
  MACHINE=$2
  INST=$BOARD_CACHE/run/$MACHINE
  mkdir -p "$BOARD_CACHE/run"
  t0=$(now)
  # The instance: the cached image as the read-only lower layer of an overlay, its writes in
  # INST.upper (no 200 MB copy); a plain copy where overlayfs is not available.
  mkdir -p "$INST" "$INST.upper" "$INST.work"
  if ! mount -t overlay overlay -o "lowerdir=$image,upperdir=$INST.upper,workdir=$INST.work" "$INST" 2>/dev/null; then
    rmdir "$INST"
    cp -a --reflink=auto "$image" "$INST"
  fi
  T_COPY=$(($(now) - t0))
  [ "$ARCH" = x64 ] || no_credentials "$INST"

  t0=$(now)
  # setsid: Ctrl-C reaches this script (whose trap powers the board off), not nspawn.
  # --keep-unit and --register=no: the host has no systemd/machined to register with.
  setsid systemd-nspawn --quiet --boot --directory="$INST" --machine="$MACHINE" \
    --register=no --keep-unit --network-veth --console=pipe \
    </dev/null >"$OUT/console.log" 2>&1 &
  NSPAWN_PID=$!
  echo "$NSPAWN_PID" >"$INST.nspawn-pid"
  local deadline=$(($(now) + 30000 * SLOW)) pid
  LEADER=
  while [ -z "$LEADER" ]; do
    kill -0 "$NSPAWN_PID" 2>/dev/null || { cat "$OUT/console.log" >&2; die 'systemd-nspawn exited during boot'; }
    [ "$(now)" -lt "$deadline" ] || die 'no container PID 1 after 30 s'
    for pid in $(pgrep -P "$NSPAWN_PID" || true); do
      [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && LEADER=$pid
    done
    [ -n "$LEADER" ] || sleep 0.1
  done
  echo "$LEADER" >"$INST.leader-pid"

  link_board
  local state
  # PID 1 answers on its private socket once it is up enough; then wait for the boot to finish.
  deadline=$(($(now) + 60000 * SLOW))
  until board test -S /run/systemd/private 2>/dev/null; do
    [ "$(now)" -lt "$deadline" ] || die "the board's systemd did not come up in $((60 * SLOW)) s"
    sleep 0.1
  done
  state=$(board timeout $((120 * SLOW)) systemctl is-system-running --wait 2>&1 || true)
  T_BOOT=$(($(now) - t0))
  BOOT_STATE=$state
  if [ "$state" != running ]; then
    log "boot: system state '$state'; failed units:"
    board systemctl --failed --no-legend --no-pager >&2 || true
  fi
}

# Under qemu-user, PID 1 cannot mount the credentials directory of LoadCredential= units
# ("Failed to set up credentials: Invalid argument": systemd-sysctl, -sysusers, -tmpfiles-setup
# fail, the board boots degraded). None of the board's credentials exist: the drop-ins clear them.
no_credentials() {
  local f u
  for f in "$1"/lib/systemd/system/*.service; do
    grep -q '^LoadCredential=' "$f" || continue
    u=$(basename "$f")
    mkdir -p "$1/etc/systemd/system/$u.d"
    printf '# deploy/board: qemu-user cannot mount the credentials directory\n[Service]\nLoadCredential=\n' \
      >"$1/etc/systemd/system/$u.d/50-vsoa-board-qemu.conf"
  done
}

# The veth pair: host side ve-MACHINE, board side host0, a 10.231.N.0/30 unused on the host.
link_board() {
  local n deadline=$(($(now) + 10000 * SLOW))
  HOST_IF=ve-$MACHINE
  until ip link show "$HOST_IF" >/dev/null 2>&1; do
    [ "$(now)" -lt "$deadline" ] || die "no veth $HOST_IF from systemd-nspawn"
    sleep 0.1
  done
  n=$(($$ % 250))
  while ip -4 -o addr show | grep -q " 10\.231\.$n\."; do n=$(((n + 1) % 250)); done
  HOST_IP=10.231.$n.1
  BOARD_IP=10.231.$n.2
  ip addr add "$HOST_IP/30" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  # The host's ip(8) in the board's network namespace: the image needs no iproute2.
  nsenter -t "$LEADER" -n ip link set lo up
  nsenter -t "$LEADER" -n ip addr add "$BOARD_IP/30" dev host0
  nsenter -t "$LEADER" -n ip link set host0 up
}

# Runs a command on the board: all of its namespaces, a clean environment, as root.
board() {
  nsenter -t "$LEADER" -a -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# Powers the board off (orderly, then by force) and removes the instance. Idempotent.
teardown_board() {
  [ -n "${INST:-}" ] || return 0
  if [ -n "${NSPAWN_PID:-}" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    [ -z "${LEADER:-}" ] || board systemctl poweroff --no-block >/dev/null 2>&1 || kill -TERM "$NSPAWN_PID" 2>/dev/null || true
    local deadline=$(($(now) + 30000 * SLOW))
    while kill -0 "$NSPAWN_PID" 2>/dev/null && [ "$(now)" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$NSPAWN_PID" 2>/dev/null; then
      log "teardown: board did not power off in $((30 * SLOW)) s: killing systemd-nspawn"
      kill -KILL "$NSPAWN_PID" 2>/dev/null || true
      [ -z "${LEADER:-}" ] || kill -KILL "$LEADER" 2>/dev/null || true
      sleep 1
    fi
  fi
  # Never delete through a mount that is still there.
  if findmnt -rn -o TARGET | grep -q "^$INST\(/\|$\)"; then
    findmnt -rn -o TARGET | grep "^$INST\(/\|$\)" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
  rm -rf --one-file-system "$INST" "$INST.upper" "$INST.work"
  rm -f "$INST.nspawn-pid" "$INST.leader-pid"
  INST=
}

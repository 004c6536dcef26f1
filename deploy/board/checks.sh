# Sourced by deploy/board/run.sh: the lifecycle checks of issue 18, run on a booted board
# (board CMD runs CMD there). Each check_N sets EV (its evidence) and returns 0 (PASS) or 1.
# Timeouts are multiplied by SLOW (1 on x64, more under qemu for arm64).

DEMO_PORT=3005  # the demo server on the board (loopback), named "demo" in the position table
BENCH_PORT=3007 # `vsoa bench serve` on the board's veth address, for the host
ROBOT=vsoa-robot@demo.service
WATCHDOG_SLACK=3 # s, beyond WatchdogSec + RestartSec, for systemd to notice and restart
OUTAGE=20        # s the server is frozen: > the robot's detection (3 lost pings of 3 s) and WatchdogSec

show() { board systemctl show -p "$2" --value "$1"; }
# A point in time for journalctl --since (the board shares the host's clock). Not a cursor:
# journalctl 252 returns nothing for --after-cursor combined with field matches.
mark() { date +%s.%N; }
# A systemd time span as `systemctl show` prints it ("10s", "1min 30s", "500ms") → whole seconds.
span_s() {
  echo "$1" | awk '{ t = 0; for (i = 1; i <= NF; i++) { v = $i
      if (v ~ /ms$/) t += v / 1000; else if (v ~ /us$/) t += v / 1e6; else if (v ~ /min$/) t += v * 60
      else if (v ~ /h$/) t += v * 3600; else t += v } printf "%d", t + 0.5 }'
}
ms_since() { echo $(($(now) - $1)); }

# Polls CMD every 0.2 s until it succeeds, for at most $1 seconds (× SLOW).
wait_for() {
  local deadline=$(($(now) + $1 * 1000 * SLOW))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(now)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
is_state() { [ "$(show "$1" ActiveState)" = "$2" ]; }
status_has() { show "$1" StatusText | grep -q -- "$2"; }
status_lacks() { ! status_has "$@"; }
# /time messages the robot wrote (stdout, in the journal) since mark $1.
time_msgs() { board journalctl -q -u "$ROBOT" --since="@$1" -o cat | grep -c '"url":"/time"' || true; }
has_time_msgs() { [ "$(time_msgs "$1")" -gt 0 ]; }
changed_pid() { local p; p=$(show "$1" MainPID) && [ "$p" != 0 ] && [ "$p" != "$2" ]; }
restarts_above() { [ "$(show "$1" NRestarts)" -gt "$2" ]; }
# Lines "started" systemd logged for unit $1 since mark $2 (SD_MESSAGE_UNIT_STARTED).
starts_since() {
  board journalctl -q --since="@$2" -o cat UNIT="$1" MESSAGE_ID=39f53479d3a045ac8e11786248231fbf | wc -l
}
sums() { board sh -c 'sha256sum /usr/local/bin/vsoa /etc/systemd/system/vsoa-* /etc/vsoa.pos /etc/vsoa/* 2>&1' | sort; }

# Copies what the README copies (`scp -r dist/bin deploy systemd board:/tmp/vsoa`): this arch's
# executable, deploy/ and systemd/, into directory $1 on the board.
stage() {
  board mkdir -p "$1/bin"
  tar -C "$(dirname "$EXE")" -cf - "$(basename "$EXE")" | board tar -xf - -C "$1/bin"
  tar -C "$REPO" -cf - deploy systemd | board tar -xf - -C "$1"
}

# The user's own setup on the board: a server (the demo, as a unit of theirs), a name for it in
# the position table, a robot following it, and a line of their own in /etc/vsoa.pos.
user_setup() {
  board sh -c "cat >/etc/systemd/system/demo-server.service" <<EOF
[Unit]
Description=the user's VSOA server (vsoa serve: /echo, /time every second)
[Service]
ExecStart=/usr/local/bin/vsoa serve --host 127.0.0.1 --port $DEMO_PORT
EOF
  board sh -c "cat >/etc/vsoa/position.json" <<EOF
[
  { "name": "demo", "domain": 2, "addr": "127.0.0.1", "port": $DEMO_PORT, "security": false },
  { "name": "robot-arm", "domain": 2, "addr": "127.0.0.1", "port": 3005, "security": false }
]
EOF
  board sh -c "cat >/etc/vsoa/robot-demo.json" <<EOF
{
  "server": "vsoa://demo",
  "keepalive": 3000,
  "connTimeout": 10000,
  "reconnDelay": 1000,
  "subscribe": ["/time"]
}
EOF
  board sh -c 'echo "# added on this board: kept on upgrade" >>/etc/vsoa.pos'
  board systemctl daemon-reload
  board systemctl start demo-server.service
  wait_for 20 board vsoa call "vsoa://127.0.0.1:$DEMO_PORT/echo" --timeout 1000 || return 1
  board systemctl reload vsoa-position.service # the table also reloads on change; this is explicit
  board systemctl enable --now "$ROBOT" >/dev/null 2>&1
}

check_1() {
  local rc inv0 inv1 sums0 sums1 u c missing=() pinv rinv
  board /tmp/vsoa/deploy/install.sh --dry-run >"$OUT/install-dry-run.log" 2>&1 ||
    { EV="install.sh --dry-run: exit $?: $(tail -n1 "$OUT/install-dry-run.log")"; return 1; }
  local t0
  t0=$(now)
  board /tmp/vsoa/deploy/install.sh >"$OUT/install.log" 2>&1 ||
    { rc=$?; EV="install.sh: exit $rc: $(tail -n1 "$OUT/install.log")"; return 1; }
  local t_install=$(($(now) - t0))
  for u in "${UNITS[@]}"; do
    board cmp -s "/tmp/vsoa/systemd/$u" "/etc/systemd/system/$u" || missing+=("unit $u")
  done
  board cmp -s "/tmp/vsoa/bin/$(basename "$EXE")" /usr/local/bin/vsoa || missing+=(/usr/local/bin/vsoa)
  while read -r c; do board test -f "/etc/$c" || missing+=("/etc/$c"); done < <(cd "$REPO/deploy/etc" && find . -type f | sed 's|^\./||')
  for u in "${PLAIN_UNITS[@]}"; do
    [ "$(board systemctl is-enabled "$u")" = enabled ] || missing+=("$u enabled")
    is_state "$u" active || missing+=("$u active")
  done
  # The kernel's receive-buffer cap: read on the board, raised or reported (a container's is read-only).
  local rmem
  rmem=$(grep -E '^  (raised |could not raise |)net\.core\.rmem_max' "$OUT/install.log" | head -n1 | sed 's/^  //') || true
  [ -n "$rmem" ] || missing+=('the net.core.rmem_max step in install.log')
  [ "${#missing[@]}" = 0 ] || { EV="after install, missing: ${missing[*]}"; return 1; }
  local first="installed ${#UNITS[@]} units (${UNITS[*]}), /usr/local/bin/vsoa, samples; ${PLAIN_UNITS[*]} enabled+active (install $(secs "$t_install") s); $rmem"

  # Idempotent: a second run changes no file and restarts nothing.
  inv0=$(show vsoa-position.service InvocationID) sums0=$(sums)
  board /tmp/vsoa/deploy/install.sh >"$OUT/install-again.log" 2>&1 || { EV="$first; re-run: exit $?"; return 1; }
  inv1=$(show vsoa-position.service InvocationID) sums1=$(sums)
  [ "$sums0" = "$sums1" ] || { EV="$first; re-run changed files: $(diff <(echo "$sums0") <(echo "$sums1") | head -n3 | tr '\n' ' ')"; return 1; }
  [ "$inv0" = "$inv1" ] || { EV="$first; re-run restarted vsoa-position"; return 1; }

  # Upgrade over a running system: the user's setup, then a newer build with a newer sample.
  user_setup || { EV="$first; re-run idempotent; the user's demo setup failed"; return 1; }
  wait_for 30 is_state "$ROBOT" active || { EV="$first; $ROBOT not active: $(show "$ROBOT" ActiveState)"; return 1; }
  local keep_sums ex_new c0
  keep_sums=$(board sha256sum /etc/vsoa.pos /etc/vsoa/position.json /etc/vsoa/robot-demo.json)
  stage /tmp/vsoa-new
  board sh -c "printf 'newer build\n' >>/tmp/vsoa-new/bin/$(basename "$EXE")
    echo '# a line of the newer release' >>/tmp/vsoa-new/deploy/etc/vsoa.pos
    echo >>/tmp/vsoa-new/deploy/etc/vsoa/robot-example.json"
  ex_new=$(board sha256sum /tmp/vsoa-new/deploy/etc/vsoa/robot-example.json | cut -d' ' -f1)
  pinv=$(show vsoa-position.service InvocationID) rinv=$(show "$ROBOT" InvocationID) c0=$(mark)
  board /tmp/vsoa-new/deploy/install.sh >"$OUT/install-upgrade.log" 2>&1 || { EV="$first; upgrade: exit $?: $(tail -n1 "$OUT/install-upgrade.log")"; return 1; }
  local problems=()
  board cmp -s "/tmp/vsoa-new/bin/$(basename "$EXE")" /usr/local/bin/vsoa || problems+=('executable not upgraded')
  board /usr/local/bin/vsoa --version >/dev/null 2>&1 || problems+=('upgraded executable does not run')
  [ "$(board sha256sum /etc/vsoa.pos /etc/vsoa/position.json /etc/vsoa/robot-demo.json)" = "$keep_sums" ] || problems+=('user configuration changed')
  [ "$(board sha256sum /etc/vsoa/robot-example.json | cut -d' ' -f1)" = "$ex_new" ] || problems+=('untouched sample robot-example.json not updated')
  for u in vsoa-position.service "$ROBOT"; do
    wait_for 30 is_state "$u" active || problems+=("$u not active")
    local n
    n=$(starts_since "$u" "$c0")
    [ "$n" = 1 ] || problems+=("$u started $n times")
  done
  [ "$(show vsoa-position.service InvocationID)" != "$pinv" ] || problems+=('vsoa-position not restarted')
  [ "$(show "$ROBOT" InvocationID)" != "$rinv" ] || problems+=("$ROBOT not restarted")
  [ "${#problems[@]}" = 0 ] || { EV="$first; upgrade: ${problems[*]}"; return 1; }
  EV="$first; re-run: no file changed, no restart; upgrade: new executable, user's vsoa.pos/position.json/robot-demo.json kept, untouched sample updated, vsoa-position and $ROBOT restarted once each"
}

check_2() {
  local out call
  is_state vsoa-position.service active || { EV="vsoa-position: $(show vsoa-position.service ActiveState)"; return 1; }
  out=$(board vsoa lookup demo 2>&1) || { EV="vsoa lookup demo: $out"; return 1; }
  case $out in "127.0.0.1 $DEMO_PORT"*) ;; *) EV="vsoa lookup demo: '$out' (want 127.0.0.1 $DEMO_PORT)"; return 1 ;; esac
  call=$(board vsoa call vsoa://demo/echo --param '{"from":"board"}' 2>&1) || { EV="lookup ok ('$out'); vsoa call vsoa://demo/echo: $call"; return 1; }
  EV="vsoa-position active; 'vsoa lookup demo' → '$out' (from /etc/vsoa.pos); 'vsoa call vsoa://demo/echo' → $(echo "$call" | tr '\n' ' ' | cut -c1-80)"
}

check_3() {
  local props t_ready c0 down pr
  wait_for 30 is_state "$ROBOT" active || { EV="$ROBOT: $(show "$ROBOT" ActiveState)"; return 1; }
  props=$(board systemctl show -p Type,ActiveState,SubState "$ROBOT" | tr '\n' ' ')
  case $props in *Type=notify*ActiveState=active*SubState=running* | *ActiveState=active*SubState=running*Type=notify*) ;;
    *) EV="$ROBOT: $props"; return 1 ;; esac
  t_ready=$((($(show "$ROBOT" ActiveEnterTimestampMonotonic) - $(show "$ROBOT" ExecMainStartTimestampMonotonic)) / 1000))
  wait_for 10 status_has "$ROBOT" connected || { EV="$props; status '$(show "$ROBOT" StatusText)' (want connected)"; return 1; }
  local up
  up=$(show "$ROBOT" StatusText)
  # The link's other state, and a warning to look for in the journal: the server away for 3 s.
  c0=$(mark)
  board systemctl stop demo-server.service
  wait_for 15 status_lacks "$ROBOT" connected || true
  down=$(show "$ROBOT" StatusText)
  sleep 3
  board systemctl start demo-server.service
  wait_for 30 status_has "$ROBOT" connected || { EV="$props; status stuck at '$(show "$ROBOT" StatusText)'"; return 1; }
  board journalctl -q -u "$ROBOT" --since="@$c0" -o json >"$OUT/robot-journal.json"
  pr=$(node "$HERE/journal.mjs" info warn <"$OUT/robot-journal.json")
  local rc=$?
  local filtered
  filtered=$(board journalctl -q -u "$ROBOT" --since="@$c0" -p warning -o cat | head -n1)
  EV="$props READY after $(secs "$t_ready") s; status '$up', server away: '$down'; priorities $pr; journalctl -p warning: ${filtered:-nothing}"
  [ "$rc" = 0 ] && [ -n "$filtered" ]
}

check_4() {
  local pid n0 t0 t_stop t_kill problems=() wd rs limit
  wd=$(span_s "$(show "$ROBOT" WatchdogUSec)") rs=$(span_s "$(show "$ROBOT" RestartUSec)")
  limit=$((wd + rs + WATCHDOG_SLACK))
  # SIGSTOP: no more WATCHDOG=1, systemd kills (SIGABRT) and restarts it.
  pid=$(show "$ROBOT" MainPID) n0=$(show "$ROBOT" NRestarts) t0=$(now)
  board systemctl kill --kill-who=main -s SIGSTOP "$ROBOT"
  if wait_for $((limit)) restarts_above "$ROBOT" "$n0"; then
    t_stop=$(ms_since "$t0")
    [ $((t_stop / 1000)) -le "$limit" ] || problems+=("SIGSTOP: restart after $(secs "$t_stop") s > $limit s")
  else
    problems+=("SIGSTOP: no restart within $((limit * SLOW)) s (NRestarts $(show "$ROBOT" NRestarts))")
  fi
  wait_for 30 is_state "$ROBOT" active || problems+=("after SIGSTOP: $(show "$ROBOT" ActiveState)")
  local wdlog
  wdlog=$(board journalctl -q -u "$ROBOT" -o cat --since "-$((limit * SLOW + 40))s" | grep -m1 -i 'watchdog timeout' || true)
  [ -n "$wdlog" ] || problems+=('no "Watchdog timeout" in the journal')
  # SIGKILL: Restart=on-failure.
  pid=$(show "$ROBOT" MainPID) n0=$(show "$ROBOT" NRestarts) t0=$(now)
  board systemctl kill --kill-who=main -s SIGKILL "$ROBOT"
  if wait_for $((rs + WATCHDOG_SLACK)) restarts_above "$ROBOT" "$n0" && wait_for 30 is_state "$ROBOT" active; then
    t_kill=$(ms_since "$t0")
  else
    problems+=("SIGKILL: not restarted (NRestarts $(show "$ROBOT" NRestarts), $(show "$ROBOT" ActiveState))")
  fi
  wait_for 30 status_has "$ROBOT" connected || problems+=("not connected after restarts: $(show "$ROBOT" StatusText)")
  # The server frozen (SIGSTOP: no FIN, no RST) for longer than the robot needs to notice: the
  # robot resets the link and retries, keeps sending WATCHDOG=1 (it is healthy), is not restarted.
  pid=$(show "$ROBOT" MainPID) n0=$(show "$ROBOT" NRestarts)
  local c1 msgs st last='' seen=() end
  board systemctl kill --kill-who=main -s SIGSTOP demo-server.service
  # The robot's status line, sampled through the outage: it must leave "connected to".
  end=$(($(now) + OUTAGE * 1000))
  while [ "$(now)" -lt "$end" ]; do
    st=$(show "$ROBOT" StatusText | sed 's/, [0-9]* messages$//')
    [ "$last" = "$st" ] || seen+=("$st")
    last=$st
    sleep 0.5
  done
  local during
  during=$(printf '%s → ' "${seen[@]}")
  during=${during% → }
  printf '%s\n' "${seen[@]}" | grep -qv '^connected to' ||
    problems+=("the robot did not notice the frozen server in $OUTAGE s")
  c1=$(mark)
  board systemctl kill --kill-who=main -s SIGCONT demo-server.service
  if ! wait_for 40 status_has "$ROBOT" connected; then
    problems+=("not reconnected $((40 * SLOW)) s after the server returned: $(show "$ROBOT" StatusText)")
  fi
  [ "$(show "$ROBOT" MainPID)" = "$pid" ] && [ "$(show "$ROBOT" NRestarts)" = "$n0" ] ||
    problems+=("restarted during the outage (pid $pid → $(show "$ROBOT" MainPID), NRestarts $n0 → $(show "$ROBOT" NRestarts))")
  wait_for 10 has_time_msgs "$c1" || true
  msgs=$(time_msgs "$c1")
  [ "$msgs" -gt 0 ] || problems+=('no /time message after the reconnect (not re-subscribed)')
  EV="SIGSTOP → restarted after $(secs "${t_stop:-0}") s (WatchdogSec ${wd} s + RestartSec ${rs} s + slack ${WATCHDOG_SLACK} s = $limit s), '$wdlog'; SIGKILL → active again after $(secs "${t_kill:-0}") s; server frozen ${OUTAGE} s: status '$during', same pid, NRestarts $n0, reconnected, $msgs /time messages since"
  [ "${#problems[@]}" = 0 ] || { EV="${problems[*]}; $EV"; return 1; }
}

check_5() {
  local u=vsoa-robot@broken.service c0 t0 t_exit st res nr line lines pid prio
  board sh -c 'echo "{ \"server\": \"vsoa://demo\", \"keepalive\": \"soon\" }" >/etc/vsoa/robot-broken.json'
  c0=$(mark) t0=$(now)
  board systemctl start "$u" >/dev/null 2>&1 && { EV="$u started with a broken configuration"; return 1; }
  wait_for 20 is_state "$u" failed || { EV="$u: $(show "$u" ActiveState) after $((20 * SLOW)) s"; return 1; }
  t_exit=$(ms_since "$t0")
  sleep $((2 * $(span_s "$(show "$u" RestartUSec)") + 1)) # a restart would have happened by now
  st=$(show "$u" ExecMainStatus) res=$(show "$u" Result) nr=$(show "$u" NRestarts) pid=$(show "$u" ExecMainPID)
  # The process's own lines (not systemd's): _PID is the main process.
  lines=$(board journalctl -q -u "$u" --since="@$c0" _PID="$pid" -o cat)
  line=$(echo "$lines" | grep -m1 -i 'keepalive' || true)
  prio=$(board journalctl -q -u "$u" --since="@$c0" _PID="$pid" -o json | grep -i keepalive | grep -o '"PRIORITY":"[0-9]"' | head -n1 | grep -o '[0-9]' || true)
  board rm -f /etc/vsoa/robot-broken.json
  board systemctl reset-failed "$u" 2>/dev/null || true
  EV="exit status $st ($res) after $(secs "$t_exit") s, NRestarts $nr, $(echo "$lines" | grep -c .) line(s) from the process: '$line' at priority ${prio:-?}"
  [ "$st" = 2 ] && [ "$nr" = 0 ] && [ -n "$line" ] && [ "$(echo "$lines" | grep -c .)" = 1 ] && [ -n "$prio" ] && [ "$prio" -le 3 ]
}

# Exposure of every unit (templates through an instance); OK when all <= 2.5 and checks 1-5 passed.
check_6() {
  local u name score all=() bad=0
  for u in "${UNITS[@]}"; do
    case $u in *@.*) name=${u%@.*}@$([ "$u" = vsoa-robot@.service ] && echo demo || echo board).${u##*.} ;; *) name=$u ;; esac
    board systemd-analyze security --no-pager "$name" >"$OUT/security-$name.txt" 2>&1
    score=$(grep -o 'Overall exposure level for [^:]*: [0-9.]*' "$OUT/security-$name.txt" | awk '{ print $NF }')
    all+=("$name ${score:-?}")
    [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || bad=1
  done
  EXPOSURES=$(IFS=,; echo "${all[*]}")
  EV="exposure: $EXPOSURES (limit 2.5); checks 1-5 with these units: $FAILED_EARLY"
  [ "$bad" = 0 ] && [ "$FAILED_EARLY" = passed ]
}

check_7() {
  local before kept problems=() left
  board systemctl stop demo-server.service
  board rm -f /etc/systemd/system/demo-server.service
  before=$(board sh -c 'ls -d /var/lib/private/vsoa-* /var/cache/private/vsoa-* 2>/dev/null' | tr '\n' ' ')
  local kept_files=(/etc/vsoa.pos /etc/vsoa/position.json /etc/vsoa/robot-demo.json /etc/sysctl.d/30-vsoa-edge.conf)
  kept=$(board sha256sum "${kept_files[@]}")
  board /tmp/vsoa/deploy/install.sh --uninstall >"$OUT/uninstall.log" 2>&1 || { EV="--uninstall: exit $?"; return 1; }
  left=$(board sh -c 'ls -d /usr/local/bin/vsoa /etc/systemd/system/vsoa-*.service /etc/systemd/system/*.wants/vsoa-* /var/lib/private/vsoa-* /var/cache/private/vsoa-* /var/lib/vsoa-* /var/cache/vsoa-* 2>/dev/null' | tr '\n' ' ')
  [ -z "$left" ] || problems+=("left: $left")
  local loaded
  loaded=$(board systemctl list-units --all --plain --no-legend 'vsoa-*' | awk '$3 != "inactive" || $2 != "not-found"' | tr '\n' ' ')
  [ -z "$loaded" ] || problems+=("units still loaded: $loaded")
  [ "$(board sha256sum "${kept_files[@]}" 2>&1)" = "$kept" ] || problems+=('configuration not kept')
  board /tmp/vsoa/deploy/install.sh --purge >"$OUT/purge.log" 2>&1 || problems+=("--purge: exit $?")
  left=$(board sh -c 'ls -d /etc/vsoa.pos /etc/vsoa /etc/sysctl.d/30-vsoa-edge.conf 2>/dev/null' | tr '\n' ' ')
  [ -z "$left" ] || problems+=("--purge left $left")
  EV="state before: ${before:-none}; --uninstall removed units, executable, state, kept /etc/vsoa.pos /etc/vsoa/ /etc/sysctl.d/30-vsoa-edge.conf; --purge removed the configuration"
  [ "${#problems[@]}" = 0 ] || { EV="${problems[*]}; state before: $before"; return 1; }
}

# From the host, `vsoa bench` against `vsoa bench serve` on the board, over the veth link.
check_8() {
  local report=$OUT/bench-$ARCH.json t0 rc summary
  board systemd-run --quiet --unit=vsoa-bench-serve --collect /usr/local/bin/vsoa bench serve --host 0.0.0.0 --port "$BENCH_PORT" >/dev/null
  wait_for 30 "${HOST_VSOA[@]}" call "vsoa://$BOARD_IP:$BENCH_PORT/echo" --timeout 2000 ||
    { EV="no bench server at $BOARD_IP:$BENCH_PORT"; board systemctl stop vsoa-bench-serve; return 1; }
  t0=$(now)
  timeout $((120 * SLOW)) "${HOST_VSOA[@]}" bench "vsoa://$BOARD_IP:$BENCH_PORT" --duration 1 --json >"$report" 2>"$OUT/bench.log"
  rc=$?
  board systemctl stop vsoa-bench-serve 2>/dev/null || true
  [ "$rc" = 0 ] || { EV="vsoa bench: exit $rc: $(tail -n1 "$OUT/bench.log")"; return 1; }
  summary=$(node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const s = r.rpc.find((x) => x.size === 0).sequential;
    const q = (r.quick ?? [])[0];
    const quick = q ? `, quick 0 B ${q.rate}/s ${q.sent} sent ${q.echoed} echoed` : "";
    console.log(`RPC 0 B sequential ${s.callsPerSec} calls/s p50 ${s.latency.p50Us} us, ${r.rpc.length} sizes${quick}`);
  ' "$report" 2>&1) || { EV="report $report unreadable: $summary"; return 1; }
  EV="vsoa bench vsoa://$BOARD_IP:$BENCH_PORT --duration 1 --json ($(secs "$(ms_since "$t0")") s): $summary; saved ${report#"$REPO"/}"
}

#!/usr/bin/env bash
# Smoke test of the built executables (run cross/build.sh first): for each target, under qemu
# for ARM, `vsoa --version` must name the right architecture and the embedded Node.js version,
# a usage error must exit 2, and the embedded native addon must be extracted to
# $RUNTIME_DIRECTORY and load into the target's node; then `vsoa serve` on the target answers
# a `vsoa call` from the host over loopback, with the addon loaded, and stops on SIGTERM.
# Usage: cross/smoke.sh [target...]   (default: every target with a dist/bin executable)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source cross/targets.sh

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for t in "${CROSS_TARGETS[@]}"; do [ -x "dist/bin/vsoa-linux-$t" ] && targets+=("$t"); done
fi
[ "${#targets[@]}" -gt 0 ] || { echo 'smoke: no executables in dist/bin: run npm run cross first' >&2; exit 1; }

version=$(node -p "require('./package.json').version")
name=$(node -p "require('./package.json').name")
passed=0 failed=0
ok() { echo "smoke: $t: ok: $1"; passed=$((passed + 1)); }
bad() { echo "smoke: $t: FAILED: $1" >&2; failed=$((failed + 1)); }

# The host side of the call: the x64 executable when built, else the sources.
if [ -x dist/bin/vsoa-linux-x64 ]; then host_vsoa=(dist/bin/vsoa-linux-x64); else host_vsoa=(node_modules/.bin/tsx src/cli/main.ts); fi

serve_check() {
  local rundir=$1
  local out=$rundir/serve.out err=$rundir/serve.err pid port reply i
  RUNTIME_DIRECTORY=$rundir "${runner[@]}" "$exe" serve --host 127.0.0.1 --port 0 --json --log-level debug \
    >"$out" 2>"$err" &
  pid=$!
  # Bounded poll: the listening line is the only signal (up to 30 s: qemu is slow to start).
  for ((i = 0; i < 300; i++)); do
    grep -q listening "$out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out")
  if [ -z "$port" ]; then
    bad "serve did not start: $(head -c 500 "$err")"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return
  fi
  reply=$("${host_vsoa[@]}" call "vsoa://127.0.0.1:$port/echo" --param '{"smoke":"'"$t"'"}' --log-level error 2>&1)
  if [ "$reply" = "status 0: param={\"smoke\":\"$t\"}" ]; then ok "serve answered a call from the host"; else bad "call: $reply"; fi
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  if [ "$rc" -eq 0 ]; then ok 'serve stopped cleanly on SIGTERM'; else bad "serve exited $rc on SIGTERM"; fi
  if grep -q 'native addon' "$err"; then bad "addon not loaded in serve: $(grep 'native addon' "$err" | head -1)"; else ok 'no native addon warning'; fi
}

for t in "${targets[@]}"; do
  check_target "$t"
  exe=dist/bin/vsoa-linux-$t
  read -r -a runner <<<"${RUNNER[$t]}"

  expected="$name $version (node v${NODE_VERSION[$t]}, linux-$t)"
  rundir=$(mktemp -d)
  out=$(RUNTIME_DIRECTORY=$rundir "${runner[@]}" "$exe" --version 2>&1)
  if [ "$out" = "$expected" ]; then ok "--version: $out"; else bad "--version printed '$out', expected '$expected'"; fi

  "${runner[@]}" "$exe" --no-such-option >/dev/null 2>&1
  rc=$?
  if [ "$rc" -eq 2 ]; then ok 'usage error exits 2'; else bad "usage error exited $rc, expected 2"; fi

  addon=$(find "$rundir" -name 'vsoa_native-*.node' | head -1)
  if [ -z "$addon" ]; then
    echo "smoke: $t: note: no addon extracted (built without it?)"
  elif [ ! -x "$(node_dir "$t")/bin/node" ]; then
    echo "smoke: $t: note: $(node_dir "$t") missing, addon load not checked"
  else
    exports=$("${runner[@]}" "$(node_dir "$t")/bin/node" -e \
      'const m={exports:{}};process.dlopen(m,process.argv[1]);console.log(Object.keys(m.exports).sort().join(","))' \
      "$addon" 2>&1)
    if [ "$exports" = 'getLinger,getsockopt,notify,setLinger,setsockopt' ]; then
      ok "embedded addon extracted and loads ($(stat -c %s "$addon") bytes)"
    else
      bad "extracted addon does not load: $exports"
    fi
  fi

  serve_check "$rundir"
  rm -rf "$rundir"
done

echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

# tests/browser/lib.sh — what the browser test drivers (run.sh, dashboard.sh,
# signup.sh) share. Source it after setting HERE (this folder), TMP (the
# test's temp dir) and fail() (prints "not ok - …" and exits).

# stop_pid PID: SIGTERM, then SIGKILL after 15 s; returns the process's exit
# status (0 for an empty PID).
stop_pid() {
  local pid=$1 i st=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null && echo "# pid $pid did not stop on SIGTERM within 15 s: killed"
  wait "$pid" 2>/dev/null || st=$?
  return $st
}

# browser_npm_ci: install playwright-core into $HERE/node_modules, again only
# when package-lock.json changed since the last install; fails the test when
# npm cannot.
browser_npm_ci() {
  local stamp=$HERE/node_modules/.package-lock.json
  if [ ! -d "$HERE/node_modules/playwright-core" ] || [ ! -f "$stamp" ] || [ "$HERE/package-lock.json" -nt "$stamp" ]; then
    echo "# npm ci (tests/browser)"
    if ! (cd "$HERE" && npm ci --no-audit --no-fund --prefer-offline >"$TMP/npm-ci.log" 2>&1); then
      sed 's/^/# npm: /' "$TMP/npm-ci.log" | tail -15
      fail "npm ci could not install playwright-core (no network and no npm cache?); run 'cd tests/browser && npm ci' once online"
    fi
  fi
}

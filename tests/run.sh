#!/usr/bin/env bash
# tests/run.sh — parley's whole test suite: installs what is missing, builds
# the release and the ASan/UBSan builds, then runs
#   1. source checks (banned functions),
#   2. unit tests (cmocka, under ASan/UBSan),
#   3. fuzz corpus replay (every parser of outside input, under ASan/UBSan),
#   4. integration tests: the real build/parley on generated, bad and real
#      audio, then all of them again with the ASan/UBSan build,
#   5. the recorder page, the dashboard and the sign-up over HTTPS in a real
#      browser (tests/browser/run.sh, dashboard.sh, signup.sh),
#   6. real-recording checks when ../shared/data exists.
# Every check prints one TAP-style "ok"/"not ok" line; the last line is
# "N passed, N failed" (CI reads it). Exit status is 0 only when none failed.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PARLEY_ROOT=$ROOT

if [ "${PARLEY_SKIP_INSTALL:-0}" != 1 ]; then
  bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }
fi

JOBS=$(nproc 2>/dev/null || echo 2)
echo "== build (release and sanitizer)"
if ! make -j"$JOBS" tools >/tmp/parley-build.log 2>&1; then
  tail -40 /tmp/parley-build.log; echo "0 passed, 1 failed"; exit 1
fi
if ! make -j"$JOBS" SAN=1 tools >/tmp/parley-build-san.log 2>&1; then
  tail -40 /tmp/parley-build-san.log; echo "0 passed, 1 failed"; exit 1
fi

# One PostgreSQL and one Redis for the whole suite (tests/lib/servers.sh),
# in the suite's own temp dir; the unit and integration tests reach them
# through PARLEY_TEST_PG_URL and PARLEY_TEST_REDIS_URL. They are stopped by
# PID on exit, whatever happens. Both come from scripts/install-deps.sh, so a
# server that does not start is a failure of the suite, not a skip.
# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/parley-suite.XXXXXX")
trap 'servers_stop_all; rm -rf "$SUITE_TMP"' EXIT
echo "== servers (PostgreSQL, Redis)"
if ! pg_start "$SUITE_TMP/servers"; then
  echo "not ok - PostgreSQL for the suite did not start (see above)"; echo "0 passed, 1 failed"; exit 1
fi
if ! redis_start "$SUITE_TMP/servers"; then
  echo "not ok - Redis for the suite did not start (see above)"; echo "0 passed, 1 failed"; exit 1
fi
export PARLEY_TEST_PG_URL=$PG_URL PARLEY_TEST_REDIS_URL=$REDIS_URL
echo "PostgreSQL: $PARLEY_TEST_PG_URL (pid $PG_PID); Redis: $PARLEY_TEST_REDIS_URL (pid $REDIS_PID)"

PASS=0 FAIL=0 SKIP=0
FAILED_NAMES=()
TIMES=()  # "seconds name" per logged test: the slowest are listed at the end
# Count TAP lines from a command's output; a non-zero exit with no "not ok"
# line counts as one failure (a crash).
tally() {  # name, log file, exit status
  local name=$1 log=$2 status=$3
  local ok notok skip
  ok=$(grep -aE '^ok ' "$log" | grep -cviE '# skip' || true)
  skip=$(grep -aciE '^(not )?ok .*# skip' "$log" || true)
  notok=$(grep -aE '^not ok ' "$log" | grep -cviE '# skip' || true)
  PASS=$((PASS + ok)); FAIL=$((FAIL + notok)); SKIP=$((SKIP + skip))
  if [ "$notok" -gt 0 ]; then FAILED_NAMES+=("$name"); fi
  # NUL bytes usually mean something reopened the log and truncated it
  # (e.g. `tee /dev/stderr`): lines before that are lost from the count
  if [ "$(tr -dc '\000' <"$log" | head -c 1 | wc -c)" -gt 0 ]; then
    echo "# warning: $name's output holds NUL bytes (a truncated log? lines may be lost)"
  fi
  if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then
    FAIL=$((FAIL + 1)); FAILED_NAMES+=("$name (exit $status)")
    echo "not ok - $name exited with status $status"
  fi
}

# Print a finished test's TAP lines (prefixed with its name) and its time,
# its last 30 lines when it failed, and tally it.
report() {  # name, log file, exit status, seconds
  local name=$1 log=$2 status=$3 secs=$4
  grep -aE '^(ok|not ok) |^# ' "$log" | sed "s/^/[$name] /"
  echo "[$name] took $secs s"
  TIMES+=("$secs $name")
  if [ "$status" -ne 0 ]; then echo "--- $name output (last 30 lines)"; tail -30 "$log"; fi
  tally "$name" "$log" "$status"
  rm -f "$log"
}
run_logged() {  # name, command...: run it now, then report it
  local name=$1; shift
  local log; log=$(mktemp)
  local t0=$SECONDS
  "$@" >"$log" 2>&1
  local status=$?
  report "$name" "$log" $status $((SECONDS - t0))
}

# The integration, browser and chaos tests run PARLEY_TEST_JOBS at a time
# (default 2): most of their time is spent waiting on servers, workers,
# leases and retries, not computing. Each has its own temp dir, ports (0),
# PostgreSQL database or schema and Redis key prefix, so they do not meet.
# PARLEY_TEST_JOBS=1 runs them one after another.
TEST_JOBS=${PARLEY_TEST_JOBS:-2}
case $TEST_JOBS in '' | *[!0-9]* | 0) echo "PARLEY_TEST_JOBS=$TEST_JOBS is not a positive integer"; exit 2 ;; esac
declare -A POOL_NAME=() POOL_LOG=() POOL_T0=()
pool_reap() {  # wait for one pooled test to end, then report it
  local pid="" status
  wait -n -p pid "${!POOL_NAME[@]}"
  status=$?
  [ -n "$pid" ] && [ -n "${POOL_NAME[$pid]:-}" ] || return 0
  report "${POOL_NAME[$pid]}" "${POOL_LOG[$pid]}" "$status" $((SECONDS - POOL_T0[$pid]))
  unset "POOL_NAME[$pid]" "POOL_LOG[$pid]" "POOL_T0[$pid]"
}
pool_run() {  # name, command...: start it once fewer than TEST_JOBS run
  local name=$1; shift
  while [ "${#POOL_NAME[@]}" -ge "$TEST_JOBS" ]; do pool_reap; done
  local log; log=$(mktemp)
  "$@" >"$log" 2>&1 </dev/null &
  POOL_NAME[$!]=$name POOL_LOG[$!]=$log POOL_T0[$!]=$SECONDS
}
pool_drain() {
  while [ "${#POOL_NAME[@]}" -gt 0 ]; do pool_reap; done
}

echo "== source checks"
run_logged source bash tests/check_source.sh

echo "== unit tests (ASan/UBSan)"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in build-san/tests/test_*; do
  [ -x "$t" ] || continue
  run_logged "$(basename "$t")" "$t"
done

echo "== fuzz corpus replay (ASan/UBSan)"
for r in build-san/tests/replay_*; do
  [ -x "$r" ] || continue
  name=${r##*/replay_}
  log=$(mktemp)
  if "$r" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
    echo "ok - fuzz corpus $name: $(tail -1 "$log")"; PASS=$((PASS + 1))
  else
    echo "not ok - fuzz corpus $name"; tail -20 "$log"; FAIL=$((FAIL + 1)); FAILED_NAMES+=("fuzz $name")
  fi
  rm -f "$log"
done

echo "== integration, browser and chaos tests, $TEST_JOBS at a time (release, then the ASan/UBSan build)"
# Sanitizer reports from any process of the ASan runs (workers included) land in SANLOG.
SANLOG=$(mktemp -d "${TMPDIR:-/tmp}/parley-san.XXXXXX")
for t in tests/integration/test_*.sh; do
  pool_run "$(basename "$t" .sh)" bash "$t"
done
# Debian's Chromium driven by playwright-core; screenshots in build/test-artifacts/browser, …/dashboard, …/signup
pool_run browser bash tests/browser/run.sh
pool_run dashboard bash tests/browser/dashboard.sh
pool_run signup bash tests/browser/signup.sh
for t in tests/integration/test_*.sh; do
  pool_run "san $(basename "$t" .sh)" env ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$SANLOG/asan" \
    UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$SANLOG/ubsan" PARLEY_BIN="$ROOT/build-san/parley" bash "$t"
done
# chaos (release build): SIGKILL workers mid-batch; make chaos runs this alone
for m in sqlite pg-redis pg-redis-restart; do
  pool_run "chaos $m" bash tests/chaos/chaos.sh "$m" 2000
done
pool_drain
if [ -z "$(ls -A "$SANLOG")" ]; then
  echo "ok - no sanitizer report from any process of the integration tests"; PASS=$((PASS + 1))
else
  echo "not ok - sanitizer reports:"; head -50 "$SANLOG"/*; FAIL=$((FAIL + 1)); FAILED_NAMES+=("sanitizer reports")
fi
rm -rf "$SANLOG"

echo
echo "slowest tests (s):"
printf '%s\n' "${TIMES[@]}" | sort -rn | head -8 | sed 's/^/  /'
echo "total $SECONDS s"
echo "$SKIP skipped"
if [ ${#FAILED_NAMES[@]} -gt 0 ]; then printf 'failed: %s\n' "${FAILED_NAMES[@]}"; fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]

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

# The unit tests, the fuzz corpus replays, and then the integration, browser
# and chaos tests run PARLEY_TEST_JOBS at a time (default 2; each group ends
# before the next starts): most of the integration tests' time is spent
# waiting on servers, workers, leases and retries, not computing. Each has its own temp dir, ports (0),
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

# The unit tests and the fuzz corpus replays run TEST_JOBS at a time too,
# by themselves: they are done (pool_drain) before any integration test
# starts, because test_queue_redis flushes the Redis server's script cache
# and counts its own round trips. Each unit test has its own temp dir and
# PostgreSQL schema.
echo "== unit tests (ASan/UBSan), $TEST_JOBS at a time"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in build-san/tests/test_*; do
  [ -x "$t" ] || continue
  pool_run "$(basename "$t")" "$t"
done
pool_drain

echo "== fuzz corpus replay (ASan/UBSan), $TEST_JOBS at a time"
replay() {  # name: one "ok"/"not ok" line, and the replay's output when it fails
  local log; log=$(mktemp)
  if "build-san/tests/replay_$1" "tests/fuzz/corpus/$1" >"$log" 2>&1; then
    echo "ok - fuzz corpus $1: $(tail -1 "$log")"; rm -f "$log"
  else
    echo "not ok - fuzz corpus $1"; tail -20 "$log"; rm -f "$log"; return 1
  fi
}
for r in build-san/tests/replay_*; do
  [ -x "$r" ] || continue
  pool_run "fuzz ${r##*/replay_}" replay "${r##*/replay_}"
done
pool_drain

echo "== integration, browser and chaos tests (release and ASan/UBSan builds), $TEST_JOBS at a time, slowest first"
# Sanitizer reports from any process of the ASan runs (workers included) land in SANLOG.
SANLOG=$(mktemp -d "${TMPDIR:-/tmp}/parley-san.XXXXXX")
start_test() {  # name: start that integration, browser or chaos test in the pool
  local name=$1
  case $name in
    "san "*) pool_run "$name" env ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$SANLOG/asan" \
      UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$SANLOG/ubsan" PARLEY_BIN="$ROOT/build-san/parley" \
      bash "tests/integration/${name#san }.sh" ;;
    # chaos (release build): SIGKILL workers mid-batch; make chaos runs this alone
    "chaos "*) pool_run "$name" bash tests/chaos/chaos.sh "${name#chaos }" 2000 ;;
    # Debian's Chromium driven by playwright-core; screenshots in build/test-artifacts/browser, …/dashboard, …/signup
    browser) pool_run browser bash tests/browser/run.sh ;;
    dashboard | signup) pool_run "$name" bash "tests/browser/$name.sh" ;;
    *) pool_run "$name" bash "tests/integration/$name.sh" ;;
  esac
}
ALL_TESTS=()
for t in tests/integration/test_*.sh; do ALL_TESTS+=("$(basename "$t" .sh)"); done
ALL_TESTS+=(browser dashboard signup)
for t in tests/integration/test_*.sh; do ALL_TESTS+=("san $(basename "$t" .sh)"); done
ALL_TESTS+=("chaos sqlite" "chaos pg-redis" "chaos pg-redis-restart")
# The slowest first (about 40 s or more in a clean-clone run, slowest
# first), so the run does not end with one long test alone: this list only
# orders; every test of ALL_TESTS runs, listed here or not.
SLOW_FIRST=("san test_resume" test_resume browser test_real_words "san test_remote_engines"
  test_answers "san test_answers" dashboard test_accuracy "san test_batches" test_remote_engines
  test_audit "san test_webhooks" "san test_rules" test_call_metrics "san test_engine" test_webhooks
  "san test_http" test_batches "chaos pg-redis-restart" test_http "san test_real_data"
  "chaos pg-redis" test_real_data "san test_denoise_lid" "san test_pipeline_config" test_rules
  test_engine "san test_queue_cli" "san test_call_metrics" signup)
declare -A STARTED=() KNOWN=()
for n in "${ALL_TESTS[@]}"; do KNOWN[$n]=1; done
for n in "${SLOW_FIRST[@]}" "${ALL_TESTS[@]}"; do
  [ -n "${KNOWN[$n]:-}" ] && [ -z "${STARTED[$n]:-}" ] || continue
  STARTED[$n]=1
  start_test "$n"
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

#!/usr/bin/env bash
# Commit coalescing (commit_window, core/pipeline.h): a worker killed while a
# recording's quick stages sit uncommitted in the window loses exactly those
# stages, which the next worker redoes — every stage's effect is committed
# once. With --commit-window 0 every stage commits alone, as before: the
# stages before the crash stay committed by the worker that ran them.
#
# How: the "noop" pipeline (six test stages, each commit one test_effects
# row naming the committing process). Recording a0 runs first, so the worker
# knows its stages are quick; on b1's first attempt stage tick4 aborts the
# worker process (PARLEY_TEST_FAULTS "crash-once"), with tick1-tick3 held in
# the window. The supervisor restarts the worker, which takes b1 again.
# SQLite always; PostgreSQL too when the suite provides one.
#
# Across recordings (PostgreSQL, core/worker.h): with takes of two
# (PARLEY_TEST_TAKE=2), a0's last stage and finish stay open in the
# transaction that b1's quick stages join; b1 sleeps in tick4 and the
# worker is killed (SIGKILL) while a0 and b1 are both held — seen from
# outside as both rows locked at once. The next worker redoes a0's last
# stage and finish and all of b1: every effect still once.
#
# A poison recording taken ahead (SQLite and PostgreSQL): run_poison_case.
. "$(dirname "$0")/lib.sh"

# submit three empty recordings (the noop stages read no audio) as batch
# PREFIX-LABEL; false (after a notok naming the error) when submit fails
submit_three() {  # label prefix name...
  local label=$1 prefix=$2 in="$TMP/in-$1"
  shift 2
  mkdir -p "$in"
  for n in "$@"; do : >"$in/$n.wav"; done
  "$PARLEY" submit "$in" --pipeline noop --batch "$prefix-$label" >/dev/null 2>"$TMP/submit-$label.log" ||
    { notok "$label: submit ($(head -c 300 "$TMP/submit-$label.log"))"; return 1; }
}

# one store: submit, run a worker with $1 as --commit-window, check
run_case() {  # label window
  local label=$1 window=$2
  submit_three "$label" cw a0 b1 c2 || return
  PARLEY_TEST_FAULTS="tick4 crash-once b1" limit 120 "$PARLEY_TEST" worker --jobs 1 \
    --commit-window "$window" --lease 5 -q >"$TMP/worker-$label.log" 2>&1
  check "$label: the worker finishes after its crash (status $?)" test $? -eq 0
  check "$label: every recording done" \
    test "$(sql "SELECT count(*) FROM recordings WHERE status = 'done'")" = 3
  check "$label: every stage's effect committed exactly once" \
    test "$(sql "SELECT count(*) FROM test_effects")" = 18 -a \
    "$(sql "SELECT count(*) FROM (SELECT recording_id, stage FROM test_effects GROUP BY 1, 2 HAVING count(*) > 1) d")" = 0
  check "$label: b1 was taken twice (crashed once)" \
    test "$(sql "SELECT attempts FROM recordings WHERE name = 'b1'")" = 2
  local q="SELECT count(DISTINCT e.owner) FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.name = 'b1'"
  local first_owners; first_owners=$(sql "$q AND e.stage IN ('tick1', 'tick2', 'tick3')")
  local all_owners; all_owners=$(sql "$q")
  local a0_owner; a0_owner=$(sql "SELECT min(e.owner) FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.name = 'a0'")
  local b1_t1; b1_t1=$(sql "SELECT e.owner FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.name = 'b1' AND e.stage = 'tick1'")
  if [ "$window" = 0 ]; then
    check "$label: tick1-tick3 of b1 stayed committed by the crashed worker ($b1_t1 = a0's $a0_owner)" \
      test "$b1_t1" = "$a0_owner" -a "$first_owners" = 1 -a "$all_owners" = 2
  else
    check "$label: tick1-tick3 of b1, held in the window, were lost and redone by the next worker ($b1_t1, not a0's $a0_owner)" \
      test "$b1_t1" != "$a0_owner" -a "$all_owners" = 1
  fi
  check "$label: no lease left" \
    test "$(sql "SELECT count(*) FROM recordings WHERE lease_owner IS NOT NULL")" = 0
}

# PostgreSQL only: two recordings of one take held in one transaction.
run_carry_case() {  # label
  local label=$1
  submit_three "$label" carry a0 b1 c2 || return
  PARLEY_TEST_TAKE=2 PARLEY_TEST_FAULTS="tick4 sleep b1 3600" setsid "$PARLEY_TEST" worker --jobs 1 \
    --commit-window 5 --lease 5 -q >"$TMP/worker-$label.log" 2>&1 &
  local pid=$!
  # both rows locked by the one worker's one transaction: a0 finished, b1 started
  local held=0
  for _ in $(seq 1 400); do
    if [ "$(sql "SELECT count(*) FROM (SELECT 1 FROM recordings WHERE name IN ('a0', 'b1') FOR UPDATE SKIP LOCKED) x")" = 0 ]; then
      held=1
      break
    fi
    sleep 0.05
  done
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  check "$label: a0's finish and b1's first stages were held in one open transaction" test "$held" = 1
  check "$label: nothing of b1 was committed by the killed worker" \
    test "$(sql "SELECT count(*) FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.name = 'b1'")" = 0
  limit 120 "$PARLEY" worker --jobs 1 --commit-window 5 --lease 5 -q >"$TMP/worker2-$label.log" 2>&1
  check "$label: the next worker finishes (status $?)" test $? -eq 0
  check "$label: every recording done" \
    test "$(sql "SELECT count(*) FROM recordings WHERE status = 'done'")" = 3
  check "$label: every stage's effect committed exactly once" \
    test "$(sql "SELECT count(*) FROM test_effects")" = 18 -a \
    "$(sql "SELECT count(*) FROM (SELECT recording_id, stage FROM test_effects GROUP BY 1, 2 HAVING count(*) > 1) d")" = 0
  local e="SELECT e.owner FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE"
  local a0_first a0_last b1_owners b1_owner
  a0_first=$(sql "$e r.name = 'a0' AND e.stage = 'tick1'")
  a0_last=$(sql "$e r.name = 'a0' AND e.stage = 'tick6'")
  b1_owners=$(sql "SELECT count(DISTINCT owner) FROM ($e r.name = 'b1') o")
  b1_owner=$(sql "SELECT min(owner) FROM ($e r.name = 'b1') o")
  check "$label: a0's held last stage was lost with b1 and redone by the next worker ($a0_last, not $a0_first)" \
    test -n "$a0_last" -a "$a0_last" != "$a0_first" -a "$a0_last" = "$b1_owner" -a "$b1_owners" = 1
  check "$label: no lease left" \
    test "$(sql "SELECT count(*) FROM recordings WHERE lease_owner IS NOT NULL")" = 0
}

# A poison recording taken ahead (issue 17, core/worker.h): p1 kills its
# worker in tick3 every time, and takes of two (PARLEY_TEST_TAKE=2) take it
# behind a0. Each recording taken counts its attempt in the take, so after
# max_attempts (3) crashes the worker gives p1 up (dead letters) instead of
# the supervisor restarting workers forever; a0 and c2 are done, each
# effect once, and a0 (held beside p1 at a crash, one attempt more) is not
# failed for p1's crashes.
run_poison_case() {  # label
  local label=$1
  submit_three "$label" poison a0 p1 c2 || return
  PARLEY_TEST_TAKE=2 PARLEY_TEST_FAULTS="tick3 crash p1" limit 120 "$PARLEY_TEST" worker --jobs 1 \
    --lease 5 -q >"$TMP/worker-$label.log" 2>&1
  check "$label: the worker finishes although p1 kills it every time (status $?)" test $? -eq 0
  check "$label: p1 is in the dead letters after 3 attempts" \
    test "$(sql "SELECT status || ' ' || attempts FROM recordings WHERE name = 'p1'")" = "failed 4" -a \
    "$(sql "SELECT count(*) FROM recordings WHERE name = 'p1' AND error LIKE 'gave up after 3 attempts%'")" = 1
  check "$label: a0 and c2 are done" \
    test "$(sql "SELECT count(*) FROM recordings WHERE status = 'done' AND name IN ('a0', 'c2')")" = 2
  check "$label: their effects committed exactly once" \
    test "$(sql "SELECT count(*) FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.name <> 'p1'")" = 12 -a \
    "$(sql "SELECT count(*) FROM (SELECT recording_id, stage FROM test_effects GROUP BY 1, 2 HAVING count(*) > 1) d")" = 0
  check "$label: no lease left" \
    test "$(sql "SELECT count(*) FROM recordings WHERE lease_owner IS NOT NULL")" = 0
}

export PARLEY_QUEUE=store
sql() { sqlite3 -batch "$PARLEY_STORE" "$1"; }
for w in 5 0; do
  export PARLEY_STORE="$TMP/sqlite-$w/parley.db"
  mkdir -p "$TMP/sqlite-$w"
  run_case "sqlite-window-$w" "$w"
done
export PARLEY_STORE="$TMP/sqlite-poison/parley.db"
mkdir -p "$TMP/sqlite-poison"
run_poison_case "sqlite-poison-taken-ahead"

if [ -n "${PARLEY_TEST_PG_URL:-}" ]; then
  sep='?'; case "$PARLEY_TEST_PG_URL" in *\?*) sep='&';; esac
  sql() { psql -XAtq "$PARLEY_STORE" -c "$1"; }
  # run one case (its function and arguments after NAME) in a schema of
  # its own, dropped afterwards
  in_schema() {  # name case-function args...
    local schema="cw_$$_$1"
    psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
    export PARLEY_STORE="$PARLEY_TEST_PG_URL${sep}options=-csearch_path%3D$schema"
    export PARLEY_DATA="$TMP/pg-data-$1"
    shift
    "$@"
    psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
  }
  for w in 5 0; do
    in_schema "$w" run_case "postgresql-window-$w" "$w"
  done
  in_schema carry run_carry_case "postgresql-take-held"
  in_schema poison run_poison_case "postgresql-poison-taken-ahead"
else
  ok "postgresql cases # SKIP no PARLEY_TEST_PG_URL"
fi

# A bad window is refused, naming the key.
"$PARLEY" worker --commit-window soon >"$TMP/bad.log" 2>&1
st=$?
check "--commit-window soon is a usage error naming commit_window (status $st)" \
  sh -c "[ $st -eq 2 ] && grep -q \"commit_window wants seconds from 0 to 5, not 'soon'\" '$TMP/bad.log'"
PARLEY_COMMIT_WINDOW=-1 "$PARLEY" worker >"$TMP/bad2.log" 2>&1
st=$?
check "PARLEY_COMMIT_WINDOW=-1 is refused naming the variable (status $st)" \
  sh -c "[ $st -eq 2 ] && grep -q 'PARLEY_COMMIT_WINDOW: commit_window wants seconds' '$TMP/bad2.log'"

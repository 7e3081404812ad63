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
. "$(dirname "$0")/lib.sh"

# one store: submit, run a worker with $1 as --commit-window, check
run_case() {  # label window
  local label=$1 window=$2
  local in="$TMP/in-$label"
  mkdir -p "$in"
  for n in a0 b1 c2; do : >"$in/$n.wav"; done
  "$PARLEY" submit "$in" --pipeline noop --batch "cw-$label" >/dev/null 2>"$TMP/submit-$label.log" ||
    { notok "$label: submit ($(head -c 300 "$TMP/submit-$label.log"))"; return; }
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

export PARLEY_QUEUE=store
sql() { sqlite3 -batch "$PARLEY_STORE" "$1"; }
for w in 5 0; do
  export PARLEY_STORE="$TMP/sqlite-$w/parley.db"
  mkdir -p "$TMP/sqlite-$w"
  run_case "sqlite-window-$w" "$w"
done

if [ -n "${PARLEY_TEST_PG_URL:-}" ]; then
  sep='?'; case "$PARLEY_TEST_PG_URL" in *\?*) sep='&';; esac
  sql() { psql -XAtq "$PARLEY_STORE" -c "$1"; }
  for w in 5 0; do
    schema="cw_$$_$w"
    psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null 2>&1
    export PARLEY_STORE="$PARLEY_TEST_PG_URL${sep}options=-csearch_path%3D$schema"
    export PARLEY_DATA="$TMP/pg-data-$w"
    run_case "postgresql-window-$w" "$w"
    psql -q "$PARLEY_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
  done
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

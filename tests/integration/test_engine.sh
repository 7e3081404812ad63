#!/usr/bin/env bash
# The durable engine on the noop pipeline (six test stages tick1..tick6, each
# writing one countable row into test_effects in its commit), once on SQLite
# with the store queue and once on PostgreSQL + Redis:
#   a. retries: transient-once, transient always, permanent; backoff delays;
#      status / failed / retry,
#   b. graceful stop: SIGTERM during a slow stage (with and without --wait),
#   c. execution-log volume: stage_start/stage_complete/progress, and
#      file_start/file_complete when asked,
#   d. stage-limited workers run one after the other,
#   e. bad configuration and unreachable servers.
# Faults come from PARLEY_TEST_FAULTS, read by parley-test (tests/support/
# parley_test.c, stages/tick.h; the parley binary reads no such variable). Only generous lower
# bounds on times, never tight upper ones.
. "$(dirname "$0")/lib.sh"

# Nothing from the caller's environment may steer the engine here.
unset PARLEY_TEST_FAULTS PARLEY_LOG_FILE_START PARLEY_LOG_FILE_COMPLETE PARLEY_CONFIG \
  PARLEY_STORE PARLEY_QUEUE PARLEY_QUEUE_PREFIX PARLEY_DATA PARLEY_LEASE_SECONDS \
  PARLEY_MAX_ATTEMPTS PARLEY_BACKOFF_BASE PARLEY_PROGRESS_EVERY

RUN_ID="e$$_$RANDOM"
PG_DBS=()
engine_cleanup() {
  local db
  for db in "${PG_DBS[@]}"; do
    psql -X -q -v ON_ERROR_STOP=1 "$PARLEY_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  done
  if [ -n "${PARLEY_TEST_REDIS_URL:-}" ] && command -v redis-cli >/dev/null; then
    local hp=${PARLEY_TEST_REDIS_URL#redis://}; hp=${hp%%/*}
    redis-cli -h "${hp%%:*}" -p "${hp##*:}" --scan --pattern "t_$RUN_ID*" 2>/dev/null |
      xargs -r redis-cli -h "${hp%%:*}" -p "${hp##*:}" del >/dev/null 2>&1
  fi
  cleanup
}
trap engine_cleanup EXIT

now() { date +%s.%N; }
# a >= b (decimals)
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
eq() { [ "$1" = "$2" ]; }
# Wait up to $1 seconds for pid $2 to end; true when it ended.
wait_gone() {
  local i n; n=$(awk -v s="$1" 'BEGIN { print int(s * 10) }')
  for ((i = 0; i < n; i++)); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.1; done
  ! kill -0 "$2" 2>/dev/null
}

# ---- backends: new_store NAME sets DIR (the test's dir), T (store target),
# S (every command's store/queue arguments); q SQL queries the store.
BACKEND=
new_store() {
  local name=$1
  DIR="$TMP/$BACKEND-$name"
  mkdir -p "$DIR/in"
  if [ "$BACKEND" = sqlite ]; then
    T="$DIR/parley.db"
    S=(--store "$T")
  else
    local db="t_${RUN_ID}_${name//-/_}"
    if ! psql -X -q -v ON_ERROR_STOP=1 "$PARLEY_TEST_PG_URL" -c "CREATE DATABASE $db" >/dev/null; then
      notok "[$BACKEND] create database $db"; return 1
    fi
    PG_DBS+=("$db")
    T="${PARLEY_TEST_PG_URL%/*}/$db"
    S=(--store "$T" --data "$DIR/data" --queue "$PARLEY_TEST_REDIS_URL" --queue-prefix "t_${RUN_ID}_$name:")
  fi
}
q() {
  if [ "$BACKEND" = sqlite ]; then
    sqlite3 -batch -cmd ".timeout 5000" "$T" "$1"
  else
    psql -X -q -tA -v ON_ERROR_STOP=1 "$T" -c "$1"
  fi
}
files() {  # names... → empty files DIR/in/NAME.wav
  local n
  for n in "$@"; do : >"$DIR/in/$n.wav"; done
}
submit() {  # batch, dir
  local out
  if out=$("$PARLEY" submit "$2" "${S[@]}" --pipeline noop --batch "$1" 2>&1); then return 0; fi
  echo "# submit failed: $out"; return 1
}
rec() {  # name, columns → the recording's columns joined by '|'
  q "SELECT $2 FROM recordings WHERE name = '$1'"
}
# Every (recording, stage) done has exactly one effect row, and no other rows.
effects_exactly_once() {
  local dup missing extra
  dup=$(q "SELECT count(*) FROM (SELECT recording_id, stage FROM test_effects GROUP BY recording_id, stage HAVING count(*) <> 1) d")
  missing=$(q "SELECT count(*) FROM stage_runs s WHERE s.status = 'done' AND NOT EXISTS (SELECT 1 FROM test_effects e WHERE e.recording_id = s.recording_id AND e.stage = s.stage)")
  extra=$(q "SELECT count(*) FROM test_effects e WHERE NOT EXISTS (SELECT 1 FROM stage_runs s WHERE s.recording_id = e.recording_id AND s.stage = e.stage AND s.status = 'done')")
  [ "$dup" = 0 ] && [ "$missing" = 0 ] && [ "$extra" = 0 ] || { echo "# effects: $dup duplicated, $missing missing, $extra extra"; return 1; }
}
no_lease() { eq "$(q "SELECT count(*) FROM recordings WHERE lease_owner IS NOT NULL")" 0; }

# ---- a. retries
scenario_retries() {
  local B=$BACKEND st t0 t1 out
  new_store retries || return
  files ok-1 ok-2 flaky-1 bad-1 bad-2 perm-1
  check "[$B] a: submit 6 files" submit b "$DIR/in"
  t0=$(now)
  PARLEY_TEST_FAULTS="tick3 transient-once flaky-; tick2 transient bad-; tick4 permanent perm-" \
    PARLEY_LOG_FILE_START=true limit 60 "$PARLEY_TEST" worker "${S[@]}" --jobs 2 --backoff 0.2 --max-attempts 3 \
    >"$DIR/w.log" 2>&1
  st=$?; t1=$(now)
  check "[$B] a: worker exits 0 (status $st)" test $st -eq 0
  for n in ok-1 ok-2; do
    check "[$B] a: $n done after 1 attempt" eq "$(rec $n 'status, attempts')" "done|1"
  done
  check "[$B] a: flaky-1 done after 2 attempts" eq "$(rec flaky-1 'status, attempts')" "done|2"
  for n in bad-1 bad-2; do
    check "[$B] a: $n failed after 3 attempts" eq "$(rec $n 'status, attempts, error_code')" "failed|3|engine"
    check "[$B] a: $n's error names the injected failure" \
      grep -q "tick2: injected transient failure" <<<"$(rec $n error)"
  done
  check "[$B] a: perm-1 failed at once, error_code invalid" \
    eq "$(rec perm-1 'status, attempts, error_code')" "failed|1|invalid"
  check "[$B] a: perm-1's error names the injected failure" \
    grep -q "tick4: injected permanent failure" <<<"$(rec perm-1 error)"
  check "[$B] a: no lease left" no_lease
  # Delays: retries after 0.2 and 0.4 s (±20%): the log says so, and the
  # takes (file_start events) and the whole run are at least that far apart.
  check "[$B] a: first retry of bad-1 waits about 0.2 s" \
    grep -Eq "bad-1: attempt 1 of 3 failed in stage tick2, retrying in 0\.[2] s" "$DIR/w.log"
  check "[$B] a: second retry of bad-1 waits about 0.4 s" \
    grep -Eq "bad-1: attempt 2 of 3 failed in stage tick2, retrying in 0\.[345] s" "$DIR/w.log"
  local starts gaps
  starts=$(q "SELECT e.time FROM events e JOIN recordings r ON r.id = e.recording_id WHERE r.name = 'bad-1' AND e.type = 'file_start' ORDER BY e.time")
  gaps=$(awk 'NR > 1 { printf "%.3f ", $1 - prev } { prev = $1 }' <<<"$starts")
  echo "# bad-1 was taken $(wc -l <<<"$starts") times; gaps between takes: $gaps"
  check "[$B] a: bad-1 taken 3 times" eq "$(wc -l <<<"$starts")" 3
  check "[$B] a: bad-1's takes are >= 0.16 s then >= 0.32 s apart ($gaps)" \
    awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); exit !(n == 2 && a[1] >= 0.16 && a[2] >= 0.32) }'
  check "[$B] a: flaky-1 taken twice, perm-1 once" \
    eq "$(q "SELECT r.name || ':' || count(*) FROM events e JOIN recordings r ON r.id = e.recording_id WHERE e.type = 'file_start' AND r.name IN ('flaky-1', 'perm-1') GROUP BY r.name ORDER BY r.name" | tr '\n' ' ')" "flaky-1:2 perm-1:1 "
  check "[$B] a: giving up took >= 0.48 s ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s)" \
    ge "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 0.48
  # Effects: ok 2x6, flaky 6, bad 2x1 (tick1), perm 3 (tick1..tick3).
  check "[$B] a: effects exactly once per done stage" effects_exactly_once
  check "[$B] a: 23 effect rows in all" eq "$(q "SELECT count(*) FROM test_effects")" 23
  check "[$B] a: flaky-1's tick3 ran twice, committed once" \
    eq "$(q "SELECT s.attempts || ':' || (SELECT count(*) FROM test_effects e WHERE e.recording_id = s.recording_id AND e.stage = 'tick3') FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE r.name = 'flaky-1' AND s.stage = 'tick3'")" "2:1"
  check "[$B] a: one file_error each for bad-1, bad-2, perm-1; none for ok" \
    eq "$(q "SELECT r.name || ':' || count(*) FROM events e JOIN recordings r ON r.id = e.recording_id WHERE e.type = 'file_error' GROUP BY r.name ORDER BY r.name" | grep -v '^flaky' | tr '\n' ' ')" "bad-1:1 bad-2:1 perm-1:1 "
  check "[$B] a: perm-1's file_error names stage tick4" \
    eq "$(q "SELECT e.stage FROM events e JOIN recordings r ON r.id = e.recording_id WHERE e.type = 'file_error' AND r.name = 'perm-1'")" tick4
  out=$("$PARLEY" status b "${S[@]}" 2>&1)
  echo "$out" | sed 's/^/# /'
  check "[$B] a: status says CompletedWithErrors" grep -q "^batch b: CompletedWithErrors$" <<<"$out"
  check "[$B] a: status counts 3 done, 3 failed" grep -q "0 pending, 0 running, 3 done, 3 failed" <<<"$out"
  check "[$B] a: status: tick6 done by the 3 good files" grep -Eq "^  tick6 +3 +0 +0 " <<<"$out"
  out=$("$PARLEY" failed "${S[@]}" 2>&1)
  echo "$out" | sed 's/^/# /'
  check "[$B] a: failed lists bad-1 with 3 attempts" grep -q "^b	bad-1	attempts 3	.*injected transient" <<<"$out"
  check "[$B] a: failed lists bad-2 with 3 attempts" grep -q "^b	bad-2	attempts 3	" <<<"$out"
  check "[$B] a: failed lists perm-1 with 1 attempt" grep -q "^b	perm-1	attempts 1	.*injected permanent" <<<"$out"
  check "[$B] a: failed lists nothing else" eq "$(wc -l <<<"$out")" 3

  out=$("$PARLEY" retry bad-1 "${S[@]}" 2>&1); st=$?
  check "[$B] a: retry bad-1 queues 1 recording (status $st: $out)" grep -q "^1 recordings queued again" <<<"$out"
  check "[$B] a: bad-1 is pending again" eq "$(rec bad-1 status)" pending
  limit 60 "$PARLEY" worker "${S[@]}" --jobs 2 --backoff 0.2 >"$DIR/w2.log" 2>&1
  st=$?
  check "[$B] a: worker after retry exits 0 (status $st)" test $st -eq 0
  check "[$B] a: bad-1 done after the retry" eq "$(rec bad-1 'status, attempts')" "done|1"
  check "[$B] a: bad-2 and perm-1 still failed" \
    eq "$(q "SELECT count(*) FROM recordings WHERE status = 'failed' AND name IN ('bad-2', 'perm-1')")" 2
  check "[$B] a: bad-1 has one effect row per stage" \
    eq "$(q "SELECT count(*) || ':' || count(DISTINCT e.stage) FROM test_effects e JOIN recordings r ON r.id = e.recording_id WHERE r.name = 'bad-1'")" "6:6"
  check "[$B] a: effects exactly once after the retry" effects_exactly_once
  out=$("$PARLEY" status b "${S[@]}" 2>&1)
  check "[$B] a: status after retry: 4 done, 2 failed" grep -q "0 pending, 0 running, 4 done, 2 failed" <<<"$out"
}

# ---- b. graceful stop during a stage
scenario_stop() {  # label, extra worker flags...
  local B=$BACKEND label=$1 st i wpid t0 t1 running tick1_time; shift
  new_store "stop$label" || return
  files slow-1
  check "[$B] b$label: submit" submit b "$DIR/in"
  PARLEY_TEST_FAULTS="tick3 sleep slow- 30" "$PARLEY_TEST" worker "${S[@]}" --jobs 1 "$@" >"$DIR/w.log" 2>&1 &
  wpid=$!
  running=0
  for ((i = 0; i < 300; i++)); do
    # tick3 starts right after tick2's commit (a "running" row for tick3 is
    # not required: the pipeline need not write one)
    if [ "$(q "SELECT count(*) FROM stage_runs WHERE stage = 'tick2' AND status = 'done'" 2>/dev/null)" = 1 ]; then
      running=1; break
    fi
    kill -0 $wpid 2>/dev/null || break
    sleep 0.1
  done
  check "[$B] b$label: tick2 done, tick3 under way" test $running -eq 1
  sleep 1
  t0=$(now)
  kill -TERM $wpid 2>/dev/null
  if wait_gone 15 $wpid; then
    ok "[$B] b$label: worker stops within 15 s of SIGTERM ($(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s)"
  else
    notok "[$B] b$label: worker still running 15 s after SIGTERM"
    kill -KILL $wpid 2>/dev/null
  fi
  wait $wpid; st=$?
  check "[$B] b$label: worker exits 0 after SIGTERM (status $st)" test $st -eq 0
  check "[$B] b$label: no lease left" no_lease
  check "[$B] b$label: the recording is pending again, its attempt given back" \
    eq "$(rec slow-1 'status, attempts')" "pending|0"
  check "[$B] b$label: tick1 and tick2 done and kept" \
    eq "$(q "SELECT count(*) FROM stage_runs WHERE stage IN ('tick1', 'tick2') AND status = 'done'")" 2
  check "[$B] b$label: tick3 not done" \
    eq "$(q "SELECT count(*) FROM stage_runs WHERE stage = 'tick3' AND status = 'done'")" 0
  check "[$B] b$label: effects: tick1 and tick2 only" \
    eq "$(q "SELECT stage FROM test_effects ORDER BY stage" | tr '\n' ' ')" "tick1 tick2 "
  tick1_time=$(q "SELECT time FROM test_effects WHERE stage = 'tick1'")
  limit 60 "$PARLEY" worker "${S[@]}" --jobs 1 >"$DIR/w2.log" 2>&1
  st=$?
  check "[$B] b$label: rerun without the fault exits 0 (status $st)" test $st -eq 0
  check "[$B] b$label: the recording is done" eq "$(rec slow-1 'status, attempts')" "done|1"
  check "[$B] b$label: one effect row per stage" \
    eq "$(q "SELECT count(*) || ':' || count(DISTINCT stage) FROM test_effects")" "6:6"
  check "[$B] b$label: tick1 was not run again" \
    eq "$(q "SELECT time FROM test_effects WHERE stage = 'tick1'")" "$tick1_time"
  check "[$B] b$label: effects exactly once" effects_exactly_once
  check "[$B] b$label: no lease left after the rerun" no_lease
}

# ---- c. execution-log volume
count_events() {  # batch, type
  q "SELECT count(*) FROM events e JOIN batches b ON b.id = e.batch_id WHERE b.name = '$1' AND e.type = '$2'"
}
scenario_events() {
  local B=$BACKEND st i p
  new_store events || return
  for ((i = 0; i < 300; i++)); do : >"$DIR/in/r$i.wav"; done
  check "[$B] c: submit 300 files" submit c "$DIR/in"
  limit 120 "$PARLEY" worker "${S[@]}" --jobs 2 --progress-every 100 -q >"$DIR/w.log" 2>&1
  st=$?
  check "[$B] c: worker exits 0 (status $st)" test $st -eq 0
  check "[$B] c: 300 done" eq "$(q "SELECT count(*) FROM recordings WHERE status = 'done'")" 300
  check "[$B] c: exactly 6 stage_start" eq "$(count_events c stage_start)" 6
  check "[$B] c: exactly 6 stage_complete" eq "$(count_events c stage_complete)" 6
  check "[$B] c: stage_start for each of tick1..tick6" \
    eq "$(q "SELECT DISTINCT stage FROM events WHERE type = 'stage_start' ORDER BY stage" | tr '\n' ' ')" \
    "tick1 tick2 tick3 tick4 tick5 tick6 "
  check "[$B] c: no file_start" eq "$(count_events c file_start)" 0
  check "[$B] c: no file_complete" eq "$(count_events c file_complete)" 0
  check "[$B] c: no file_error" eq "$(count_events c file_error)" 0
  p=$(count_events c progress)
  check "[$B] c: 3 to 5 progress events ($p)" test "$p" -ge 3 -a "$p" -le 5
  check "[$B] c: the last progress says 300 of 300" \
    grep -q "^300 of 300 recordings finished: 300 done, 0 failed$" \
    <<<"$(q "SELECT message FROM events WHERE type = 'progress' ORDER BY id DESC LIMIT 1")"
  check "[$B] c: effects exactly once (1800 rows)" \
    bash -c '[ "$1" = 1800 ]' _ "$(q "SELECT count(*) FROM test_effects")"

  mkdir -p "$DIR/in2"
  for ((i = 0; i < 20; i++)); do : >"$DIR/in2/s$i.wav"; done
  check "[$B] c: submit 20 more files as batch c2" submit c2 "$DIR/in2"
  PARLEY_LOG_FILE_START=true PARLEY_LOG_FILE_COMPLETE=true \
    limit 60 "$PARLEY" worker "${S[@]}" --jobs 2 -q >"$DIR/w2.log" 2>&1
  st=$?
  check "[$B] c: worker with file events exits 0 (status $st)" test $st -eq 0
  check "[$B] c: 20 file_start, one per recording" \
    eq "$(q "SELECT count(*) || ':' || count(DISTINCT e.recording_id) FROM events e JOIN batches b ON b.id = e.batch_id WHERE b.name = 'c2' AND e.type = 'file_start'")" "20:20"
  check "[$B] c: 20 file_complete, one per recording" \
    eq "$(q "SELECT count(*) || ':' || count(DISTINCT e.recording_id) FROM events e JOIN batches b ON b.id = e.batch_id WHERE b.name = 'c2' AND e.type = 'file_complete'")" "20:20"
  check "[$B] c: c2 has its own 6 stage_start and 6 stage_complete" \
    eq "$(count_events c2 stage_start):$(count_events c2 stage_complete)" "6:6"
  check "[$B] c: batch c still has no file events" \
    eq "$(count_events c file_start):$(count_events c file_complete)" "0:0"
}

# ---- d. stage-limited workers, one after the other
scenario_stages() {
  local B=$BACKEND st
  new_store stages || return
  files d1 d2 d3 d4 d5
  check "[$B] d: submit 5 files" submit d "$DIR/in"
  limit 60 "$PARLEY" worker "${S[@]}" --jobs 2 --stages tick1,tick2,tick3 -q >"$DIR/wa.log" 2>&1
  st=$?
  check "[$B] d: worker A (tick1..tick3) exits 0 when its part is done (status $st)" test $st -eq 0
  check "[$B] d: after A, tick1..tick3 done for all 5" \
    eq "$(q "SELECT count(*) FROM stage_runs WHERE status = 'done' AND stage IN ('tick1', 'tick2', 'tick3')")" 15
  check "[$B] d: after A, nothing of tick4..tick6" \
    eq "$(q "SELECT count(*) FROM test_effects WHERE stage IN ('tick4', 'tick5', 'tick6')")" 0
  check "[$B] d: after A, all 5 pending at tick4, unleased" \
    eq "$(q "SELECT count(*) FROM recordings WHERE status = 'pending' AND next_stage = 'tick4' AND lease_owner IS NULL")" 5
  limit 60 "$PARLEY" worker "${S[@]}" --jobs 2 --stages tick4,tick5,tick6 -q >"$DIR/wb.log" 2>&1
  st=$?
  check "[$B] d: worker B (tick4..tick6) exits 0 (status $st)" test $st -eq 0
  check "[$B] d: all 5 done" eq "$(q "SELECT count(*) FROM recordings WHERE status = 'done'")" 5
  check "[$B] d: 30 effect rows, exactly once each" \
    bash -c '[ "$1" = 30 ]' _ "$(q "SELECT count(*) FROM test_effects")"
  check "[$B] d: effects exactly once" effects_exactly_once
  check "[$B] d: no lease left" no_lease
  check "[$B] d: status says Completed" bash -c "'$PARLEY' status d \"\$@\" | grep -q '^batch d: Completed$'" _ "${S[@]}"
}

# ---- e. bad configuration
expect_exit() {  # description, status, text, command...
  local what=$1 want=$2 text=$3; shift 3
  local out st
  out=$(limit 30 "$@" 2>&1); st=$?
  if [ $st -eq "$want" ] && grep -qF -- "$text" <<<"$out"; then ok "$what"
  else notok "$what (status $st: $(head -3 <<<"$out"))"; fi
}
scenario_config() {
  local B=$BACKEND out st pgurl
  new_store config || return
  files e1
  check "[$B] e: submit" submit e "$DIR/in"
  printf '# settings\nmax_attempts = 2\nqeue = redis://127.0.0.1:6379\n' >"$DIR/bad.conf"
  expect_exit "[$B] e: unknown key in --config: exit 2 naming file:line" 2 "$DIR/bad.conf:3: unknown key 'qeue'" \
    "$PARLEY" worker --config "$DIR/bad.conf" "${S[@]}" --jobs 1
  expect_exit "[$B] e: the same through PARLEY_CONFIG for status" 2 "$DIR/bad.conf:3: unknown key 'qeue'" \
    env PARLEY_CONFIG="$DIR/bad.conf" "$PARLEY" status "${S[@]}"
  expect_exit "[$B] e: PARLEY_MAX_ATTEMPTS=zero: exit 2 naming the variable" 2 "PARLEY_MAX_ATTEMPTS" \
    env PARLEY_MAX_ATTEMPTS=zero "$PARLEY" worker "${S[@]}" --jobs 1
  check "[$B] e: the bad runs touched nothing" eq "$(rec e1 'status, attempts')" "pending|0"
  if [ "$B" = sqlite ]; then pgurl="postgresql://u@127.0.0.1:1/x"; else pgurl=$T; fi
  expect_exit "[$B] e: submit with a PostgreSQL store and no --data: exit 2" 2 "--data DIR" \
    "$PARLEY" submit "$DIR/in" --store "$pgurl" --pipeline noop
  expect_exit "[$B] e: worker with a PostgreSQL store and no --data: exit 2 (at once)" 2 "--data DIR" \
    "$PARLEY" worker --store "$pgurl" --jobs 1
  expect_exit "[$B] e: status with a PostgreSQL store and no --data: exit 2" 2 "--data DIR" \
    "$PARLEY" status --store "$pgurl"
  out=$(limit 30 "$PARLEY" status --store "postgresql://u:secret@127.0.0.1:1/x" --data "$DIR/data" 2>&1); st=$?
  echo "# $out"
  check "[$B] e: status on an unreachable PostgreSQL exits 1 (status $st)" test $st -eq 1
  check "[$B] e: ... naming the target" grep -q "127.0.0.1:1/x" <<<"$out"
  check "[$B] e: ... without the password" bash -c '! grep -q secret <<<"$1"' _ "$out"
}

run_all() {
  scenario_retries
  scenario_stop ""
  scenario_stop "-wait" --wait
  scenario_events
  scenario_stages
  scenario_config
}

BACKEND=sqlite
echo "# SQLite, store queue ($PARLEY)"
run_all

if [ -z "${PARLEY_TEST_PG_URL:-}" ]; then
  ok "PostgreSQL + Redis scenarios # SKIP PARLEY_TEST_PG_URL is unset"
elif [ -z "${PARLEY_TEST_REDIS_URL:-}" ]; then
  notok "PostgreSQL + Redis scenarios: PARLEY_TEST_PG_URL is set but PARLEY_TEST_REDIS_URL is not"
else
  BACKEND=pg
  echo "# PostgreSQL + Redis ($PARLEY)"
  run_all
fi

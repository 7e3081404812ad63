#!/usr/bin/env bash
# kill -9 in the middle of a run, then run again: the second run finishes the
# work and the outputs are identical to those of an uninterrupted run.
. "$(dirname "$0")/lib.sh"

for i in 1 2 3; do
  $GEN --out "$TMP/gen" --name "talk$i" --speakers 2 --minutes 0.12 --seed $((20 + i)) --quiet || { notok "generate"; exit 1; }
done
in="$TMP/in"; mkdir -p "$in"; cp "$TMP"/gen/talk*.wav "$in/"

limit 900 "$PARLEY" run "$in" -o "$TMP/ref" -j 2 --no-progress >"$TMP/ref.log" 2>&1
check "the uninterrupted run succeeds" test $? -eq 0

out="$TMP/out"
"$PARLEY" run "$in" -o "$out" -j 2 --no-progress >"$TMP/killed.log" 2>&1 &
pid=$!
# Wait until some stage of some recording is done, but not all recordings are.
killed=0
for _ in $(seq 1 600); do
  sleep 0.1
  done_stages=$(sqlite3 "$out/parley.db" "select count(*) from stage_runs where status='done'" 2>/dev/null || echo 0)
  if [ "${done_stages:-0}" -ge 4 ]; then
    kids=$(pgrep -P $pid)
    pkill -9 -P $pid 2>/dev/null; kill -9 $pid 2>/dev/null; killed=1; break
  fi
done
wait $pid 2>/dev/null
check "the run was killed with SIGKILL mid-way" test $killed -eq 1
# The re-run takes over the leases of workers that no longer exist; a killed
# worker is a zombie until its new parent (init) reaps it, and a zombie still
# answers kill -0: wait until they are gone, or the re-run would wait for the
# leases to expire (60 s) instead.
for _ in $(seq 1 300); do
  alive=0
  for k in ${kids:-}; do kill -0 "$k" 2>/dev/null && alive=1; done
  [ $alive -eq 0 ] && break
  sleep 0.1
done
before=$(sqlite3 "$out/parley.db" "select count(*) from recordings where status='done'")
check "not every recording was done when killed ($before of 3)" test "$before" -lt 3
running=$(sqlite3 "$out/parley.db" "select count(*) from recordings where lease_owner is not null")
limit 900 "$PARLEY" run "$in" -o "$out" -j 2 --no-progress >"$TMP/rerun.log" 2>&1
check "the re-run finishes (status $?)" test -s "$out/talk3/transcript.json"
left=$(sqlite3 "$out/parley.db" "select count(*) from recordings where lease_owner is not null or status <> 'done'")
check "no lease is left and every recording is done ($left left; $running leases were held when killed)" test "$left" -eq 0
for i in 1 2 3; do
  check "talk$i/transcript.json is identical to the uninterrupted run's" cmp -s "$TMP/ref/talk$i/transcript.json" "$out/talk$i/transcript.json"
done
check "summary.csv is identical to the uninterrupted run's" cmp -s "$TMP/ref/summary.csv" "$out/summary.csv"

# Ctrl-C (SIGINT to the run): workers stop at the next safe point, give their
# recordings back, and the run exits 130 with a hint to resume. The signal
# comes once a diarize stage is done, so speech recognition is under way.
out2="$TMP/out2"
"$PARLEY" run "$in" -o "$out2" -j 2 --no-progress >"$TMP/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  sleep 0.1
  n=$(sqlite3 "$out2/parley.db" "select count(*) from stage_runs where stage='diarize' and status='done'" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 1 ] && break
done
kill -INT $pid
wait $pid
status=$?
check "SIGINT stops the run with status 130 (got $status)" test $status -eq 130
check "the interrupted run says how to resume" grep -q "run the same command again to resume" "$TMP/int.log"
held=$(sqlite3 "$out2/parley.db" "select count(*) from recordings where lease_owner is not null")
check "SIGINT leaves no lease held ($held)" test "$held" -eq 0
limit 900 "$PARLEY" run "$in" -o "$out2" -j 2 --no-progress >/dev/null 2>&1
check "the run after SIGINT finishes with the same transcript" cmp -s "$TMP/ref/talk1/transcript.json" "$out2/talk1/transcript.json"

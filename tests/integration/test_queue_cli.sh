#!/usr/bin/env bash
# The queue commands: submit, status, worker, failed, export, retry — and
# export writes the same bytes as `parley run`.
. "$(dirname "$0")/lib.sh"

db="$TMP/q/parley.db"
$GEN --out "$TMP/gen" --name a --speakers 1 --turns 2 --seed 4 --quiet || { notok "generate a"; exit 1; }
$GEN --out "$TMP/gen" --name b --speakers 1 --turns 2 --seed 5 --quiet || { notok "generate b"; exit 1; }
mkdir -p "$TMP/in"
cp "$TMP/gen/a.wav" "$TMP/gen/b.wav" "$TMP/in/"
echo "this is not audio" >"$TMP/in/bad.wav"

for cmd in submit worker status failed retry export; do
  check "parley --help lists $cmd" bash -c "'$PARLEY' --help | grep -q '^  $cmd '"
done
check_flags() {  # command, flags...
  local cmd=$1; shift
  local help; help=$("$PARLEY" "$cmd" --help)
  for flag in "$@"; do
    check "$cmd --help documents $flag" grep -q -- "$flag" <<<"$help"
  done
}
check_flags submit --store --batch --pipeline-config --lexicon --model --speakers --overlap --set --help
check_flags worker --store --jobs --batch --wait --quiet --verbose --help
check_flags status --store --help
check_flags failed --store --help
check_flags retry --store --batch --all --help
check_flags export --store --out --help

expect_usage() {  # description, expected text, args...
  local what=$1 text=$2; shift 2
  local out status
  out=$("$PARLEY" "$@" 2>&1); status=$?
  if [ $status -eq 2 ] && grep -q -- "$text" <<<"$out"; then ok "$what"; else notok "$what (status $status: $out)"; fi
}
expect_usage "submit without --store is a usage error" "no store given: use --store" submit "$TMP/in"
expect_usage "submit without inputs is a usage error" "no FILES or DIRS" submit --store "$db"
expect_usage "submit names a missing input" "nope.wav: No such file" submit --store "$db" "$TMP/nope.wav"
expect_usage "worker --jobs 0 is refused" "--jobs wants a whole number" worker --store "$db" --jobs 0
expect_usage "export without a batch is a usage error" "no BATCH given" export --store "$db" -o "$TMP/x"
expect_usage "retry without a target is a usage error" "RECORDING_NAME, --batch B or --all" retry --store "$db"
expect_usage "retry --all with a name is a usage error" "--all takes no" retry --all x --store "$db"
out=$("$PARLEY" status --store "$TMP/none/parley.db" 2>&1); st=$?
check "status on a missing store names it (status $st)" bash -c "[ $st -eq 1 ] && grep -q 'no store at $TMP/none/parley.db' <<<'$out'"

out=$("$PARLEY" submit "$TMP/in" --store "$db" 2>&1)
check "submit adds 3 recordings to batch default" grep -q "batch default: 3 recordings added" <<<"$out"
echo "# $out"
check "submit puts the stage data next to the store" test -d "$TMP/q/data"
out=$("$PARLEY" status --store "$db" 2>&1)
echo "$out" | sed 's/^/# /'
check "status shows the batch Pending" grep -q "batch default: Pending" <<<"$out"
check "status shows 3 pending" grep -q "3 pending, 0 running, 0 done, 0 failed" <<<"$out"
expect_usage "status of an unknown batch names it" "no batch named 'nope'" status nope --store "$db"

limit 600 "$PARLEY" worker --store "$db" --jobs 2 -q >"$TMP/worker.log" 2>&1
check "worker --jobs 2 exits 0 when no work is left" test $? -eq 0
out=$("$PARLEY" status default --store "$db" 2>&1)
echo "$out" | sed 's/^/# /'
check "status shows CompletedWithErrors" grep -q "batch default: CompletedWithErrors" <<<"$out"
check "status shows 2 done 1 failed" grep -q "0 pending, 0 running, 2 done, 1 failed" <<<"$out"
check "status counts the decode stage: 2 done 1 failed" grep -Eq "^  decode +2 +1 +0 +CompletedWithErrors$" <<<"$out"
check "status counts the samples stage: 2 done, none pending" grep -Eq "^  samples +2 +0 +0 +Completed$" <<<"$out"
check "status shows audio hours done" grep -Eq "audio done: 0\.0[0-9]*[1-9]" <<<"$out"
out=$("$PARLEY" failed --store "$db" 2>&1)
echo "$out" | sed 's/^/# /'
check "failed lists bad with its attempts" grep -q "^default	bad	attempts [0-9]" <<<"$out"
check "... and its error naming the file" grep -q "bad.wav" <<<"$out"
check "failed lists nothing else" test "$(wc -l <<<"$out")" -eq 1

out=$("$PARLEY" export default --store "$db" -o "$TMP/exp" 2>&1)
echo "# $out"
check "export reports 2 exported, 1 failed" grep -q "2 recordings exported to $TMP/exp/ (1 failed, 0 not finished)" <<<"$out"
check "export writes a/transcript.json" test -s "$TMP/exp/a/transcript.json"
check "export writes b/transcript.json" test -s "$TMP/exp/b/transcript.json"
check "export writes summary.csv" test -s "$TMP/exp/summary.csv"
check "export writes nothing for the failed recording" test ! -e "$TMP/exp/bad"

# The same file through `parley run` gives the same bytes.
limit 600 "$PARLEY" run "$TMP/in/a.wav" -o "$TMP/run" -q --no-progress >/dev/null 2>&1
same=1
for f in transcript.json transcript.srt transcript.vtt transcript.rttm transcript.txt samples/speaker-1.wav; do
  cmp -s "$TMP/run/a/$f" "$TMP/exp/a/$f" || { same=0; echo "# differs: a/$f"; }
done
check "export of a is byte-identical to parley run on a.wav" test $same -eq 1

# Fix the bad file, retry it, run the worker again: it is done.
expect_usage "retry of an unknown batch names it" "no batch named 'nope'" retry --batch nope --store "$db"
out=$("$PARLEY" retry nope --store "$db" 2>&1); st=$?
check "retry of an unknown recording names it (status $st)" bash -c "[ $st -eq 1 ] && grep -q \"no recording named 'nope'\" <<<\"\$1\"" _ "$out"
cp "$TMP/gen/a.wav" "$TMP/in/bad.wav"
out=$("$PARLEY" retry --all --store "$db" 2>&1)
echo "# $out"
check "retry --all queues the failed recording again" grep -q "^1 recordings queued again" <<<"$out"
check "status shows InProgress after retry" bash -c "'$PARLEY' status --store '$db' | grep -q 'batch default: InProgress'"
limit 600 "$PARLEY" worker --store "$db" --batch default -q >"$TMP/worker2.log" 2>&1
check "the second worker exits 0" test $? -eq 0
out=$("$PARLEY" status --store "$db" 2>&1)
echo "$out" | sed 's/^/# /'
check "status shows Completed" grep -q "batch default: Completed$" <<<"$out"
check "status shows 3 done 0 failed" grep -q "0 pending, 0 running, 3 done, 0 failed" <<<"$out"
check "failed lists nothing now" test -z "$("$PARLEY" failed default --store "$db")"
"$PARLEY" export default --store "$db" -o "$TMP/exp" >/dev/null 2>&1
check "export now writes bad/transcript.json" test -s "$TMP/exp/bad/transcript.json"
check "summary.csv has rows for bad" grep -q "^bad," "$TMP/exp/summary.csv"

# --wait keeps polling until SIGTERM, then exits 0.
"$PARLEY" worker --store "$db" --wait --jobs 1 -q >"$TMP/wait.log" 2>&1 &
wpid=$!
sleep 1
alive=0; kill -0 $wpid 2>/dev/null && alive=1
check "worker --wait keeps running with no work" test $alive -eq 1
kill -TERM $wpid
wait $wpid; st=$?
check "worker --wait exits 0 on SIGTERM (status $st)" test $st -eq 0

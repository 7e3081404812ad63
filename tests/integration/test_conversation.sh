#!/usr/bin/env bash
# A generated two-voice conversation and a word-timed recording through
# `parley run`: every output format valid, two speakers found, speech
# attributed to the right speaker, word times within 0.3 s of the truth;
# a second run skips every finished stage and writes identical outputs.
. "$(dirname "$0")/lib.sh"

$GEN --out "$TMP/ref" --name conv --speakers 2 --minutes 1.0 --seed 3 --quiet || { notok "generate conversation"; exit 1; }
$GEN --out "$TMP/ref" --name timed --speakers 1 --turns 8 --word-gaps --seed 5 --quiet || { notok "generate timed words"; exit 1; }
mkdir -p "$TMP/in" && cp "$TMP/ref/conv.wav" "$TMP/ref/timed.wav" "$TMP/in/"

out="$TMP/out"
limit 600 "$PARLEY" run "$TMP/in" -o "$out" -j 2 --no-progress >"$TMP/run1.log" 2>&1
status=$?
check "parley run exits 0 on good input (status $status)" test $status -eq 0
check "run prints where the results are" grep -q "results in $out" "$TMP/run1.log"
python3 "$ROOT/tests/integration/check_outputs.py" "$out" conv --ref-rttm "$TMP/ref/conv.rttm" --speakers 2 --min-attrib 0.8
python3 "$ROOT/tests/integration/check_outputs.py" "$out" timed --words-tsv "$TMP/ref/timed.words.tsv"

cp -r "$out" "$TMP/first"
limit 600 "$PARLEY" run "$TMP/in" -o "$out" -j 2 --no-progress >"$TMP/run2.log" 2>&1
check "a second run exits 0" test $? -eq 0
attempts=$(sqlite3 "$out/parley.db" "select max(attempts) from stage_runs")
check "a second run redoes no finished stage (max attempts $attempts)" test "$attempts" = 1
for f in conv/transcript.json conv/transcript.srt timed/transcript.json summary.csv; do
  check "a second run writes the same $f" cmp -s "$TMP/first/$f" "$out/$f"
done

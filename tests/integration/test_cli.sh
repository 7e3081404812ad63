#!/usr/bin/env bash
# The command line: help documents every flag; bad usage is refused clearly.
. "$(dirname "$0")/lib.sh"

help=$("$PARLEY" run --help)
for flag in --out --jobs --lexicon --speakers --min-speakers --max-speakers --model --stages --no-progress --quiet --verbose --help; do
  check "run --help documents $flag" grep -q -- "$flag" <<<"$help"
done
check "parley --help lists run" bash -c "'$PARLEY' --help | grep -q '^  run'"

expect_usage() {  # description, expected text, args...
  local what=$1 text=$2; shift 2
  local out status
  out=$("$PARLEY" "$@" 2>&1); status=$?
  if [ $status -eq 2 ] && grep -q -- "$text" <<<"$out"; then ok "$what"; else notok "$what (status $status: $out)"; fi
}
touch "$TMP/a.wav"
expect_usage "run without -o is a usage error" "-o OUT is required" run "$TMP/a.wav"
expect_usage "run without inputs is a usage error" "no FILES or DIRS" run -o "$TMP/out"
expect_usage "a missing input is named" "nope.wav: No such file" run -o "$TMP/out" "$TMP/nope.wav"
expect_usage "--jobs 0 is refused" "--jobs wants a whole number" run -j 0 -o "$TMP/out" "$TMP/a.wav"
expect_usage "--speakers x is refused" "--speakers wants a whole number" run --speakers x -o "$TMP/out" "$TMP/a.wav"
expect_usage "--min-speakers above --max-speakers is refused" "is more than diarize.max_speakers" run --min-speakers 4 --max-speakers 2 -o "$TMP/out" "$TMP/a.wav"
expect_usage "an unknown stage is named" "unknown stage 'nope'" run --stages decode,nope -o "$TMP/out" "$TMP/a.wav"
printf 'target lah L AA\ntarget bad XX\n' >"$TMP/bad.lex"
expect_usage "a bad lexicon is refused with file:line" "bad.lex:2" run --lexicon "$TMP/bad.lex" -o "$TMP/out" "$TMP/a.wav"
expect_usage "a missing lexicon is named" "nolex.lex" run --lexicon "$TMP/nolex.lex" -o "$TMP/out" "$TMP/a.wav"
expect_usage "a model folder without a model is refused" "has no en-us" run --model "$TMP" -o "$TMP/out" "$TMP/a.wav"
expect_usage "an unknown command is refused" "unknown command" frobnicate
check "parley lexicon prints the built-in lexicon" bash -c "'$PARLEY' lexicon | grep -q '^target walao'"
"$PARLEY" lexicon >"$TMP/default.lex"
check "the built-in lexicon checks clean" bash -c "'$PARLEY' lexicon --check '$TMP/default.lex' >/dev/null"

# --stages runs part of the pipeline; a later full run finishes the rest.
$GEN --out "$TMP/gen" --name short --speakers 1 --turns 2 --seed 4 --quiet || notok "generate"
mkdir -p "$TMP/in" && cp "$TMP/gen/short.wav" "$TMP/in/"
"$PARLEY" run "$TMP/in" -o "$TMP/part" --stages decode,vad -q >/dev/null 2>&1
check "--stages decode,vad runs just those stages" test "$(sqlite3 "$TMP/part/parley.db" "select group_concat(stage) from stage_runs where status='done'")" = "decode,vad"
"$PARLEY" run "$TMP/in" -o "$TMP/part" -q >/dev/null 2>&1
check "a full run afterwards does the remaining stages" test "$(sqlite3 "$TMP/part/parley.db" "select count(*) from stage_runs where status='done'")" = 6
check "... and the transcript has words" grep -q '"word"' "$TMP/part/short/transcript.json"

# On a terminal the run draws a progress bar (script(1) gives it a pty).
if command -v script >/dev/null; then
  script -qec "'$PARLEY' run '$TMP/in' -o '$TMP/tty' --stages decode" "$TMP/tty.log" >/dev/null 2>&1
  check "on a terminal a progress bar is drawn" grep -q '\[#*-*\] 1/1 recordings' "$TMP/tty.log"
  check "... with audio hours and an ETA" grep -q 'h audio.*ETA' "$TMP/tty.log"
fi
"$PARLEY" run "$TMP/in" -o "$TMP/plain" --stages decode >"$TMP/plain.log" 2>&1
check "off a terminal plain progress lines are printed" grep -q '^parley: 1/1 recordings finished' "$TMP/plain.log"

#!/usr/bin/env bash
# test_real_words.sh — Singlish-target false alarms and WER on REAL English
# speech in which nobody says a target (see bench/bench_real_words.sh for
# the full figures, README "Accuracy").
#  1. Debian's asterisk-core-sounds-en-wav IVR prompts (real 8 kHz speech,
#     one speaker; installed by scripts/install-deps.sh), every 8th prompt
#     (45 files, 3.5 min): the target verifier was not tuned on them.
#  2. When ../shared/data exists: its single-speaker read sets with
#     transcripts (bench/real_asr_sets.sh, 41 files, 2.7 min): false alarms
#     and pooled WER (`parley eval` normalisation, numbers not spelled out).
#  On both: no spelling correction turned an English word into a target
#  (every final target word was written so by the recogniser).
#  3. The noisy-recording switch (stt.denoise_below, default 18 dB) leaves
#     clean real speech alone: none of the read recordings and of the
#     prompts is recognised denoised except the one prompt that is a tone
#     (ast-beep; README Accuracy, "Noisy recordings").
# Bounds (THRESHOLDS below) sit a little above what the current code
# measures; a false alarm is a target counted in summary.csv (all of these
# are false). They guard against regressions: the aim (10 false alarms per
# hour) is NOT met (README, Accuracy: 12 in 3.5 min of telephone prompts is
# ~200 per hour).
#
# Skipped under the sanitizer build (like test_accuracy.sh): it would repeat,
# ten times slower, the code paths test_real_data.sh runs there.
set -u
. "$(dirname "$0")/lib.sh"
case "$PARLEY" in
  *build-san*)
    echo "ok - real-speech words # SKIP under the sanitizer build (release pass asserts them)"
    exit 0 ;;
esac

# --- THRESHOLDS -------------------------------------------------------------
# Measured with the built-in lexicon (verify_min_llr -1.0, commit of this
# test): asterisk subset 12 targets counted (lah 6, meh 2, aiyo, leh, lor,
# makan; on the every-4th set the verifier takes 23 down to 21);
# shared read sets 4 (sia, sibei, meh, aiyo), pooled WER 30.2% (29.8-30.2%
# between runs, not reproduced since: repeated decodings are identical).
# With the particles counted only at the end of a phrase (lexicon
# "phrase_final 0.05"): asterisk subset 7 (lah 2, aiyo, leh, meh, lor,
# makan), shared read sets 1 (aiyo).
# With the recording-level "background 30 0.05 2" test (targets count only
# when a recording has more than English homophones explain): asterisk
# subset 2 (lor and makan in the 4-minute ast-demo-instruct), shared read
# sets 0; WER unchanged (0.298).
# With the per-hour test seeing each recording's duration in runs too
# (it saw 0 s before) and the pass-share test: asterisk subset 0, shared
# read sets 0, WER 0.298; two decodings of the same files are identical,
# so the bound on the prompts comes down from 4 to 1.
# With keyword_weight 0.02 and verify_min_llr -3.0 (chosen with PASS 0.1 on
# bench-keywords' tuning half, README "Choosing the verifier, PASS and the
# keyword LM weight"):
# asterisk subset 0, shared read sets 0, WER 0.298 (unchanged).
# With keyword_weight 0.03, PASS 0.125 and MIN 3 (stop 18, README "Choosing
# the keyword weight, PASS and MIN on a larger tuning half"): asterisk
# subset 0, shared read sets 0, WER 0.298 (unchanged).
MAX_FA_AST=${RW_MAX_FA_AST:-1}         # counted targets in the asterisk subset
MAX_FA_REAL=${RW_MAX_FA_REAL:-1}       # counted targets in the shared read sets
MAX_WER_REAL=${RW_MAX_WER_REAL:-0.35}  # pooled WER of the shared read sets
# -----------------------------------------------------------------------------

. "$ROOT/bench/real_asr_sets.sh"
AST_DIR=/usr/share/asterisk/sounds/en_US_f_Allison
DATA=${PARLEY_SHARED_DATA:-$ROOT/../shared/data}

# Counted targets in a run (summary counts over all recordings).
fa_of() { sqlite3 "$1/parley.db" "select coalesce(sum(count), 0) from word_counts"; }
# Target words of a run's final words that the recogniser did not write
# there (no stt word of that spelling at that start): a spelling correction
# ("la" -> lah, "wah lau" -> walao) made them out of English words. On this
# speech nobody says a target, so every one would be an English word turned
# into a target, counted or not; "name word start" lines.
TARGETS_SQL=$("$PARLEY" lexicon | awk '$1 == "target" { printf "%s\x27%s\x27", n++ ? "," : "", $2 }')
corrected_of() {
  sqlite3 "$1/parley.db" "select r.name, w.word, round(w.start_s, 2) from words w join recordings r on r.id = w.recording_id where w.word in ($TARGETS_SQL) and not exists (select 1 from stt_words s where s.recording_id = w.recording_id and s.word = w.word and abs(s.start_s - w.start_s) < 0.006)"
}

if [ -d "$AST_DIR" ]; then
  asterisk_sets "$AST_DIR" "$TMP/ast" 8 >"$TMP/ast.list"
  n=$(wc -l <"$TMP/ast.list")
  limit 900 "$PARLEY" run "$TMP/ast" -o "$TMP/ast-out" -j 2 -v --no-progress >"$TMP/ast.log" 2>&1
  st=$?
  check "parley run on $n asterisk prompts exits 0 (status $st)" test $st -eq 0
  est=$(grep -c 'stt: .*: SNR estimate' "$TMP/ast.log")
  dn=$(sed -n 's/.*stt: \(.*\): SNR estimate .*recognising denoised audio.*/\1/p' "$TMP/ast.log" | sort | tr '\n' ' ')
  check "asterisk prompts: SNR estimated for all $n ($est); recognised denoised only the tone ($dn)" \
    test "$est" -eq "$n" -a "$dn" = "ast-beep "
  fa=$(fa_of "$TMP/ast-out")
  min=$(sqlite3 "$TMP/ast-out/parley.db" "select round(sum(duration) / 60, 2) from recordings")
  sqlite3 "$TMP/ast-out/parley.db" "select r.name, c.word, c.count from word_counts c join recordings r on r.id = c.recording_id where c.count > 0" | sed 's/^/# counted: /'
  check "asterisk prompts ($min min of real 8 kHz speech): $fa targets counted <= $MAX_FA_AST" \
    test "$fa" -le "$MAX_FA_AST"
  corr=$(corrected_of "$TMP/ast-out")
  [ -n "$corr" ] && echo "$corr" | sed 's/^/# corrected into a target: /'
  check "asterisk prompts: no spelling correction turned an English word into a target ($(printf '%s' "$corr" | grep -c .))" \
    test -z "$corr"
  # Every verifier line names its recording (bench/kw_report.py matches a
  # line to a word by recording, target and start; without the name two
  # prompts with a target at the same time were ambiguous).
  nv=$(grep -c 'pocketsphinx: verify ' "$TMP/ast.log")
  bad=$(grep 'pocketsphinx: verify ' "$TMP/ast.log" | sed -n 's/.* \(kept\|rejected\) in \(ast-[^ ]*\)$/\2/p' |
    while read -r nm; do grep -qx "$nm" <(cut -f1 "$TMP/ast.list") || echo "$nm"; done)
  named=$(grep 'pocketsphinx: verify ' "$TMP/ast.log" | grep -c ' \(kept\|rejected\) in ast-[^ ]*$')
  check "asterisk prompts: all $nv verifier lines name a recording of the set ($named named, unknown: ${bad:-none})" \
    test "$nv" -gt 0 -a "$named" = "$nv" -a -z "$bad"
else
  echo "not ok - no $AST_DIR: install asterisk-core-sounds-en-wav (scripts/install-deps.sh)"
fi

if [ ! -d "$DATA" ]; then
  echo "ok - shared real read speech # SKIP no $DATA (only the project's own machines have it)"
  exit 0
fi
real_asr_sets "$DATA" "$TMP/real" "$TMP/ref" >"$TMP/real.list"
n=$(wc -l <"$TMP/real.list")
limit 900 "$PARLEY" run "$TMP/real" -o "$TMP/real-out" -j 2 -v --no-progress >"$TMP/real.log" 2>&1
st=$?
check "parley run on $n real read recordings exits 0 (status $st)" test $st -eq 0
est=$(grep -c 'stt: .*: SNR estimate' "$TMP/real.log")
dn=$(grep -c 'recognising denoised audio' "$TMP/real.log")
check "real read speech: SNR estimated for all $n ($est), none recognised denoised ($dn)" \
  test "$est" -eq "$n" -a "$dn" -eq 0
fa=$(fa_of "$TMP/real-out")
min=$(sqlite3 "$TMP/real-out/parley.db" "select round(sum(duration) / 60, 2) from recordings")
sqlite3 "$TMP/real-out/parley.db" "select r.name, c.word, c.count from word_counts c join recordings r on r.id = c.recording_id where c.count > 0" | sed 's/^/# counted: /'
check "real read speech ($min min): $fa targets counted <= $MAX_FA_REAL" test "$fa" -le "$MAX_FA_REAL"
corr=$(corrected_of "$TMP/real-out")
[ -n "$corr" ] && echo "$corr" | sed 's/^/# corrected into a target: /'
check "real read speech: no spelling correction turned an English word into a target ($(printf '%s' "$corr" | grep -c .))" \
  test -z "$corr"
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/real-out" --json "$TMP/eval.json" >/dev/null 2>&1
wer=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['wer']['wer'])" "$TMP/eval.json" 2>/dev/null || echo nan)
echo "# pooled WER of the $n read recordings: $wer"
check "pooled WER $wer <= $MAX_WER_REAL" \
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$wer" "$MAX_WER_REAL"

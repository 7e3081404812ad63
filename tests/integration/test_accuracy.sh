#!/usr/bin/env bash
# test_accuracy.sh — honest accuracy thresholds on a small generated set.
#
# Ten conversations with exact ground truth (2, 3 and 4 speakers, clean,
# 1-2 minutes, fixed seeds) go through `parley run --stages
# decode,vad,diarize`; three of them (2 and 3 speakers) also go through the
# full pipeline. `parley eval` scores them and the test asserts thresholds set
# about 20-30% looser than what the current code measures (see the THRESHOLDS
# block), so it is stable but catches a real regression of the diarizer, the
# speaker-count estimate, the recogniser or the keyword counting. The measured
# figures are printed as TAP comments. `make bench-accuracy` measures the same
# things on 50 conversations per condition.
#
# The ASan/UBSan pass of the suite reruns every integration test with
# build-san/parley; for this one that would only repeat, about ten times
# slower, code paths test_conversation.sh and test_eval.sh already cover
# there, so it is skipped under the sanitizer build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

case "$PARLEY" in
  *build-san*)
    echo "ok - accuracy thresholds # SKIP under the sanitizer build (release pass asserts them; crashes are covered by the other tests)"
    exit 0 ;;
esac

# --- THRESHOLDS -------------------------------------------------------------
# Measured on this set with the current code (diarizer with pitch and
# min_cluster 0.06, commit ffccb83; generator text_version 2; recogniser of
# e1d65b5): mean DER collar 0.25 0.3% (every conversation under 1.3%),
# without collar 9.5% (mostly the boundaries); speaker count right on 10
# of 10; full runs: WER 13.0%, keyword F1 over all targets 0.947 per
# speaker and any speaker (29 reference targets, 27 TP, 1 FP, 2 FN).
# With the built-in lexicon's keyword_weight 0.02, verify_min_llr -3.0 and
# its recording-level test (this stop): keyword F1 0.945 (26 TP, 0 FP,
# 3 FN), WER 13.2%. With keyword_weight 0.03, PASS 0.125 and MIN 3
# (stop 18): keyword F1 0.964 (27 TP, 0 FP, 2 FN), WER 13.2%.
# Limits: DER without collar, WER and keyword F1 ~25-30% looser than
# measured; DER with collar 2% (25% of 0.3% would be noise; one 4-speaker
# conversation counted as 3 again adds ~2.5% to the mean, so it fails);
# count one conversation of slack. Each can be overridden from the
# environment (ACC_MAX_DER_COLLAR=... etc.).
MAX_DER_COLLAR=${ACC_MAX_DER_COLLAR:-0.02}
MAX_DER_NONE=${ACC_MAX_DER_NONE:-0.12}
MIN_COUNT_RIGHT=${ACC_MIN_COUNT_RIGHT:-9}
MAX_WER=${ACC_MAX_WER:-0.17}
MIN_KW_F1=${ACC_MIN_KW_F1:-0.70}
MIN_KW_F1_ANY=${ACC_MIN_KW_F1_ANY:-0.70}
# -----------------------------------------------------------------------------

# name speakers minutes seed; seeds follow bench/bench_accuracy.sh
# (10000 + 1000 * speakers + i), so the TTS cache is shared with it.
SET="c2a 2 1 12000
c2b 2 1.5 12001
c2c 2 1 12002
c2d 2 1.5 12003
c3a 3 1 13000
c3b 3 1.5 13001
c3c 3 2 13002
c4a 4 1 14000
c4b 4 1.5 14001
c4c 4 2 14002"
FULL="c2a c2c c3a"   # full runs (speech recognition costs ~0.2 RTF): 3 minutes of audio

mkdir -p "$TMP/ref" "$TMP/in" "$TMP/full-in"
t0=$(date +%s)
# Two generators at a time, each single-threaded.
echo "$SET" | while read -r name spk min seed; do
  echo "--out $TMP/ref --name $name --speakers $spk --minutes $min --seed $seed --jobs 1 --quiet"
done | xargs -P 2 -L 1 $GEN || true   # a failure shows in the count below
n=$(ls "$TMP"/ref/*.wav 2>/dev/null | wc -l)
check "generate 10 conversations (2-4 speakers, 1-2 min)" test "$n" -eq 10
mv "$TMP"/ref/*.wav "$TMP/in/"
for name in $FULL; do ln "$TMP/in/$name.wav" "$TMP/full-in/"; done
t1=$(date +%s)

check "diarize the 10 conversations" \
  limit 300 "$PARLEY" run "$TMP/in" -o "$TMP/dia" -j 2 --stages decode,vad,diarize -q --no-progress
check "full runs on 3 of them" \
  limit 600 "$PARLEY" run "$TMP/full-in" -o "$TMP/full" -j 2 -q
t2=$(date +%s)
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/dia" --json "$TMP/dia.json" >"$TMP/dia.txt" 2>&1 || true
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/full" --json "$TMP/full.json" >"$TMP/full.txt" 2>&1 || true
check "parley eval scores both runs" test -s "$TMP/dia.json" -a -s "$TMP/full.json"

# Figures and checks in one Python pass; prints "# ..." comments and one
# "KEY=VALUE" line per figure for the checks below.
python3 - "$TMP/dia.json" "$TMP/full.json" >"$TMP/figures" <<'PY'
import json, statistics, sys
d = json.load(open(sys.argv[1])); f = json.load(open(sys.argv[2]))
recs = d["recordings"]
for r in recs:
    print("# %-4s speakers %d/%d  DER collar %5.1f%%  none %5.1f%%" % (
        r["name"], r["ref_speakers"], r["hyp_speakers"],
        100 * r["der"]["collar"]["der"], 100 * r["der"]["none"]["der"]))
fig = {
    "n": len(recs),
    "der_collar": statistics.mean(r["der"]["collar"]["der"] for r in recs),
    "der_none": statistics.mean(r["der"]["none"]["der"] for r in recs),
    "count_right": sum(1 for r in recs if r["speaker_count_correct"]),
    "full_n": len(f["recordings"]),
    "wer": f["total"]["wer"]["wer"],
    "kw_f1": f["total"]["keywords"]["total"]["f1"] or 0,
    "kw_f1_any": f["total"]["keywords"]["agnostic_total"]["f1"] or 0,
}
k = f["total"]["keywords"]["total"]
print("# mean DER collar 0.25 %.1f%%, no collar %.1f%%; speaker count right on %d of %d" % (
    100 * fig["der_collar"], 100 * fig["der_none"], fig["count_right"], fig["n"]))
print("# full runs (%d): WER %.1f%%; keywords ref %d, TP %d, FP %d, FN %d: F1 %.3f per speaker, %.3f any speaker" % (
    fig["full_n"], 100 * fig["wer"], k["ref"], k["tp"], k["fp"], k["fn"], fig["kw_f1"], fig["kw_f1_any"]))
for key, v in fig.items():
    print("%s=%s" % (key.upper(), v))
PY
grep '^#' "$TMP/figures"
echo "# generation $((t1 - t0)) s, parley runs $((t2 - t1)) s"
fig() { sed -n "s/^$1=//p" "$TMP/figures"; }
le() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }

check "all 10 conversations scored" test "$(fig N)" -eq 10
check "mean DER with 0.25 s collar $(fig DER_COLLAR) <= $MAX_DER_COLLAR" le "$(fig DER_COLLAR)" "$MAX_DER_COLLAR"
check "mean DER without collar $(fig DER_NONE) <= $MAX_DER_NONE" le "$(fig DER_NONE)" "$MAX_DER_NONE"
check "speaker count right on $(fig COUNT_RIGHT) >= $MIN_COUNT_RIGHT of 10" test "$(fig COUNT_RIGHT)" -ge "$MIN_COUNT_RIGHT"
check "3 full runs scored" test "$(fig FULL_N)" -eq 3
check "WER $(fig WER) <= $MAX_WER" le "$(fig WER)" "$MAX_WER"
check "keyword F1 per speaker, all targets $(fig KW_F1) >= $MIN_KW_F1" le "$MIN_KW_F1" "$(fig KW_F1)"
check "keyword F1 any speaker, all targets $(fig KW_F1_ANY) >= $MIN_KW_F1_ANY" le "$MIN_KW_F1_ANY" "$(fig KW_F1_ANY)"

#!/usr/bin/env bash
# test_eval.sh — `parley eval` end to end: a generated 2-speaker conversation
# is run through `parley run` and scored against its exact ground truth; the
# reference RTTM scored against itself gives DER 0; a diarization-only run
# gets no WER; a <name>.uem limits the scored time; bad input and bad usage
# give exit status 1 and 2 with a message naming file:line.
source "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/in"
check "generate a 2-speaker conversation" \
  $GEN --out "$TMP/ref" --name conv --speakers 2 --minutes 1 --seed 3 --quiet
cp "$TMP/ref/conv.wav" "$TMP/in/"
check "parley run on it" limit 600 "$PARLEY" run "$TMP/in" -o "$TMP/out" -j 2 -q
check "parley eval exits 0 and writes JSON" \
  limit 120 "$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/out" --json "$TMP/e.json"

check_json() {  # python condition on the report `e`
  python3 - "$1" "$2" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
t = e["total"]
r = e["recordings"][0] if e["recordings"] else {}
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
check "JSON: one recording, none missing" check_json "$TMP/e.json" \
  'len(e["recordings"]) == 1 and r["name"] == "conv" and not e["missing_hypothesis"] and not e["missing_reference"]'
check "JSON: DER with collar < 0.2 and without collar < 0.3" check_json "$TMP/e.json" \
  '0 <= t["der"]["collar"]["der"] < 0.2 and 0 <= t["der"]["none"]["der"] < 0.3 and t["der"]["none"]["der"] >= t["der"]["collar"]["der"]'
check "JSON: DER parts add up" check_json "$TMP/e.json" \
  'abs((lambda d: (d["missed"] + d["false_alarm"] + d["confusion"]) / d["scored"])(t["der"]["none"]) - t["der"]["none"]["der"]) < 1e-6'
check "JSON: speaker count right (2)" check_json "$TMP/e.json" \
  'r["ref_speakers"] == 2 and r["hyp_speakers"] == 2 and r["speaker_count_correct"] and t["speaker_count_accuracy"] == 1'
check "JSON: WER < 0.4 with counted edits" check_json "$TMP/e.json" \
  '0 <= t["wer"]["wer"] < 0.4 and t["wer"]["ref_words"] > 50 and abs((t["wer"]["substitutions"] + t["wer"]["insertions"] + t["wer"]["deletions"]) / t["wer"]["ref_words"] - t["wer"]["wer"]) < 1e-9'
check "JSON: keyword F1 > 0.5 (per speaker and agnostic)" check_json "$TMP/e.json" \
  't["keywords"]["total"]["f1"] > 0.5 and t["keywords"]["agnostic_total"]["f1"] >= t["keywords"]["total"]["f1"] and all(w["tp"] + w["fn"] == w["ref"] and w["tp"] + w["fp"] == w["hyp"] for w in t["keywords"]["words"].values())'

check "reference RTTM against itself: exit 0" \
  "$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/ref/conv.rttm" --json "$TMP/self.json"
check "reference RTTM against itself: DER 0 (collar and none)" check_json "$TMP/self.json" \
  't["der"]["collar"]["der"] == 0 and t["der"]["none"]["der"] == 0 and t["speaker_count_accuracy"] == 1 and t["wer"] is None'

# A diarization-only run has no transcript: no WER and no keyword figures
# (not WER 100%).
check "diarization-only run" limit 300 "$PARLEY" run "$TMP/in" -o "$TMP/dia" -j 1 -q \
  --stages decode,vad,diarize
check "... transcript.json says transcribed false, the full run true" bash -c \
  'grep -q "\"transcribed\": false" "$0/dia/conv/transcript.json" && grep -q "\"transcribed\": true" "$0/out/conv/transcript.json"' "$TMP"
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/dia" --json "$TMP/dia.json" >"$TMP/dia.txt"
check "... eval gives DER but WER and keywords null" check_json "$TMP/dia.json" \
  't["wer"] is None and r["wer"] is None and r["keywords"] is None and t["der"]["collar"]["der"] < 0.2'

# A <name>.uem beside the reference RTTM limits the scored time.
mkdir -p "$TMP/uem"
cp "$TMP/ref/conv.rttm" "$TMP/uem/"
printf ';; first 20 s and 40-50 s\nconv 1 0 20\nconv 1 40 50\n' >"$TMP/uem/conv.uem"
"$PARLEY" eval --ref "$TMP/uem" --hyp "$TMP/ref/conv.rttm" --json "$TMP/uem.json" >/dev/null
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/ref/conv.rttm" --collar 0 --json "$TMP/all.json" >/dev/null
"$PARLEY" eval --ref "$TMP/uem" --hyp "$TMP/ref/conv.rttm" --collar 0 --json "$TMP/uem0.json" >/dev/null
check "UEM: scored regions 30 s, reference speech scored only inside them" python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
u, a = json.load(open(d + "/uem0.json")), json.load(open(d + "/all.json"))
ref = [l.split() for l in open(d + "/uem/conv.rttm") if l.startswith("SPEAKER")]
inside = sum(max(0.0, min(float(f[3]) + float(f[4]), e) - max(float(f[3]), s))
             for f in ref for s, e in ((0, 20), (40, 50)))
r = u["recordings"][0]
sys.exit(0 if r["uem_seconds"] == 30 and abs(r["der"]["none"]["scored"] - inside) < 1e-6
         and a["recordings"][0]["uem_seconds"] is None
         and r["der"]["none"]["scored"] < a["recordings"][0]["der"]["none"]["scored"] else 1)
PY
printf 'conv 1 0\n' >"$TMP/uem/conv.uem"
"$PARLEY" eval --ref "$TMP/uem" --hyp "$TMP/ref/conv.rttm" >/dev/null 2>"$TMP/uem.err"; st=$?
check "UEM: a bad line gives exit 1 naming file:line" bash -c \
  'test "$0" -eq 1 && grep -q "conv.uem:1: a UEM line has 4 fields" "$1"' "$st" "$TMP/uem.err"

# Missing recordings are listed, not fatal.
cp "$TMP/ref/conv.rttm" "$TMP/ref/extra.rttm"
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/out" --json "$TMP/m.json" >/dev/null 2>"$TMP/m.err"
check "a reference without hypothesis is listed" check_json "$TMP/m.json" 'e["missing_hypothesis"] == ["extra"]'
check "... and named on stderr" grep -q "extra: no hypothesis" "$TMP/m.err"
rm "$TMP/ref/extra.rttm"

# Invalid input: exit 1 with file:line.
mkdir -p "$TMP/bad"
printf 'SPEAKER conv 1 0.5 1.0 <NA> <NA> spk1 <NA> <NA>\nSPEAKER conv 1 x 1.0 <NA> <NA> spk1 <NA> <NA>\n' >"$TMP/bad/conv.rttm"
"$PARLEY" eval --ref "$TMP/bad" --hyp "$TMP/out" >/dev/null 2>"$TMP/bad.err"; st=$?
check "invalid reference RTTM: exit 1" test "$st" -eq 1
check "invalid reference RTTM: message names file:line" grep -q "conv.rttm:2: start time 'x' is not a number" "$TMP/bad.err"

# Usage errors: exit 2; --help documents every flag.
"$PARLEY" eval --ref "$TMP/ref" >/dev/null 2>&1; st=$?
check "missing --hyp: exit 2" test "$st" -eq 2
"$PARLEY" eval --ref "$TMP/ref" --hyp "$TMP/out" --collar -1 >/dev/null 2>&1; st=$?
check "bad --collar: exit 2" test "$st" -eq 2
check "--help documents every flag" bash -c \
  '"$0" eval --help | grep -q -- --ref && "$0" eval --help | grep -q -- --hyp && "$0" eval --help | grep -q -- --json && "$0" eval --help | grep -q -- --collar' "$PARLEY"

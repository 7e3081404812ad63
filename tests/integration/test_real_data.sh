#!/usr/bin/env bash
# Real recordings from ../shared/data (when that folder exists).
#  1. Odd formats (float32 WAV, FLAC, stereo, 8 kHz, 48 kHz) and real
#     conversations go through a full `parley run`; every output must be valid.
#  2. Diarization on every real recording with speaker turns
#     (bench/real_sets.sh: the ten AMI meeting excerpts inside their .uem,
#     the pyannote sample, the Picovoice 3-speaker clip), diarization only,
#     scored by `parley eval`, with asserted thresholds a little above what
#     `make bench-real` measures (README "Real recordings"): pooled AMI DER
#     (collar 0.25) under 38% (measured 33.4%), the speaker count within one
#     on at least 5 of the 10 AMI excerpts (measured 6), the Picovoice clip
#     under 10% with 2-4 speakers (0.5%, 3 of 3), the pyannote sample under
#     55% (46.4%).
# A user's clone has no ../shared: then this test says so and skips.
. "$(dirname "$0")/lib.sh"
DATA=${PARLEY_SHARED_DATA:-$ROOT/../shared/data}
if [ ! -d "$DATA" ]; then
  echo "ok - real-recording checks # SKIP no $DATA (only the project's own machines have it)"
  exit 0
fi
in="$TMP/in"; mkdir -p "$in"
cp "$DATA/diarization/pyannote-sample/sample.wav" "$in/pyannote-sample.wav"
cp "$DATA/diarization/ami-debug-train/trn00.wav" "$in/ami-trn00.wav"          # float32
cp "$DATA/diarization/picovoice-3spk/falcon_test.wav" "$in/falcon.wav"
cp "$DATA/asr/lhotse-librispeech-2412/2412-153948-0000.flac" "$in/librispeech.flac"
cp "$DATA/asr/fasterwhisper-stereo-2spk/stereo_diarization.wav" "$in/stereo.wav"
cp "$DATA/telephone/osr-harvard-8k/"*.wav "$in/osr-8k.wav" 2>/dev/null
cp "$DATA/accent/vctk-8utt/p230_142_mic1.flac" "$in/vctk-48k.flac"
n=$(ls "$in" | wc -l)
limit 900 "$PARLEY" run "$in" -o "$TMP/out" -j 2 --no-progress >"$TMP/run.log" 2>&1
status=$?
check "parley run on $n real recordings exits 0 (status $status)" test $status -eq 0
[ $status -eq 0 ] || tail -20 "$TMP/run.log"
for f in "$in"/*; do
  python3 "$ROOT/tests/integration/check_outputs.py" "$TMP/out" "$(basename "${f%.*}")"
done

# Diarization accuracy on every real recording with speaker turns.
. "$ROOT/bench/real_sets.sh"
real_diar_sets "$DATA" "$TMP/din" "$TMP/dref" >"$TMP/sets.tsv"
limit 600 "$PARLEY" run "$TMP/din" -o "$TMP/dout" -j 2 -q --stages decode,vad,diarize >"$TMP/drun.log" 2>&1
status=$?
check "diarization-only run on $(wc -l <"$TMP/sets.tsv") real recordings exits 0 (status $status)" test $status -eq 0
"$PARLEY" eval --ref "$TMP/dref" --hyp "$TMP/dout" --json "$TMP/deval.json" >"$TMP/deval.txt" 2>&1
check "parley eval scores the real recordings" test -s "$TMP/deval.json"
sed 's/^/# /' "$TMP/deval.txt"
python3 - "$TMP/deval.json" <<'PY'
import json, sys
recs = {r["name"]: r for r in json.load(open(sys.argv[1]))["recordings"] if r.get("der")}
def check(ok, what):
    print("%s - %s" % ("ok" if ok else "not ok", what))
ami = [r for n, r in recs.items() if n.startswith("ami-debug-train-")]
c = {k: sum(r["der"]["collar"][k] for r in ami) for k in ("missed", "false_alarm", "confusion", "scored")}
der = (c["missed"] + c["false_alarm"] + c["confusion"]) / c["scored"] if c["scored"] else 9.99
check(len(ami) == 10, "all 10 AMI excerpts scored (%d)" % len(ami))
check(der < 0.38, "AMI pooled DER (collar 0.25) %.1f%% under 38%%" % (100 * der))
within = sum(abs(r["hyp_speakers"] - r["ref_speakers"]) <= 1 for r in ami)
check(within >= 5, "AMI speaker count within one on %d of %d excerpts (at least 5)" % (within, len(ami)))
p = recs.get("picovoice-3spk")
check(p is not None and p["der"]["collar"]["der"] < 0.10 and 2 <= p["hyp_speakers"] <= 4,
      "Picovoice 3-speaker clip: DER %s, %s speakers" % (
          p and "%.1f%%" % (100 * p["der"]["collar"]["der"]), p and p["hyp_speakers"]))
y = recs.get("pyannote-sample")
check(y is not None and y["der"]["collar"]["der"] < 0.55 and 1 <= y["hyp_speakers"] <= 3,
      "pyannote sample: DER %s, %s speakers" % (
          y and "%.1f%%" % (100 * y["der"]["collar"]["der"]), y and y["hyp_speakers"]))
PY

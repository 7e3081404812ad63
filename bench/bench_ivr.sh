#!/usr/bin/env bash
# bench/bench_ivr.sh — the ivr stage on generated calls and on real audio.
#
#  1. IVR_N (100) calls from tests/gen/gen_call.py, seeds 1..N, drawn per
#     seed (bench/ivr_report.py plan): country cycling us uk eu sg my in,
#     mono/stereo, 8/16 kHz, 1-3 ringback cycles, busy/congestion/SIT,
#     beep, IVR menu twice, 1-2 DTMF sequences, queue and hold music, white
#     noise at none/20/10/5 dB SNR; cached in build/bench-ivr/calls/<key>.
#     `parley run --stages decode,ivr --set ivr.dtmf_digits=true` on all.
#     Scored per event kind: precision, recall (same kind, overlapping, both
#     edges within 1 s), edge error (mean |start| and |end| error, and the
#     share within 0.2 s), DTMF digits exact, ringback country right.
#  2. Real speech with the same stage: every event there is false; per hour
#     of speech. ../shared/data (every .wav/.flac) and, when installed, the
#     568 recorded prompts of asterisk-core-sounds-en-wav (Allison; the four
#     that are tones, beep*.wav and *-2tone.wav, left out).
#  3. Real music on hold (asterisk-moh-opsound-wav): music found / duration.
# RTF: the ivr stage's CPU seconds (stage_runs) over the audio's seconds.
#
# Environment: IVR_N (100), IVR_JOBS (2), PARLEY_SHARED_DATA,
#   IVR_OUT (build/bench-ivr.json), IVR_KEEP (0: remove the run folders).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
DATA=${PARLEY_SHARED_DATA:-$(dirname "$ROOT")/shared/data}
N=${IVR_N:-100}
JOBS=${IVR_JOBS:-2}
OUT=${IVR_OUT:-$ROOT/build/bench-ivr.json}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
key=$( (cat tests/gen/gen_call.py tests/gen/gen_conversation.py; python3 bench/ivr_report.py plan 100) |
  sha1sum | cut -c1-12)
CALLS=$ROOT/build/bench-ivr/calls/$key
WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-ivr.XXXXXX")
[ "${IVR_KEEP:-0}" = 1 ] && echo "work folder: $WORK" || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CALLS" "$WORK/calls"

echo "== generating $N calls into $CALLS (cached)"
python3 bench/ivr_report.py plan "$N" | while read -r name args; do
  if [ ! -s "$CALLS/$name.truth.json" ]; then
    echo "python3 tests/gen/gen_call.py --out $CALLS --name $name --quiet $args"
  fi
done | xargs -d '\n' -P "$JOBS" -I{} sh -c '{}'
cp "$CALLS"/*.wav "$WORK/calls/"

echo "== parley run --stages decode,ivr on the generated calls"
"$PARLEY" run "$WORK/calls" -o "$WORK/gen" -j "$JOBS" --no-progress -q --stages decode,ivr \
  --set ivr.dtmf_digits=true

echo "== real speech and real music on hold"
mkdir -p "$WORK/speech" "$WORK/moh"
if [ -d "$DATA" ]; then
  find "$DATA" -type f \( -name '*.wav' -o -name '*.flac' \) | sort | while read -r f; do
    cp "$f" "$WORK/speech/$(echo "${f#$DATA/}" | tr "/" "_")"
  done
  "$PARLEY" run "$WORK/speech" -o "$WORK/speech-out" -j "$JOBS" --no-progress -q \
    --stages decode,ivr || true
else
  echo "# skip: $DATA absent (no real speech)"
fi
ALLISON=/usr/share/asterisk/sounds/en_US_f_Allison
if [ -d "$ALLISON" ]; then
  mkdir -p "$WORK/prompts"
  find -L "$ALLISON" -maxdepth 1 -name '*.wav' ! -name 'beep*' ! -name '*2tone*' | while read -r f; do
    cp "$f" "$WORK/prompts/"
  done
  "$PARLEY" run "$WORK/prompts" -o "$WORK/prompts-out" -j "$JOBS" --no-progress -q \
    --stages decode,ivr || true
else
  echo "# skip: $ALLISON absent (asterisk-core-sounds-en-wav)"
fi
if [ -d /usr/share/asterisk/moh ]; then
  cp /usr/share/asterisk/moh/*.wav "$WORK/moh/"
  "$PARLEY" run "$WORK/moh" -o "$WORK/moh-out" -j "$JOBS" --no-progress -q --stages decode,ivr || true
else
  echo "# skip: /usr/share/asterisk/moh absent (asterisk-moh-opsound-wav)"
fi
python3 bench/ivr_report.py score "$CALLS" "$WORK/gen" "$WORK/speech-out" "$WORK/moh-out" "$OUT" \
  "$WORK/prompts-out"

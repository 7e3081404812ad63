#!/usr/bin/env bash
# bench/bench_accuracy.sh — `make bench-accuracy`: how accurate is parley?
#
# Generated sets with exact ground truth (tests/gen/gen_conversation.py):
#   {2,3,4,6 speakers} x {clean, pink noise at 10 dB SNR, telephone 8 kHz},
#   ACC_N conversations per condition (default 50), 1-3 minutes each.
# Diarization (DER with a 0.25 s collar and without, speaker-count accuracy,
# the diarizer's RTF) comes from `parley run --stages decode,vad,diarize`,
# which costs ~0.001 RTF, so every conversation is scored. Speech recognition
# costs ~0.2 RTF, so WER and keyword precision/recall/F1 come from full runs
# on the first ACC_STT_N conversations (default 10) of the 2- and 3-speaker
# clean and 10 dB sets only.
# Then every real recording with a reference in ../shared/data (when present)
# is run in full and scored per file.
#
# Prints one table per condition, a keyword table per target word and the
# real-recording table; writes everything to build/bench-accuracy.json.
#
# Environment:
#   ACC_N (50)          conversations per condition
#   ACC_STT_N (10)      full (speech recognition) runs per 2/3-speaker clean/10 dB set
#   ACC_SPEAKERS ("2 3 4 6"), ACC_NOISE ("clean snr10 tel")  subsets, for quick reruns
#   ACC_JOBS (nproc)    parallel generators and parley workers
#   ACC_REAL (1)        0 skips the real recordings
#   ACC_OUT (build/bench-accuracy.json)
#   ACC_KEEP (0)        1 keeps the work folder (audio, outputs) and prints where
#   PARLEY_GEN_CACHE (build/gen-cache)  TTS cache shared with the tests
#   PARLEY_SHARED_DATA ($(dirname repo)/shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${ACC_N:-50}
STT_N=${ACC_STT_N:-10}
SPEAKERS=${ACC_SPEAKERS:-2 3 4 6}
NOISES=${ACC_NOISE:-clean snr10 tel}
JOBS=${ACC_JOBS:-$(nproc 2>/dev/null || echo 2)}
OUT_JSON=${ACC_OUT:-$ROOT/build/bench-accuracy.json}
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
GEN=$ROOT/tests/gen/gen_conversation.py
DATA=${PARLEY_SHARED_DATA:-$(dirname "$ROOT")/shared/data}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
mkdir -p "$PARLEY_GEN_CACHE" "$(dirname "$OUT_JSON")"
. "$ROOT/bench/real_sets.sh"

# The audio is large (600 conversations x 2 min ~ 4.6 GB as 16 kHz WAV), so it
# lives in a temp folder and each condition's audio is deleted once scored;
# only the small eval JSON and stage timings are kept in $W/results.
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-acc.XXXXXX")
if [ "${ACC_KEEP:-0}" = 1 ]; then
  trap 'echo "work folder kept: $W"' EXIT
else
  trap 'rm -rf "$W"' EXIT
fi
RES=$W/results; mkdir -p "$RES"
T0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - T0 )) s"; }

# Seeds depend only on the speaker count and the index, not on the noise
# condition: the clean, 10 dB and telephone sets hold the same conversations
# (so the conditions are directly comparable, and the TTS cache makes the
# noisy and telephone sets nearly free to generate).
seed_of() { echo $(( 10000 + 1000 * $1 + $2 )); }
# 1, 1.5, 2, 2.5, 3 minutes in turn: 2 minutes on average.
minutes_of() { echo "$(( 1 + $1 % 5 / 2 )).$(( $1 % 5 % 2 * 5 ))"; }
noise_args() {
  case $1 in
    clean) ;;
    snr10) echo "--noise pink --snr 10" ;;
    tel) echo "--telephone-8k" ;;     # 300-3400 Hz, mu-law, file left at 8 kHz
    *) echo "unknown noise condition $1" >&2; exit 2 ;;
  esac
}

# Stage timings of a store: stage, cpu seconds, recording duration.
stage_rows() {
  sqlite3 -separator ' ' "$1" \
    "select s.stage, s.cpu_seconds, r.duration from stage_runs s join recordings r on r.id = s.recording_id where s.status = 'done'"
}

echo "bench-accuracy: N=$N per condition, speakers {$SPEAKERS}, conditions {$NOISES}, STT subset $STT_N, $JOBS jobs"
echo "work folder $W; TTS cache $PARLEY_GEN_CACHE"
for spk in $SPEAKERS; do
  for noise in $NOISES; do
    cond="${spk}spk-$noise"
    d=$W/$cond; mkdir -p "$d/ref" "$d/in"
    # One generator per line; xargs runs $JOBS at once, each single-threaded
    # (--jobs 1) so the machine is not oversubscribed.
    : >"$d/jobs"
    for ((i = 0; i < N; i++)); do
      # shellcheck disable=SC2046
      echo "$GEN --out $d/ref --name c$i --speakers $spk --minutes $(minutes_of "$i") --seed $(seed_of "$spk" "$i") $(noise_args "$noise") --jobs 1 --quiet" >>"$d/jobs"
    done
    t=$(date +%s)
    xargs -P "$JOBS" -L 1 python3 <"$d/jobs"
    tgen=$(( $(date +%s) - t ))
    mv "$d"/ref/*.wav "$d/in/"
    # Diarization only: decode, VAD, diarize.
    t=$(date +%s)
    "$PARLEY" run "$d/in" -o "$d/out" -j "$JOBS" --stages decode,vad,diarize -q >"$d/run.log" 2>&1 \
      || { echo "parley run failed on $cond:"; tail -20 "$d/run.log"; exit 1; }
    trun=$(( $(date +%s) - t ))
    "$PARLEY" eval --ref "$d/ref" --hyp "$d/out" --json "$RES/$cond.eval.json" >/dev/null
    stage_rows "$d/out/parley.db" >"$RES/$cond.stages"
    # Full runs (speech recognition, word counts) on a subset of the 2- and
    # 3-speaker clean and 10 dB sets: WER and keyword figures.
    tstt=0
    if [ "$STT_N" -gt 0 ] && { [ "$spk" = 2 ] || [ "$spk" = 3 ]; } && [ "$noise" != tel ]; then
      mkdir -p "$d/stt-in"
      for ((i = 0; i < STT_N && i < N; i++)); do ln "$d/in/c$i.wav" "$d/stt-in/"; done
      t=$(date +%s)
      "$PARLEY" run "$d/stt-in" -o "$d/stt-out" -j "$JOBS" -q >"$d/stt.log" 2>&1 \
        || { echo "parley run (full) failed on $cond:"; tail -20 "$d/stt.log"; exit 1; }
      tstt=$(( $(date +%s) - t ))
      # eval scores only recordings present in the hypothesis; the others are
      # listed as missing, which is expected here.
      "$PARLEY" eval --ref "$d/ref" --hyp "$d/stt-out" --json "$RES/stt-$cond.eval.json" >/dev/null 2>&1
      stage_rows "$d/stt-out/parley.db" >"$RES/stt-$cond.stages"
    fi
    # Partial report after every condition: an interrupted run still leaves
    # the figures measured so far in $OUT_JSON.
    python3 "$ROOT/bench/acc_report.py" "$RES" "$OUT_JSON" --n "$N" --stt-n "$STT_N" >/dev/null
    echo "$cond: generated in ${tgen} s, diarized in ${trun} s, full runs ${tstt} s (total $(elapsed))"
    rm -rf "$d"
  done
done

# Real recordings: each with its reference, copied into one input folder and
# one reference folder under a unique name. `parley eval` needs a reference
# RTTM per recording; the ASR files have a transcript but no speaker turns,
# so they get a placeholder RTTM that only carries the true speaker count
# ("turns": false in the JSON) and their DER is not reported.
real() {
  local in=$W/real/in ref=$W/real/ref
  mkdir -p "$in" "$ref"
  local asr=$DATA/asr
  local f n
  # Files with real speaker turns (AMI with its .uem scoring regions):
  # bench/real_sets.sh finds every RTTM with its audio under $DATA.
  real_diar_sets "$DATA" "$in" "$ref" >/dev/null
  # Transcript-only files: name, audio, transcript, speaker count.
  placeholder() {  # name, speakers: a reference RTTM with the count, no real turns
    local k
    : >"$ref/$1.rttm"
    for ((k = 1; k <= $2; k++)); do
      echo "SPEAKER $1 1 $(( k - 1 )).000 0.100 <NA> <NA> spk$k <NA> <NA>" >>"$ref/$1.rttm"
    done
    echo "$1" >>"$W/real/placeholders"
  }
  add() {  # name, audio file, transcript text, speakers
    cp "$2" "$in/$1.${2##*.}"
    printf '%s\n' "$3" >"$ref/$1.txt"
    placeholder "$1" "$4"
  }
  : >"$W/real/placeholders"
  add arctic-a0024 "$asr/deepspeech-arctic-a0024/arctic_a0024.wav" "$(cat "$asr/deepspeech-arctic-a0024/arctic_a0024.ref.txt")" 1
  add ldc93s1 "$asr/deepspeech-ldc93s1/LDC93S1.wav" "$(cut -d' ' -f3- "$asr/deepspeech-ldc93s1/LDC93S1.txt")" 1
  add ldc93s1-8k "$asr/deepspeech-ldc93s1/LDC93S1_pcms16le_1_8000.wav" "$(cut -d' ' -f3- "$asr/deepspeech-ldc93s1/LDC93S1.txt")" 1
  add librispeech-2412 "$asr/lhotse-librispeech-2412/2412-153948-0000.flac" "$(cut -d' ' -f2- "$asr/lhotse-librispeech-2412/2412-153948-0000.ref.txt")" 1
  for n in LJ002-0020 LJ002-0035; do
    add "ljspeech-$n" "$asr/lhotse-ljspeech/$n.wav" "$(grep "^$n " "$asr/lhotse-ljspeech/ljspeech.ref.txt" | cut -d' ' -f2-)" 1
  done
  add leopard-en "$asr/picovoice-leopard-en/test.wav" "$(cat "$asr/picovoice-leopard-en/test.ref.txt")" 1
  add forever "$asr/pocketsphinx-forever/input_2_16k.wav" "$(cat "$asr/pocketsphinx-forever/input_2_16k.ref.txt")" 1
  # Headerless s16le 16 kHz: give them a WAV header (no other change).
  for n in goforward:pocketsphinx-goforward/goforward tidigits-dhd:pocketsphinx-tidigits-dhd/dhd.2934z; do
    sox -t raw -r 16000 -e signed -b 16 -c 1 "$asr/${n#*:}.raw" "$W/real/${n%%:*}.wav"
    add "${n%%:*}" "$W/real/${n%%:*}.wav" "$(cat "$asr/${n#*:}.ref.txt")" 1
  done
  while read -r line; do   # "<s> words </s> (id)"
    n=$(sed 's/.*(\(.*\))$/\1/' <<<"$line")
    add "librivox-${n##*-}" "$asr/pocketsphinx-librivox/$n.wav" "$(sed 's/<s>\(.*\)<\/s>.*/\1/' <<<"$line")" 1
  done <"$asr/pocketsphinx-librivox/transcription"
  while read -r line; do
    n=$(sed 's/.*(\(.*\))$/\1/' <<<"$line")
    add "cards-$n" "$asr/pocketsphinx-cards/$n.wav" "$(sed 's/<s>\(.*\)<\/s>.*/\1/' <<<"$line")" 1
  done <"$asr/pocketsphinx-cards/cards.transcription"
  while read -r n text; do
    add "harvard-$n" "$asr/speechbrain-harvard-2spk/$n.wav" "$text" 1
  done < <(grep -v '^#' "$asr/speechbrain-harvard-2spk/harvard.ref.txt")
  # Two speakers, one per channel; the transcript is left then right.
  add stereo-2spk "$asr/fasterwhisper-stereo-2spk/stereo_diarization.wav" \
    "$(sed 's/^[a-z]*: //' "$asr/fasterwhisper-stereo-2spk/stereo_diarization.ref.txt" | tr '\n' ' ')" 2
  for f in "$DATA"/telephone/osr-harvard-8k/*.wav; do
    add "osr-8k" "$f" "$(cat "${f%.wav}.ref.txt")" 1
  done
  while IFS=$'\t' read -r n text; do
    add "vctk-$n" "$DATA/accent/vctk-8utt/$n.flac" "$text" 1
  done <"$DATA/accent/vctk-8utt/vctk.ref.txt"
  # Not scored: the porcupine keyword list is not a transcript (only 8 of its
  # words are labelled), the call-centre call and the Singlish snippets have
  # no human reference, the leopard diarization clip is the falcon clip again.
  local t; t=$(date +%s)
  "$PARLEY" run "$in" -o "$W/real/out" -j "$JOBS" -q >"$W/real/run.log" 2>&1 \
    || { echo "parley run failed on the real recordings:"; tail -20 "$W/real/run.log"; exit 1; }
  "$PARLEY" eval --ref "$ref" --hyp "$W/real/out" --json "$RES/real.eval.json" >/dev/null
  cp "$W/real/placeholders" "$RES/real.placeholders"
  stage_rows "$W/real/out/parley.db" >"$RES/real.stages"
  echo "real recordings: $(ls "$in" | wc -l) files run in full in $(( $(date +%s) - t )) s (total $(elapsed))"
}
if [ "${ACC_REAL:-1}" = 1 ]; then
  if [ -d "$DATA" ]; then real; else echo "real recordings: skipped, no $DATA (only the project's own machines have it)"; fi
fi

python3 "$ROOT/bench/acc_report.py" "$RES" "$OUT_JSON" \
  --n "$N" --stt-n "$STT_N" --seconds "$(( $(date +%s) - T0 ))"
echo "bench-accuracy took $(elapsed); figures in $OUT_JSON"

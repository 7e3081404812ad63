#!/usr/bin/env bash
# bench/bench_keywords.sh — `make bench-keywords`: the target-word verifier's
# trade-off curve (src/engines/ps_verify.h), from which the default
# verify_min_llr of the built-in lexicon was chosen.
#
# Three kinds of audio, each run ONCE through `parley run -v` with the
# built-in lexicon but verify_min_llr -50 (nothing that is swept is rejected
# by the run itself) and "spot -50" on every target (the keyphrase spotter,
# src/engines/pocketsphinx.h SPOTTING, as a second candidate source with its
# tests open); the engine logs every target candidate and spotted detection
# with its log likelihood ratios, and bench/kw_report.py recounts the
# targets at every threshold of the sweep (the verifier's, then the
# spotter's at verifier -1; "off" = without spotting, the built-in default):
#   real-tune  every real English recording in ../shared/data in which nobody
#              says a target (bench/real_asr_sets.sh): false alarms per hour.
#              The threshold is chosen on this set.
#   asterisk   Debian's asterisk-core-sounds-en-wav prompts (8 kHz IVR, one
#              speaker), every KW_AST_EVERY-th file: false alarms per hour on
#              audio the threshold was NOT chosen on (held out).
#   gen-clean, gen-snr10  KW_GEN_N generated 1.5-minute conversations of 2-3
#              speakers (tests/gen/gen_conversation.py, its default voice mix
#              of Festival and espeak-ng voices, half the sentences with
#              targets), clean and with pink noise at 10 dB SNR: recall and
#              precision of the any-speaker counts against the exact reference.
#
# Environment:
#   KW_GEN_N (6)            generated conversations per condition (seeds 20001..)
#   KW_REAL (1)             0 skips the ../shared/data set
#   KW_AST_EVERY (2)        take every N-th asterisk prompt (0: none)
#   KW_JOBS (nproc)         parley workers and generators
#   KW_SWEEP                thresholds (kw_report.py --sweep)
#   KW_OUT (build/bench-keywords.json)
#   KW_ARGS                 more `parley run` arguments for every set, e.g.
#                           "--set stt.denoise_below=0" (the noisy-recording switch off)
#   KW_GEN_ONLY (0)         1 runs only the generated sets (KW_REAL=0 KW_AST_EVERY=0)
#   KW_KEEP (0)             1 keeps the work folder
#   PARLEY_GEN_CACHE (build/gen-cache), PARLEY_SHARED_DATA ($(dirname repo)/shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
DATA=${PARLEY_SHARED_DATA:-$(dirname "$ROOT")/shared/data}
JOBS=${KW_JOBS:-$(nproc 2>/dev/null || echo 2)}
GEN_N=${KW_GEN_N:-6}
AST_EVERY=${KW_AST_EVERY:-2}
AST_DIR=${RW_ASTERISK_DIR:-/usr/share/asterisk/sounds/en_US_f_Allison}
OUT_JSON=${KW_OUT:-$ROOT/build/bench-keywords.json}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
# shellcheck source=bench/real_asr_sets.sh
. "$ROOT/bench/real_asr_sets.sh"
# shellcheck source=bench/kw_gen_sets.sh
. "$ROOT/bench/kw_gen_sets.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-kw.XXXXXX")
if [ "${KW_KEEP:-0}" = 1 ]; then trap 'echo "work folder kept: $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
mkdir -p "$PARLEY_GEN_CACHE" "$(dirname "$OUT_JSON")"
T0=$(date +%s)

# The built-in lexicon with the verifier and the spotting (every target)
# effectively open.
"$PARLEY" lexicon | grep -v -e '^verify_min_llr' -e '^spot ' >"$W/sweep.lex"
echo "verify_min_llr -50" >>"$W/sweep.lex"
echo "spot -50 $("$PARLEY" lexicon | awk '$1 == "target" { printf "%s ", $2 }')" >>"$W/sweep.lex"

SETS=()
read -r -a EXTRA <<<"${KW_ARGS:-}"
if [ "${KW_GEN_ONLY:-0}" = 1 ]; then KW_REAL=0; AST_EVERY=0; fi
run_set() { # label kind input-dir [list]
  "$PARLEY" run "$3" -o "$W/$1.out" -j "$JOBS" -v --no-progress --lexicon "$W/sweep.lex" "${EXTRA[@]}" \
    >"$W/$1.log" 2>&1 || { echo "parley run failed on $1:"; grep -v debug "$W/$1.log" | tail; exit 1; }
  SETS+=("$1:$2:$W/$1.out:$W/$1.log:${4:-}")
  echo "$1: $(ls "$3" | wc -l) files done ($(( $(date +%s) - T0 )) s)"
}

if [ "${KW_REAL:-1}" = 1 ] && [ -d "$DATA" ]; then
  real_free_sets "$DATA" "$W/real" >"$W/real.list"
  run_set real-tune free "$W/real" "$W/real.list"
else
  echo "real-tune: skipped (KW_REAL=0 or no $DATA)"
fi
if [ "$AST_EVERY" -gt 0 ] && [ -d "$AST_DIR" ]; then
  asterisk_sets "$AST_DIR" "$W/ast" "$AST_EVERY" >"$W/ast.list"
  run_set asterisk free "$W/ast" "$W/ast.list"
else
  echo "asterisk: skipped (KW_AST_EVERY=0 or no $AST_DIR; apt-get install asterisk-core-sounds-en-wav)"
fi
kw_gen_sets "$ROOT" "$W/ref" "$W/gen-clean" "$W/gen-snr10" "$GEN_N" "$JOBS"
run_set gen-clean gen "$W/gen-clean"
run_set gen-snr10 gen "$W/gen-snr10"

args=()
[ -n "${KW_SWEEP:-}" ] && args+=(--sweep "$KW_SWEEP")
python3 "$ROOT/bench/kw_report.py" --lexicon "$W/sweep.lex" --gen-ref "gen-clean:$W/ref" \
  --gen-ref "gen-snr10:$W/ref" --json "$OUT_JSON" "${args[@]}" "${SETS[@]}"
echo "bench-keywords took $(( $(date +%s) - T0 )) s; figures in $OUT_JSON"

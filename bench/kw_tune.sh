#!/usr/bin/env bash
# bench/kw_tune.sh — `make bench-kw-tune`: choose the keyword LM weight, the
# verifier threshold, PASS and MIN of the built-in lexicon on a tuning half
# and report them on a held-out half, as stop 18 did (README, Accuracy:
# "Choosing the keyword weight, PASS and MIN on a larger tuning half").
#
# Every set is decoded once per weight of KT_WEIGHTS with the built-in
# lexicon at that keyword_weight, verify_min_llr -50 and no spot lines (the
# run rejects nothing that is recounted), then split by name position:
#   real     every real English recording of ../shared/data in which nobody
#            says a target (bench/real_asr_sets.sh real_free_sets)
#   ast      every top-level asterisk prompt (Debian's asterisk-core-sounds-en-wav)
#   astsub   its word prompts (digits/, letters/, phonetic/, dictate/, followme/)
#   gen-clean, gen-snr10  KT_GEN_N generated 1.5-minute conversations
#            (tests/gen/gen_conversation.py, seeds 20001..), clean and pink
#            noise at 10 dB SNR
# The tuning half is the odd lines of each sorted name list (even positions,
# counting from 0) and the conversations of odd seeds; the held-out half the
# rest. bench/kw_choose.py --margin applies the rule on the tuning half for
# each weight and prints both halves at the chosen setting.
#
# Environment: KT_WEIGHTS ("0.02 0.03 0.05"), KT_GEN_N (12), KT_AST_EVERY (1:
# every prompt), KT_SUB (1; 0 skips the word prompts), KT_REAL (1),
# KT_JOBS (nproc), KT_KEEP (0; 1 keeps the work folder),
# PARLEY_BIN, PARLEY_SHARED_DATA, PARLEY_GEN_CACHE (build/gen-cache).
# One weight takes about 15 minutes on 2 cores with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
DATA=${PARLEY_SHARED_DATA:-$(dirname "$ROOT")/shared/data}
JOBS=${KT_JOBS:-$(nproc 2>/dev/null || echo 2)}
GEN_N=${KT_GEN_N:-12}
AST_EVERY=${KT_AST_EVERY:-1}
AST_DIR=${RW_ASTERISK_DIR:-/usr/share/asterisk/sounds/en_US_f_Allison}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
# shellcheck source=bench/real_asr_sets.sh
. "$ROOT/bench/real_asr_sets.sh"
# shellcheck source=bench/kw_gen_sets.sh
. "$ROOT/bench/kw_gen_sets.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-kwtune.XXXXXX")
if [ "${KT_KEEP:-0}" = 1 ]; then trap 'echo "work folder kept: $W"' EXIT; else trap 'rm -rf "$W"' EXIT; fi
mkdir -p "$PARLEY_GEN_CACHE" "$W/in" "$W/split"
T0=$(date +%s)

# The inputs, once.
SETS=()
if [ "${KT_REAL:-1}" = 1 ] && [ -d "$DATA" ]; then
	real_free_sets "$DATA" "$W/in/real" >/dev/null
	SETS+=(real:free)
else
	echo "real: skipped (KT_REAL=0 or no $DATA)"
fi
if [ -d "$AST_DIR" ]; then
	asterisk_sets "$AST_DIR" "$W/in/ast" "$AST_EVERY" >/dev/null
	SETS+=(ast:free)
	if [ "${KT_SUB:-1}" = 1 ]; then
		mkdir -p "$W/in/astsub"
		while IFS= read -r f; do
			r=${f#"$AST_DIR"/}
			cp "$f" "$W/in/astsub/sub-${r//\//-}"
		done < <(find "$AST_DIR" -mindepth 2 -name '*.wav' -not -path '*/silence/*' | LC_ALL=C sort)
		SETS+=(astsub:free)
	fi
else
	echo "asterisk: skipped (no $AST_DIR; apt-get install asterisk-core-sounds-en-wav)"
fi
kw_gen_sets "$ROOT" "$W/ref" "$W/in/gen-clean" "$W/in/gen-snr10" "$GEN_N" "$JOBS"
SETS+=(gen-clean:gen gen-snr10:gen)

# The halves: name lists (recording name = file name without its extension).
for s in "${SETS[@]}"; do
	set_name=${s%%:*}
	find "$W/in/$set_name" -maxdepth 1 -type f | sed 's|.*/||; s/\.[A-Za-z0-9]*$//' | LC_ALL=C sort >"$W/split/$set_name.all"
	case $set_name in
	gen-*) # odd seeds tune, even seeds are held out
		grep -E '[13579]$' "$W/split/$set_name.all" >"$W/split/$set_name.tune" || true
		grep -E '[02468]$' "$W/split/$set_name.all" >"$W/split/$set_name.held" || true ;;
	*)
		awk 'NR % 2 == 1' "$W/split/$set_name.all" >"$W/split/$set_name.tune"
		awk 'NR % 2 == 0' "$W/split/$set_name.all" >"$W/split/$set_name.held" ;;
	esac
done

for wt in ${KT_WEIGHTS:-0.02 0.03 0.05}; do
	D=$W/w$wt
	mkdir -p "$D"
	"$PARLEY" lexicon | grep -v -e '^verify_min_llr' -e '^spot ' -e '^keyword_weight' >"$D/sweep.lex"
	printf 'verify_min_llr -50\nkeyword_weight %s\n' "$wt" >>"$D/sweep.lex"
	TUNE=() HELD=()
	for s in "${SETS[@]}"; do
		set_name=${s%%:*} kind=${s#*:}
		"$PARLEY" run "$W/in/$set_name" -o "$D/$set_name.out" -j "$JOBS" -v --no-progress \
			--lexicon "$D/sweep.lex" >"$D/$set_name.log" 2>&1 ||
			{ echo "parley run failed on $set_name at weight $wt:"; grep -v debug "$D/$set_name.log" | tail; exit 1; }
		TUNE+=("$set_name:$kind:$D/$set_name.out:$D/$set_name.log:$W/split/$set_name.tune")
		HELD+=("$set_name:$kind:$D/$set_name.out:$D/$set_name.log:$W/split/$set_name.held")
	done
	echo "== keyword_weight $wt (decoded in $(($(date +%s) - T0)) s so far)"
	python3 "$ROOT/bench/kw_choose.py" --lexicon "$D/sweep.lex" --gen-ref "$W/ref" --prefer=-3,0.1 \
		--scale-long 1,1.25,1.5,2,2.5,3 --scale-particle 1,1.25,1.5,2 --min 2,3 --margin \
		--tune "${TUNE[@]}" --held "${HELD[@]}" || true
done
echo "bench-kw-tune took $(($(date +%s) - T0)) s"

#!/bin/sh
# diar_sweep.sh — diarization-only sweep over generated conversations.
#   bench/diar_sweep.sh gen  [SEEDS] [MINUTES]   generate sets into $SWEEP_DIR
#   bench/diar_sweep.sh eval [LABEL]             run decode,vad,diarize + eval per set
# Sets: s{2,3,4,6}-{clean,pink10,white10,tel}; SEEDS conversations each.
# SWEEP_SPK / SWEEP_CONDS narrow them (also tel8k: telephone band left at 8 kHz).
# SWEEP_BENCH=1: the conversations of bench/bench_accuracy.sh (seed
# 10000 + 1000 x speakers + i, 1-3 minutes, i = 0 .. SEEDS-1) instead of
# seed 100 x speakers + i, MINUTES long, 10% overlapped turns. The
# before/after table in README "Diarizer with pitch" is
#   SWEEP_BENCH=1 SWEEP_CONDS="clean pink10 tel8k" bench/diar_sweep.sh gen 20
#   bench/diar_sweep.sh eval LABEL
set -eu
cd "$(dirname "$0")/.."
SWEEP_DIR=${SWEEP_DIR:-build/sweep}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$PWD/build/gen-cache}
SPK=${SWEEP_SPK:-"2 3 4 6"}
CONDS=${SWEEP_CONDS:-"clean pink10 white10 tel"}
cond_flags() {
	case $1 in
	clean) echo "" ;;
	pink10) echo "--noise pink --snr 10" ;;
	white10) echo "--noise white --snr 10" ;;
	tel) echo "--telephone" ;;
	tel8k) echo "--telephone-8k" ;;
	esac
}
case ${1:-} in
gen)
	seeds=${2:-8}
	min=${3:-2.5}
	for n in $SPK; do
		for c in $CONDS; do
			dir=$SWEEP_DIR/s$n-$c/ref
			mkdir -p "$dir"
			i=1
			while [ "$i" -le "$seeds" ]; do
				if [ "${SWEEP_BENCH:-0}" = 1 ]; then
					# as bench_accuracy.sh: seed_of, minutes_of (1, 1.5 .. 3)
					j=$((i - 1))
					args="--seed $((10000 + 1000 * n + j)) --minutes $((1 + j % 5 / 2)).$((j % 5 % 2 * 5))"
				else
					args="--seed $((100 * n + i)) --minutes $min --overlap 0.1"
				fi
				# shellcheck disable=SC2046,SC2086
				[ -f "$dir/c$i.wav" ] || nice -n 15 python3 tests/gen/gen_conversation.py --quiet \
					--out "$dir" --name "c$i" --speakers "$n" $args $(cond_flags "$c")
				i=$((i + 1))
			done
		done
	done
	;;
eval)
	label=${2:-run}
	out=$SWEEP_DIR/out-$label
	mkdir -p "$out"
	printf '%-12s %8s %8s %9s %6s %6s %6s\n' set DERcollar DERnone count miss FA conf
	for s in "$SWEEP_DIR"/s*-*; do
		set=$(basename "$s")
		[ -d "$s/ref" ] || continue
		rm -rf "$out/$set"
		nice -n 15 build/parley run -q -j 2 "$s"/ref/*.wav -o "$out/$set" --stages decode,vad,diarize \
			>"$out/$set.log" 2>&1 || { echo "$set: run failed"; continue; }
		build/parley eval --ref "$s/ref" --hyp "$out/$set" --json "$out/$set.json" \
			>"$out/$set.eval" 2>&1 || true
		python3 - "$out/$set.json" "$set" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
c, n = t["der"]["collar"], t["der"]["none"]
pct = lambda x: "-" if x is None else "%.1f" % (100 * x)
sc = lambda k: pct(c[k] / c["scored"]) if c["scored"] else "-"
print("%-12s %8s %8s %5d/%-3d %6s %6s %6s" % (sys.argv[2], pct(c["der"]), pct(n["der"]),
      t["speaker_count_correct"], t["recordings"], sc("missed"), sc("false_alarm"), sc("confusion")))
PY
	done
	;;
*)
	echo "usage: $0 gen [SEEDS] [MINUTES] | eval [LABEL]" >&2
	exit 2
	;;
esac

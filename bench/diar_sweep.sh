#!/bin/sh
# diar_sweep.sh — diarization-only sweep over generated conversations.
#   bench/diar_sweep.sh gen  [SEEDS] [MINUTES]   generate sets into $SWEEP_DIR
#   bench/diar_sweep.sh eval [LABEL]             run decode,vad,diarize + eval per set
# Sets: s{2,3,4,6}-{clean,pink10,white10,tel}; SEEDS conversations each.
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
				[ -f "$dir/c$i.wav" ] || python3 tests/gen/gen_conversation.py --quiet \
					--out "$dir" --name "c$i" --speakers "$n" --minutes "$min" \
					--seed "$((100 * n + i))" --overlap 0.1 $(cond_flags "$c")
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
		build/parley run -q -j 2 "$s"/ref/*.wav -o "$out/$set" --stages decode,vad,diarize \
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

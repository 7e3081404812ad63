#!/usr/bin/env bash
# bench/bench_denoise.sh — `make bench-denoise`: what does the denoise stage
# (speexdsp's suppressor, denoise.engine "speex") do to recognition?
#
# BD_N generated 2-speaker conversations (tests/gen/gen_conversation.py,
# BD_MINUTES long each, half the sentences with target words) with BD_NOISE
# noise (pink) at each SNR of BD_SNRS ("0 5 10"; "clean": no noise): the same conversations at
# every SNR (seeds depend on the index only). Each set runs twice through
# decode,vad,diarize,stt,words — once as is, once with the denoise stage
# added — and `parley eval` scores both: WER, target-word F1 (counts, any
# speaker and per speaker), DER (0.25 s collar). Prints one table; writes
# build/bench-denoise.json. Not a test: nothing is asserted.
#
# Environment: BD_N (8), BD_MINUTES (1), BD_SNRS ("0 5 10"), BD_NOISE (pink),
# BD_SUPPRESS (25: denoise.suppress), BD_JOBS (nproc), BD_OUT
# (build/bench-denoise.json), PARLEY_BIN, PARLEY_GEN_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${BD_N:-8}
MINUTES=${BD_MINUTES:-1}
SNRS=${BD_SNRS:-0 5 10}
NOISE=${BD_NOISE:-pink}
SUPPRESS=${BD_SUPPRESS:-25}
JOBS=${BD_JOBS:-$(nproc 2>/dev/null || echo 2)}
OUT_JSON=${BD_OUT:-$ROOT/build/bench-denoise.json}
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
GEN=$ROOT/tests/gen/gen_conversation.py
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
mkdir -p "$PARLEY_GEN_CACHE" "$(dirname "$OUT_JSON")"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bd.XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "bench-denoise: $N conversations x ${MINUTES} min, $NOISE noise at {$SNRS} dB, speex suppress $SUPPRESS dB, $JOBS jobs"
for snr in $SNRS; do
  ref=$W/ref-$snr
  mkdir -p "$ref"
  for ((i = 0; i < N; i++)); do
    noise="--noise $NOISE --snr $snr"
    [ "$snr" = clean ] && noise=""
    echo "python3 $GEN --out $ref --name c$i --speakers 2 --minutes $MINUTES --seed $((500 + i)) $noise --quiet"
  done | xargs -P "$JOBS" -I{} sh -c '{}'
  for mode in off on; do
    stages=decode,vad,diarize,stt,words
    [ $mode = on ] && stages=$stages,denoise
    out=$W/out-$snr-$mode
    "$PARLEY" run "$ref"/*.wav -o "$out" -j "$JOBS" --quiet --no-progress --stages "$stages" \
      --speakers 2 --set "denoise.suppress=$SUPPRESS" >"$W/run-$snr-$mode.log" 2>&1 ||
      { echo "run $snr dB denoise $mode failed:"; tail -5 "$W/run-$snr-$mode.log"; exit 1; }
    "$PARLEY" eval --ref "$ref" --hyp "$out" --json "$W/eval-$snr-$mode.json" >/dev/null
    sqlite3 -separator ' ' "$out/parley.db" \
      "select s.stage, s.cpu_seconds, r.duration from stage_runs s join recordings r on r.id = s.recording_id where s.status = 'done'" \
      >"$W/stages-$snr-$mode"
  done
  rm -rf "$ref"/*.wav "$W"/out-$snr-*/data
done

python3 - "$W" "$OUT_JSON" "$SNRS" "$NOISE" "$N" "$MINUTES" "$SUPPRESS" <<'PY'
import json, sys
w, out, snrs, noise, n, minutes, suppress = sys.argv[1:]
rows = []
for snr in snrs.split():
    row = {"snr_db": None if snr == "clean" else float(snr)}
    for mode in ("off", "on"):
        t = json.load(open(f"{w}/eval-{snr}-{mode}.json"))["total"]
        cpu = dur = 0.0
        for line in open(f"{w}/stages-{snr}-{mode}"):
            s, c, d = line.split()
            if s == "denoise":
                cpu += float(c); dur += float(d)
        row[mode] = {"wer": t["wer"]["wer"] if t["wer"] else None,
                     "ref_words": t["wer"]["ref_words"] if t["wer"] else 0,
                     "kw_f1_any": t["keywords"]["agnostic_total"]["f1"],
                     "kw_f1_spk": t["keywords"]["total"]["f1"],
                     "der": t["der"]["collar"]["der"],
                     "denoise_rtf": cpu / dur if dur else None}
    rows.append(row)
pct = lambda v: "-" if v is None else "%.1f" % (100 * v)
print("%-7s %-8s %7s %9s %9s %7s %12s" % ("SNR dB", "denoise", "WER %", "KW F1 any", "KW F1 spk", "DER %", "denoise RTF"))
for r in rows:
    for mode in ("off", "on"):
        m = r[mode]
        print("%-7s %-8s %7s %9s %9s %7s %12s" % ("clean" if r["snr_db"] is None else "%g" % r["snr_db"], mode, pct(m["wer"]), pct(m["kw_f1_any"]),
              pct(m["kw_f1_spk"]), pct(m["der"]),
              "-" if m["denoise_rtf"] is None else "%.4f" % m["denoise_rtf"]))
json.dump({"noise": noise, "conversations": int(n), "minutes": float(minutes),
           "suppress_db": float(suppress), "rows": rows}, open(out, "w"), indent=1)
print("written", out)
PY

#!/usr/bin/env bash
# bench/bench_calls.sh — `make bench-calls`: the call stages of issue 13
# that read channels and figures (channel diarization, metrics) on calls
# from tests/gen/gen_call.py.
#  1. Speed: a BENCH_MINUTES (10) minute stereo call (channels.mode
#     separate) and the same length mono (the diarizer, roles first after
#     the IVR) through decode,vad,diarize,metrics with one worker: CPU
#     seconds and real-time factor (CPU / audio) of every stage.
#  2. Accuracy: BENCH_CALLS (12) two-minute calls, alternately stereo and
#     mono, 16 and 8 kHz, stereo with crosstalk at -25/-20 dB: talk time
#     error per role, silences and interruptions found against the truth
#     (edges within 0.3 s), roles right.
# Generated calls are cached in build/calls-bench/.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MIN=${BENCH_MINUTES:-10}
N=${BENCH_CALLS:-12}
export PARLEY_GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
CALLS=$ROOT/build/calls-bench
mkdir -p "$CALLS"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-calls.XXXXXX")
trap 'rm -rf "$W"' EXIT

gen() {  # name, args...
  local name=$1; shift
  [ -s "$CALLS/$name.truth.json" ] ||
    python3 tests/gen/gen_call.py --out "$CALLS" --name "$name" --cache-dir "$PARLEY_GEN_CACHE" --quiet "$@"
}

echo "generating calls (cached in build/calls-bench/)..."
gen speed-stereo --seed 71 --channels 2 --ringback 0 --minutes "$MIN" --crosstalk -25
gen speed-mono --seed 72 --channels 1 --ringback 0 --minutes "$MIN"
mkdir -p "$W/speed" "$W/acc"
cp "$CALLS/speed-stereo.wav" "$CALLS/speed-mono.wav" "$W/speed/"
for i in $(seq 1 "$N"); do
  seed=$((100 + i))
  if [ $((i % 2)) = 1 ]; then
    rate=$([ $((i % 4)) = 1 ] && echo 16000 || echo 8000)
    xt=$([ $((i % 4)) = 1 ] && echo -25 || echo -20)
    gen "acc$i" --seed $seed --channels 2 --rate $rate --ringback 0 --minutes 2 --overlap 0.25 --long-silences 0.2 --crosstalk $xt
  else
    rate=$([ $((i % 4)) = 2 ] && echo 16000 || echo 8000)
    gen "acc$i" --seed $seed --channels 1 --rate $rate --ringback 0 --minutes 2 --overlap 0 --long-silences 0.2
  fi
  cp "$CALLS/acc$i.wav" "$W/acc/"
done

OPTS=(--stages decode,vad,diarize,metrics --set channels.mode=separate
      --set channels.mono_roles=first_after_ivr --speakers 2 --no-progress -q)
echo "running the speed calls (-j 1)..."
build/parley run "$W/speed" -o "$W/out-speed" -j 1 "${OPTS[@]}"
echo "running $N accuracy calls (-j 2)..."
build/parley run "$W/acc" -o "$W/out-acc" -j 2 "${OPTS[@]}"

sqlite3 -separator ' ' "$W/out-speed/parley.db" \
  "select r.name, s.stage, s.cpu_seconds, r.duration from stage_runs s join recordings r on r.id = s.recording_id" >"$W/stages"
python3 - "$W/stages" "$CALLS" "$W/out-acc" "$N" <<'PY'
import json, os, sys
rows = [l.split() for l in open(sys.argv[1])]
calls, out, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
print("\n| stage (CPU RTF) | stereo, channels separate | mono, diarizer |")
print("|---|---|---|")
for st in ("decode", "vad", "diarize", "metrics"):
    cells = []
    for name in ("speed-stereo", "speed-mono"):
        r = [x for x in rows if x[0] == name and x[1] == st]
        cells.append("%.2f s, %.4f" % (float(r[0][2]), float(r[0][2]) / float(r[0][3])) if r else "-")
    print("| %s | %s | %s |" % (st, cells[0], cells[1]))
dur = {x[0]: float(x[3]) for x in rows}
print("(audio: %s)" % ", ".join("%s %.0f s" % (k, v) for k, v in sorted(dur.items())))

def match(truth, got, key):
    used, hit = set(), 0
    for t in truth:
        for j, g in enumerate(got):
            if j in used:
                continue
            if abs(t["start"] - g["start"]) <= 0.3 and all(t.get(k) == g.get(k) for k in key):
                used.add(j); hit += 1; break
    return hit

agg = {"stereo": {}, "mono": {}}
for i in range(1, n + 1):
    t = json.load(open(os.path.join(calls, "acc%d.truth.json" % i)))
    kind = "stereo" if t["channels"] == 2 else "mono"
    a = agg[kind]
    tr = json.load(open(os.path.join(out, "acc%d" % i, "transcript.json")))
    m, tm = tr["metrics"], t["metrics"]
    for role in ("agent", "customer"):
        e = 100.0 * (m.get(role, {}).get("talk_time", 0) / tm[role]["talk_time"] - 1)
        a.setdefault("err", []).append(e)
    ts, gs = tm["call"]["silences"], m["call"]["silences"]
    hs = sum(1 for x in ts if any(abs(x["start"] - y["start"]) <= 0.3 and abs(x["end"] - y["end"]) <= 0.3 for y in gs))
    a["sil"] = [p + q for p, q in zip(a.get("sil", [0, 0, 0]), (hs, len(ts), len(gs)))]
    ti, gi = tm["call"]["interruptions"], m["call"]["interruptions"]
    hi = match(ti, gi, ("by", "of"))
    a["int"] = [p + q for p, q in zip(a.get("int", [0, 0, 0]), (hi, len(ti), len(gi)))]
    roles_ok = (m.get("agent", {}).get("talk_time", 0) > 0 and
                abs(m["agent"]["talk_time"] / tm["agent"]["talk_time"] - 1) < 0.2)
    a["roles"] = a.get("roles", 0) + roles_ok
    a["n"] = a.get("n", 0) + 1
print("\n| %d two-minute calls | talk time error per role (mean abs / max) | silences found (recall / precision) | interruptions found (recall / precision) | roles right |" % n)
print("|---|---|---|---|---|")
for kind in ("stereo", "mono"):
    a = agg[kind]
    if not a:
        continue
    e = a["err"]
    s, it = a["sil"], a["int"]
    rp = lambda h, t, g: "%d/%d / %d/%d" % (h, t, h, g)
    print("| %s (%d) | %.1f%% / %+.1f%% | %s | %s | %d/%d |" % (
        kind, a["n"], sum(abs(x) for x in e) / len(e), max(e, key=abs),
        rp(*s), rp(*it), a["roles"], a["n"]))
PY

#!/usr/bin/env bash
# scripts/demo.sh — set up, build, and run parley on generated examples:
# a one-minute conversation between two synthetic voices with Singlish words
# (the sessions' job), then a stereo call with ringback, an IVR menu, key
# presses and hold music through the audit preset (the call stages, then a
# questionnaire answered from the words and metrics and rules that give a
# verdict: docs/examples/embedded.json and audit.rules, no LLM needed).
# Usage: bash scripts/demo.sh [WORKDIR]   (default /tmp/parley-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/parley-demo}
bash scripts/install-deps.sh
make -j"$(nproc)" >/dev/null
mkdir -p "$W/in"
echo "generating an example conversation in $W/in ..."
python3 tests/gen/gen_conversation.py --out "$W/gen" --name example --speakers 2 --minutes 1.0 --seed 1 --quiet
cp "$W/gen/example.wav" "$W/in/"
build/parley run "$W/in" -o "$W/out"
echo
echo "results:      $W/out/summary.csv  and  $W/out/example/"
echo "ground truth: $W/gen/example.rttm, example.txt, example.counts.csv"
head -20 "$W/out/example/transcript.txt"

echo
echo "generating an example call in $W/call ..."
python3 tests/gen/gen_call.py --out "$W/call" --name call --seed 1 --channels 2 --rate 8000 \
  --country sg --ivr-prompt --dtmf 2 --hold 6 --minutes 1.0 --quiet
build/parley run "$W/call/call.wav" -o "$W/call-out" --preset audit \
  --questionnaire docs/examples/embedded.json --rules docs/examples/audit.rules
echo
echo "call results: $W/call-out/metrics.csv, verdicts.csv  and  $W/call-out/call/ (transcript.json, answers.csv)"
echo "ground truth: $W/call/call.truth.json"
python3 - "$W/call-out/call/transcript.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
for e in t.get("events", []):
    print(f"  event {e['kind']:<10} {e['start']:7.2f}-{e['end']:7.2f} s  channel {e['channel']}")
m = t.get("metrics", {})
for role in ("agent", "customer"):
    r = m.get(role, {})
    print(f"  {role:<8} talk {r.get('talk_time', 0):6.1f} s  share {r.get('talk_share', 0):.2f}  turns {r.get('turns', 0)}")
c = m.get("call", {})
print(f"  call     ivr {c.get('ivr_time', 0):.1f} s  hold {c.get('hold_time', 0):.1f} s  "
      f"silences {c.get('silence_count', 0)}  interruptions {c.get('interruption_count', 0)}")
for a in t.get("answers", []):
    print(f"  answer   {a['question']:<13} {json.dumps(a['answer']):<8} ({a['source']}, {a['score']:g} of {a['max_score']:g})")
v = t.get("verdict") or {}
print(f"  verdict  {v.get('verdict')}  score {v.get('score', 0):g} of {v.get('max_score', 0):g}  "
      + " ".join(f"{r['rule']}:{r['verdict']}" for r in v.get("reasons", [])))
PY

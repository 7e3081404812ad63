#!/usr/bin/env bash
# bench/bench_audit.sh — `make bench-audit` (a benchmark, not a test): issue
# 14's call audits at 10,000 calls.
#
# Speech recognition on 10,000 calls does not fit a 2-core machine in a bench
# run, so the calls are made in two steps, and the figures say which is which:
#   1. K (BENCH_AUDIT_K, 12) short generated stereo calls (tests/gen/gen_call.py,
#      0.4 min each, cached in build/calls-it like the integration tests) go
#      through the WHOLE audit pipeline once (`--preset audit`: decode … stt,
#      words, metrics, answers, verdicts) with a questionnaire of phrase and
#      metric questions (the embedded answerer: no LLM) and two rules. This
#      gives real transcripts, roles, spans, events and metrics; its wall time
#      and real-time factor are printed.
#   2. A batch of N (BENCH_AUDIT_N, 10000) recordings whose stages are the audit
#      stages only (answers,verdicts), same questionnaire and rules. Its files
#      are N hard links to one generated call (never decoded: no stage reads
#      audio). Before the start, the K calls' upstream results (words,
#      stt_words, speakers, segments, speaker_roles, word_counts, call_metrics,
#      call_spans, call_events, call_language, metadata) are copied into the N
#      recordings round-robin with INSERT … SELECT. Then `parley worker -j 2`
#      runs until the queue is drained: wall time, calls/s, rows per table,
#      events rows, a worker's peak RSS (/usr/bin/time -v: the largest child)
#      and p50/p99 of the per-recording stage wall time (stage_runs).
#   3. `parley batch reaudit` with one changed rule (only the verdicts stage
#      reruns) and `parley worker -j 2` again: wall time of the reaudit call
#      (new audit version, reset, requeue) and of the rerun; verdicts changed
#      (`parley batch results --changes`).
# Backends (BENCH_AUDIT_BACKENDS, "pg sqlite"): pg = PostgreSQL + Redis started
# here by tests/lib/servers.sh (stopped by PID on exit); sqlite = SQLite with
# the store queue. Step 1 runs once per backend (its rows live in that store).
# Every figure is one JSON line in build/bench-audit.json; a table is printed.
# Environment: BENCH_AUDIT_N, BENCH_AUDIT_K, BENCH_AUDIT_JOBS (2),
# BENCH_AUDIT_BACKENDS, PARLEY_BIN (build/parley).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
N=${BENCH_AUDIT_N:-10000}
K=${BENCH_AUDIT_K:-12}
JOBS=${BENCH_AUDIT_JOBS:-2}
BACKENDS=${BENCH_AUDIT_BACKENDS:-pg sqlite}
OUT=$ROOT/build/bench-audit.json
CALLS=${PARLEY_CALLS_CACHE:-$ROOT/build/calls-it}
GEN_CACHE=${PARLEY_GEN_CACHE:-$ROOT/build/gen-cache}
[ -x "$PARLEY" ] || { echo "bench-audit: $PARLEY is missing (make tools)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-audit: /usr/bin/time is missing (package time)" >&2; exit 1; }

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-audit.XXXXXX")
trap 'servers_stop_all; rm -rf "$W"' EXIT
mkdir -p "$W/in" "$W/links" "$CALLS" "$GEN_CACHE" "$ROOT/build"
: >"$OUT"
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# ---- the K generated calls (cached) -------------------------------------------
GENV=$(sha256sum tests/gen/gen_call.py tests/gen/gen_conversation.py | sha256sum | cut -c1-12)
for ((i = 1; i <= K; i++)); do
  args="--seed $((40 + i)) --channels 2 --ringback 0 --minutes 0.4 --long-silences 0.3 --crosstalk -25"
  key=$(echo "$GENV $args" | sha256sum | cut -c1-12)
  if [ ! -s "$CALLS/au$i-$key.wav" ]; then
    # shellcheck disable=SC2086
    python3 tests/gen/gen_call.py --out "$CALLS" --name "au$i-$key" --cache-dir "$GEN_CACHE" \
      --quiet $args
  fi
  ln -f "$CALLS/au$i-$key.wav" "$W/in/call$i.wav" 2>/dev/null || cp "$CALLS/au$i-$key.wav" "$W/in/call$i.wav"
done
# N names for one file: hard links (realpath keeps each name)
python3 - "$W/in/call1.wav" "$W/links" "$N" <<'PY'
import os, sys
src, top, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    d = os.path.join(top, str(i // 5000))   # at most 5,000 per `batch add`
    os.makedirs(d, exist_ok=True)
    os.link(src, os.path.join(d, "c%06d.wav" % i))
PY
echo "bench-audit: $K generated calls for the full pipeline, $N audit-only recordings, -j $JOBS, backends: $BACKENDS"

# ---- the audit: phrase and metric questions (embedded answerer), rules ----------
cat >"$W/q.json" <<'EOF'
{"version": 1, "name": "bench",
 "questions": [
  {"id": "agent_spoke", "type": "yes_no", "text": "Did the agent say anything about the weekend, the office or the family?",
   "role": "agent", "phrases": {"any": ["weekend", "office", "mother", "father", "sister", "brother", "friend*"]}, "weight": 2},
  {"id": "customer_spoke", "type": "yes_no", "text": "Did the customer mention the time or the day?",
   "role": "customer", "phrases": {"any": ["time", "day*", "morning", "night"]}},
  {"id": "silence", "type": "yes_no", "text": "Was any silence longer than 2 s?",
   "metric": {"metric": "longest_silence", "op": ">", "value": 2}},
  {"id": "share", "type": "number", "text": "The agent's share of the talk",
   "metric": {"metric": "talk_share", "scope": "agent"}}
 ]}
EOF
cat >"$W/rules1" <<'EOF'
rule talked pass weight 2 when metric.agent.talk_share > 10% and metric.customer.talk_share > 10%;
rule long_silence flag when metric.call.silence_max > 1000s because "a silence longer than 1000 s";
EOF
cat >"$W/rules2" <<'EOF'
rule talked pass weight 2 when metric.agent.talk_share > 10% and metric.customer.talk_share > 10%;
rule long_silence flag when metric.call.silence_max > 2s because "a silence longer than 2 s";
EOF
COPY_TABLES="words stt_words speakers segments speaker_roles word_counts call_metrics call_spans call_events call_language"

run_backend() {  # pg | sqlite
  local be=$1 ST
  case $be in
    pg)
      pg_start "$W" >/dev/null || { echo "bench-audit: PostgreSQL did not start" >&2; return 1; }
      redis_start "$W" >/dev/null || { echo "bench-audit: Redis did not start" >&2; return 1; }
      "$PG_BIN/psql" -X -q "$PG_URL" -c 'CREATE DATABASE bench_audit' >/dev/null
      local url="postgresql://postgres@127.0.0.1:$PG_PORT/bench_audit"
      ST=(--store "$url" --queue "$REDIS_URL" --queue-prefix "ba:" --data "$W/pg-data")
      sqlq() { "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$url" "$@"; }
      ;;
    sqlite)
      ST=(--store "$W/sqlite/parley.db" --data "$W/sqlite/data")
      mkdir -p "$W/sqlite"
      sqlq() { if [ "$1" = -f ]; then sqlite3 -bail "$W/sqlite/parley.db" <"$2"; else sqlite3 "$W/sqlite/parley.db" "$1"; fi; }
      ;;
    *) echo "bench-audit: unknown backend $be (pg, sqlite)" >&2; return 1 ;;
  esac
  q() { if [ "$be" = pg ]; then sqlq -c "$1"; else sqlq "$1"; fi; }
  local P=(nice -n 10 "$PARLEY")

  # 1. K calls through the whole audit pipeline
  "${P[@]}" batch create full --preset audit --questionnaire "$W/q.json" --rules "$W/rules1" \
    "${ST[@]}" >"$W/$be-create1.log"
  "${P[@]}" batch add full "$W"/in/*.wav "${ST[@]}" >/dev/null
  "${P[@]}" batch start full "${ST[@]}" >/dev/null
  local t0 t1
  t0=$(now)
  "${P[@]}" worker -j "$JOBS" -q "${ST[@]}" >"$W/$be-w1.log" 2>&1
  t1=$(now)
  local B1 full_wall full_audio full_done
  B1=$(q "SELECT id FROM batches WHERE name = 'full'")
  full_wall=$(elapsed "$t0" "$t1")
  full_audio=$(q "SELECT sum(duration) FROM recordings WHERE batch_id = $B1")
  full_done=$(q "SELECT count(*) FROM recordings WHERE batch_id = $B1 AND status = 'done'")
  [ "$full_done" = "$K" ] || { echo "bench-audit: $be: only $full_done of $K calls done" >&2; tail "$W/$be-w1.log" >&2; return 1; }
  echo "  $be: $K calls, full audit pipeline: ${full_wall} s for ${full_audio} s of audio"

  # 2. N recordings, audit stages only, upstream rows copied from the K calls
  "${P[@]}" batch create bench --stages answers,verdicts --questionnaire "$W/q.json" \
    --rules "$W/rules1" "${ST[@]}" >/dev/null
  local d
  for d in "$W"/links/*; do
    "${P[@]}" batch add bench "$d" "${ST[@]}" >/dev/null
  done
  local B2
  B2=$(q "SELECT id FROM batches WHERE name = 'bench'")
  {
    echo "CREATE TABLE bench_map (dst BIGINT PRIMARY KEY, src BIGINT NOT NULL);"
    echo "INSERT INTO bench_map SELECT d.id, s.id FROM
      (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM recordings WHERE batch_id = $B2) d
      JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM recordings WHERE batch_id = $B1) s
      ON s.rn = d.rn % $K;"
    local t cols
    for t in $COPY_TABLES; do
      if [ "$be" = pg ]; then
        cols=$(q "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = '$t' AND column_name <> 'recording_id'")
      else
        cols=$(q "SELECT group_concat(name, ',') FROM pragma_table_info('$t') WHERE name <> 'recording_id'")
      fi
      [ -n "$cols" ] || continue
      echo "INSERT INTO $t (recording_id,$cols) SELECT m.dst,x.${cols//,/,x.} FROM $t x JOIN bench_map m ON x.recording_id = m.src;"
    done
    echo "UPDATE recordings SET metadata = (SELECT r.metadata FROM recordings r JOIN bench_map m ON r.id = m.src WHERE m.dst = recordings.id) WHERE batch_id = $B2;"
    echo "DROP TABLE bench_map;"
  } >"$W/$be-copy.sql"
  t0=$(now)
  if [ "$be" = pg ]; then sqlq -f "$W/$be-copy.sql" >/dev/null; else sqlq -f "$W/$be-copy.sql"; fi
  t1=$(now)
  local copy_wall copied
  copy_wall=$(elapsed "$t0" "$t1")
  copied=$(q "SELECT count(*) FROM words w JOIN recordings r ON r.id = w.recording_id WHERE r.batch_id = $B2")
  echo "  $be: $N recordings added; upstream rows copied in ${copy_wall} s ($copied words)"
  "${P[@]}" batch start bench "${ST[@]}" >/dev/null
  t0=$(now)
  /usr/bin/time -v -o "$W/$be-time2" "${P[@]}" worker -j "$JOBS" -q "${ST[@]}" >"$W/$be-w2.log" 2>&1
  t1=$(now)
  local wall2 rss2 done2
  wall2=$(elapsed "$t0" "$t1")
  rss2=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/$be-time2")
  done2=$(q "SELECT count(*) FROM recordings WHERE batch_id = $B2 AND status = 'done'")
  [ "$done2" = "$N" ] || { echo "bench-audit: $be: only $done2 of $N recordings done" >&2; tail "$W/$be-w2.log" >&2; return 1; }
  local rows_ans rows_ver rows_sr rows_ev
  rows_ans=$(q "SELECT count(*) FROM answers a JOIN recordings r ON r.id = a.recording_id WHERE r.batch_id = $B2")
  rows_ver=$(q "SELECT count(*) FROM verdicts v JOIN recordings r ON r.id = v.recording_id WHERE r.batch_id = $B2")
  rows_sr=$(q "SELECT count(*) FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE r.batch_id = $B2")
  rows_ev=$(q "SELECT count(*) FROM events WHERE batch_id = $B2")
  q "SELECT s.stage || ' ' || s.wall_seconds FROM stage_runs s JOIN recordings r ON r.id = s.recording_id WHERE r.batch_id = $B2" >"$W/$be-lat"
  local lat
  lat=$(python3 - "$W/$be-lat" <<'PY'
import sys, json
per = {}
rec = []
for l in open(sys.argv[1]):
    s, w = l.split()
    per.setdefault(s, []).append(float(w) * 1000)
def pct(v, p):
    v = sorted(v)
    return round(v[min(len(v) - 1, int(p * len(v)))], 2) if v else None
print(json.dumps({s: {"p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99)} for s, v in sorted(per.items())}))
PY
)
  echo "  $be: $N calls (answers,verdicts) in ${wall2} s; rows: answers $rows_ans, verdicts $rows_ver, stage_runs $rows_sr, events $rows_ev; peak RSS ${rss2} kB; $lat"
  local verd1
  verd1=$(q "SELECT verdict || ':' || count(*) FROM verdicts v JOIN recordings r ON r.id = v.recording_id WHERE r.batch_id = $B2 GROUP BY verdict ORDER BY 1" | tr '\n' ' ')

  # 3. reaudit with one changed rule: only verdicts reruns
  t0=$(now)
  "${P[@]}" batch reaudit bench --rules "$W/rules2" "${ST[@]}" >"$W/$be-reaudit.log"
  local t_mid
  t_mid=$(now)
  /usr/bin/time -v -o "$W/$be-time3" "${P[@]}" worker -j "$JOBS" -q "${ST[@]}" >"$W/$be-w3.log" 2>&1
  t1=$(now)
  local ra_call ra_work ra_wall ra_ver changed ev3
  ra_call=$(elapsed "$t0" "$t_mid")
  ra_work=$(elapsed "$t_mid" "$t1")
  ra_wall=$(elapsed "$t0" "$t1")
  ra_ver=$(q "SELECT count(*) FROM verdicts v JOIN recordings r ON r.id = v.recording_id WHERE r.batch_id = $B2 AND v.version = 2")
  [ "$ra_ver" = "$N" ] || { echo "bench-audit: $be: reaudit wrote $ra_ver of $N verdicts" >&2; tail "$W/$be-w3.log" >&2; return 1; }
  local t2 ch_wall
  t2=$(now)
  "${P[@]}" batch results bench --changes "${ST[@]}" >"$W/$be-changes.txt"
  ch_wall=$(elapsed "$t2" "$(now)")
  changed=$(sed -n '1s/.*: \([0-9]*\) calls changed$/\1/p' "$W/$be-changes.txt")
  [ -n "$changed" ] || { echo "bench-audit: $be: no count in batch results --changes" >&2; head -3 "$W/$be-changes.txt" >&2; return 1; }
  ev3=$(q "SELECT count(*) FROM events WHERE batch_id = $B2")
  echo "  $be: reaudit (one rule changed): ${ra_wall} s (reaudit call ${ra_call} s, verdicts rerun ${ra_work} s); $changed verdicts changed (listed in ${ch_wall} s)"
  jq -cn --arg be "$be" --argjson k "$K" --argjson n "$N" --argjson jobs "$JOBS" \
    --argjson full_wall "$full_wall" --argjson full_audio "$full_audio" \
    --argjson copy_wall "$copy_wall" --argjson words "$copied" \
    --argjson wall "$wall2" --argjson rss "$rss2" --argjson answers "$rows_ans" \
    --argjson verdicts "$rows_ver" --argjson stage_runs "$rows_sr" --argjson events "$rows_ev" \
    --argjson lat "$lat" --arg v1 "$verd1" \
    --argjson ra_call "$ra_call" --argjson ra_work "$ra_work" --argjson ra_wall "$ra_wall" \
    --argjson changed "$changed" --argjson ch_wall "$ch_wall" --argjson events_after "$ev3" \
    '{backend: $be, jobs: $jobs,
      full: {calls: $k, wall_s: $full_wall, audio_s: $full_audio, rtf: ($full_wall / $full_audio)},
      copy: {wall_s: $copy_wall, words: $words},
      audit: {calls: $n, wall_s: $wall, calls_per_s: ($n / $wall), peak_rss_kb: $rss,
              rows: {answers: $answers, verdicts: $verdicts, stage_runs: $stage_runs, events: $events},
              verdicts: $v1, stage_latency: $lat},
      reaudit: {wall_s: $ra_wall, call_s: $ra_call, rerun_s: $ra_work, calls_per_s: ($n / $ra_wall),
                changed: $changed, changes_list_s: $ch_wall, events_after: $events_after}}' >>"$OUT"
  [ "$be" = pg ] && servers_stop_all
  return 0
}

for be in $BACKENDS; do
  run_backend "$be"
done

echo
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| backend | full pipeline (K calls): wall, RTF | audit calls | wall | calls/s | answers | verdicts | stage_runs | events | peak RSS | reaudit wall (changed) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    f, a, ra = r["full"], r["audit"], r["reaudit"]
    be = {"pg": "PostgreSQL + Redis", "sqlite": "SQLite"}.get(r["backend"], r["backend"])
    print("| %s | %d calls: %.0f s, RTF %.2f | %d | %.1f s | %.0f | %d | %d | %d | %d | %d MB | %.1f s (%d) |" % (
        be, f["calls"], f["wall_s"], f["rtf"], a["calls"], a["wall_s"], a["calls_per_s"],
        a["rows"]["answers"], a["rows"]["verdicts"], a["rows"]["stage_runs"], a["rows"]["events"],
        a["peak_rss_kb"] // 1024, ra["wall_s"], ra["changed"]))
PY
echo "bench-audit: figures in $OUT"

#!/usr/bin/env bash
# bench/bench_queue.sh — `make bench-queue`: push N no-op jobs through parley
# and through peer job queues, on the same machine in the same run, against
# servers this script starts itself (tests/lib/servers.sh: one PostgreSQL,
# one Redis, in a temp dir, stopped by PID on exit):
#   Celery solo; Celery prefork 2 with acks_late; RQ SimpleWorker x2
#     (../shared/peers/*.py, Debian's /usr/bin/python3 with python3-celery,
#      python3-rq — skipped when ../shared/peers is absent);
#   BullMQ and graphile-worker at concurrency 2 (bench/peers/*.js, installed
#     by bench/peers/install.sh into build/peers-node);
#   parley on SQLite, on PostgreSQL (store queue) and on PostgreSQL + Redis
#     (run_parley below).
# Every system prints one JSON line; they are collected into
# build/bench-queue.json, then a table is printed: enqueue and drain rates
# (jobs/s) and what each system keeps durably.
#
# Environment: N (10000 jobs), BENCH_CONCURRENCY (2), BENCH_PEER_TIMEOUT
# (240 s per system), BENCH_BUDGET (600 s for the whole run: systems that
# would start after it is spent are skipped), BENCH_REDIS_PERSIST (0; 1 runs
# Redis with appendonly yes + appendfsync everysec — the default matches the
# reference figures in ../shared/peers/README.md, appendonly no).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${N:-10000}
CONC=${BENCH_CONCURRENCY:-2}
PEER_TIMEOUT=${BENCH_PEER_TIMEOUT:-240}
BUDGET=${BENCH_BUDGET:-600}
OUT=$ROOT/build/bench-queue.json
SHARED_PEERS="$(dirname "$ROOT")/shared/peers"
PY=/usr/bin/python3   # Debian's interpreter: it sees python3-celery/-rq/-redis

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-queue.XXXXXX")
# Servers are stopped by the PIDs servers.sh recorded, whatever happens.
trap 'servers_stop_all; rm -rf "$W"' EXIT
mkdir -p "$W/logs" "$ROOT/build"
RESULTS=$W/results.jsonl
: >"$RESULTS"
START=$SECONDS

echo "bench-queue: N=$N jobs, concurrency $CONC; starting PostgreSQL and Redis in $W"
pg_start "$W" || { echo "bench-queue: PostgreSQL did not start" >&2; exit 1; }
if [ "${BENCH_REDIS_PERSIST:-0}" = 1 ]; then
  redis_start "$W" --persist || { echo "bench-queue: Redis did not start" >&2; exit 1; }
  REDIS_DURABILITY="appendonly yes, everysec"
else
  redis_start "$W" || { echo "bench-queue: Redis did not start" >&2; exit 1; }
  REDIS_DURABILITY="appendonly no"
fi
# graphile-worker gets a database of its own, so its schema and parley's
# tables in `parley` never meet.
"$PG_BIN/psql" -X -q "$PG_URL" -c 'CREATE DATABASE graphile' >/dev/null
PG_URL_GRAPHILE="postgresql://postgres@127.0.0.1:$PG_PORT/graphile"
echo "PostgreSQL $PG_URL (pid $PG_PID), Redis $REDIS_URL (pid $REDIS_PID, $REDIS_DURABILITY)"

# Add the summary keys (system, durable, drain_per_s, left) to one JSON line
# from a peer, or make an error line when the peer printed none; append it to
# RESULTS and echo it. The peers' own keys are kept as they are.
record() {  # system, durable, status, stdout file, stderr file
  "$PY" - "$@" >>"$RESULTS" <<'PY'
import json, sys
system, durable, status, out, err = sys.argv[1:6]
line = None
for l in open(out, errors="replace"):
    l = l.strip()
    if l.startswith("{"):
        line = l
try:
    d = json.loads(line) if line else None
except ValueError:
    d = None
if d is None:
    tail = open(err, errors="replace").read().strip().splitlines()[-3:]
    d = {"error": "exit %s, no JSON line: %s" % (status, " | ".join(tail))}
d["system"] = system
d.setdefault("durable", durable)
if "drain_per_s" not in d and not d.get("timed_out", True):
    d["drain_per_s"] = d.get("drain_wall_per_s")
if "left" not in d and "left_in_queue" in d:
    d["left"] = d["left_in_queue"] + d.get("left_unacked", 0)
if status != "0":
    d["exit_status"] = int(status)
print(json.dumps(d))
PY
  tail -1 "$RESULTS"
}

# Run one system with the per-system time limit, cut to what is left of the
# whole budget. `timeout` signals the command's whole process group, so the
# worker processes a peer script started go too if it is cut short.
# Prints nothing into RESULTS for a system skipped for lack of time.
run_peer() {  # system, durable, command...
  local system=$1 durable=$2; shift 2
  local left=$((BUDGET - (SECONDS - START))) t status=0 slug
  if [ "$left" -lt 30 ]; then
    echo "skipped: $system (the ${BUDGET}s budget is spent)"
    return 0
  fi
  t=$((left < PEER_TIMEOUT ? left : PEER_TIMEOUT))
  slug=$(tr -c 'A-Za-z0-9' _ <<<"$system")
  echo "-- $system (limit ${t}s)"
  if declare -F "$1" >/dev/null; then
    # a shell function (run_parley) cannot run under `timeout`; it bounds
    # its own commands
    "$@" >"$W/logs/$slug.out" 2>"$W/logs/$slug.err" || status=$?
  else
    timeout --kill-after=10 "$t" "$@" >"$W/logs/$slug.out" 2>"$W/logs/$slug.err" || status=$?
  fi
  if [ "$status" -ne 0 ]; then
    echo "   $system exited with status $status; stderr tail:"; tail -5 "$W/logs/$slug.err" | sed 's/^/   /'
  fi
  record "$system" "$durable" "$status" "$W/logs/$slug.out" "$W/logs/$slug.err"
}
# Inner limit for the peer scripts' own --timeout: under the outer one, so
# they stop their workers by PID themselves and still print their line.
inner() { local left=$((BUDGET - (SECONDS - START) - 30)); local t=$((PEER_TIMEOUT - 30)); echo $((left < t ? (left > 10 ? left : 10) : t)); }

# ------------------------------------------------------------ Celery and RQ
if [ ! -f "$SHARED_PEERS/celery_bench.py" ] || [ ! -f "$SHARED_PEERS/rq_bench.py" ]; then
  echo "skipped: Celery/RQ scripts not found (../shared/peers)"
elif ! "$PY" -c 'import celery, rq, redis' 2>/dev/null; then
  echo "skipped: Celery/RQ: $PY cannot import celery, rq, redis (scripts/install-deps.sh installs python3-celery python3-rq python3-redis)"
else
  run_peer "Celery solo" "redis broker ($REDIS_DURABILITY); acked when received: a task running when the worker dies is lost" \
    "$PY" "$SHARED_PEERS/celery_bench.py" --port "$REDIS_PORT" --n "$N" --pool solo --concurrency 1 \
    --timeout "$(inner)" --logdir "$W/logs"
  run_peer "Celery prefork $CONC acks_late" "redis broker ($REDIS_DURABILITY); acks_late: redelivered if the worker dies mid-task" \
    "$PY" "$SHARED_PEERS/celery_bench.py" --port "$REDIS_PORT" --n "$N" --pool prefork --concurrency "$CONC" \
    --acks-late 1 --timeout "$(inner)" --logdir "$W/logs"
  run_peer "RQ SimpleWorker x$CONC" "redis ($REDIS_DURABILITY); job hash + finished registry per job" \
    "$PY" "$SHARED_PEERS/rq_bench.py" --port "$REDIS_PORT" --n "$N" --workers "$CONC" \
    --worker-class rq.worker.SimpleWorker --timeout "$(inner)" --logdir "$W/logs"
fi

# ------------------------------------------------- BullMQ, graphile-worker
if ! command -v node >/dev/null 2>&1; then
  echo "skipped: BullMQ/graphile-worker (node not found; scripts/install-deps.sh installs nodejs)"
elif ! bash "$ROOT/bench/peers/install.sh"; then
  echo "skipped: BullMQ/graphile-worker (bench/peers/install.sh failed)"
else
  run_peer "BullMQ c$CONC" "redis ($REDIS_DURABILITY)" \
    node "$ROOT/bench/peers/bullmq_bench.js" --port "$REDIS_PORT" --n "$N" --concurrency "$CONC" --timeout "$(inner)"
  run_peer "graphile-worker c$CONC" "postgresql" \
    node "$ROOT/bench/peers/graphile_bench.js" --url "$PG_URL_GRAPHILE" --n "$N" --concurrency "$CONC" --timeout "$(inner)"
fi

# ------------------------------------------------------------------ parley
# parley: N recordings through the "noop" pipeline (six test stages, each
# committing a stage_runs row and a test_effects row with its lease check in
# one transaction), $CONC worker processes. A parley "job" here is one stage
# advance: drain_per_s counts stage advances, recordings_per_s recordings.
run_parley() {  # BACKEND: sqlite | pg | pg+redis
  local backend=$1 store queue="store" sql db
  mkdir -p "$W/parley-in"
  [ -e "$W/parley-in/r$N.wav" ] || (cd "$W/parley-in" && for ((i = 1; i <= N; i++)); do : >"r$i.wav"; done)
  case $backend in
  sqlite) store=$W/parley-sqlite/parley.db ;;
  pg | pg+redis)
    db="bench_${backend//+/_}"
    psql "$PG_URL" -XAtqc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    store=${PG_URL%/*}/$db
    [ "$backend" = pg+redis ] && queue=$REDIS_URL ;;
  *) echo "{\"peer\":\"parley\",\"backend\":\"$backend\",\"error\":\"unknown backend\"}"; return 0 ;;
  esac
  local t0 t1 t2
  t0=$(date +%s.%N)
  timeout 300 "$ROOT/build/parley" submit "$W/parley-in" --store "$store" --queue "$queue" \
    --queue-prefix "bench:" --data "$W/parley-data" --batch bench --pipeline noop >/dev/null
  t1=$(date +%s.%N)
  timeout 300 "$ROOT/build/parley" worker --store "$store" --queue "$queue" --queue-prefix "bench:" \
    --data "$W/parley-data" --jobs "$CONC" -q
  t2=$(date +%s.%N)
  if [ "$backend" = sqlite ]; then sql() { sqlite3 -batch "$store" "$1"; }; else sql() { psql "$store" -XAtqc "$1"; }; fi
  local done_n effects events
  done_n=$(sql "SELECT count(*) FROM recordings WHERE status = 'done'")
  effects=$(sql "SELECT count(*) FROM test_effects")
  events=$(sql "SELECT count(*) FROM events")
  "$PY" - "$backend" "$N" "$t0" "$t1" "$t2" "$done_n" "$effects" "$events" <<'PY'
import json, sys
b, n, t0, t1, t2, done, effects, events = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6]), *map(int, sys.argv[6:9])
fsync = {"sqlite": "SQLite WAL, synchronous=NORMAL (each commit survives a killed process; fsync at checkpoints)",
         "pg": "PostgreSQL: every stage commit synchronous (fsync, group commit); lease, finish and log writes relaxed (redone if lost)",
         "pg+redis": "PostgreSQL as pg; Redis queue without persistence (rebuilt from the store)"}[b]
print(json.dumps({"peer": "parley", "backend": b, "n": effects, "recordings": n,
                  "enqueue_per_s": n / (t1 - t0), "drain_per_s": effects / (t2 - t1),
                  "recordings_per_s": done / (t2 - t1), "left": n - done,
                  "rows_written": {"recordings": n, "stage_runs": effects, "test_effects": effects, "events": events},
                  "durable": fsync}))
PY
}
for backend in ${PARLEY_BACKENDS:-sqlite pg pg+redis}; do
  run_peer "parley $backend (stage advances)" "one stage_runs + one effect row per advance, lease checked, one transaction" run_parley "$backend"
done

# ------------------------------------------------------------------ report
cp "$RESULTS" "$OUT"
echo
echo "results: $OUT"
"$PY" - "$RESULTS" "$N" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def rate(v):
    return "%.0f" % v if isinstance(v, (int, float)) else "-"
print("\nN = %s no-op jobs per system. drain: from starting the worker(s) to the last job done, start-up"
      " included; steady: from the first job done to the last (Celery/RQ's own window figures).\n" % sys.argv[2])
print("| system | jobs/s enqueue | jobs/s drain | jobs/s steady | left | durable |")
print("|---|---:|---:|---:|---:|---|")
for d in rows:
    note = ""
    if "error" in d:
        note = " (error: %s)" % d["error"][:80]
    elif d.get("skipped"):
        note = " (%s)" % d["skipped"]
    elif d.get("timed_out"):
        note = " (timed out)"
    steady = d.get("drain_window_per_s", d.get("job_window_per_s"))
    print("| %s%s | %s | %s | %s | %s | %s |" % (d["system"], note, rate(d.get("enqueue_per_s")),
          rate(d.get("drain_per_s")), rate(steady), d.get("left", "-"), d.get("durable", "")))
PY
echo
echo "bench-queue: done in $((SECONDS - START)) s"

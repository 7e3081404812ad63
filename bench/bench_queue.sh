#!/usr/bin/env bash
# bench/bench_queue.sh — `make bench-queue`: push N no-op jobs through parley
# and through peer job queues, on the same machine in the same run, against
# servers this script starts itself (tests/lib/servers.sh: one PostgreSQL,
# one Redis, in a temp dir, stopped by PID on exit):
#   Celery solo; Celery prefork 2 with acks_late; RQ SimpleWorker x2
#     (../shared/peers/*.py, or BENCH_SHARED_PEERS; Debian's /usr/bin/python3
#      with python3-celery, python3-rq);
#   BullMQ and graphile-worker at concurrency 2 (bench/peers/*.js, installed
#     by bench/peers/install.sh into build/peers-node);
#   parley on SQLite, on PostgreSQL (store queue) and on PostgreSQL + Redis
#     (run_parley below).
# Every system prints one JSON line; they are collected into
# build/bench-queue.json, then a table is printed: enqueue and drain rates
# (jobs/s) and what each system keeps durably.
#
# No peer is ever skipped quietly: a missing prerequisite (the shared peer
# scripts, Debian's celery/rq, node/npm, a failed bench/peers/install.sh)
# stops the bench before anything runs, and a system that errs, times out,
# leaves jobs behind or cannot start for lack of budget makes the exit
# status 1 (the table is still printed, with the reason in its row).
#
# Environment: N (10000 jobs), BENCH_CONCURRENCY (2), BENCH_PEER_TIMEOUT
# (240 s per system), BENCH_BUDGET (900 s for the whole run: a system that
# would start after it is spent is a failure), BENCH_SYSTEMS (which to run,
# default "celery rq bullmq graphile parley"; PARLEY_BACKENDS picks parley's,
# default "sqlite pg pg+redis"), BENCH_SHARED_PEERS (the Celery/RQ scripts,
# default ../shared/peers), BENCH_REDIS_PERSIST (0; 1 runs
# Redis with appendonly yes + appendfsync everysec — the default matches the
# reference figures in ../shared/peers/README.md, appendonly no).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=${N:-10000}
CONC=${BENCH_CONCURRENCY:-2}
PEER_TIMEOUT=${BENCH_PEER_TIMEOUT:-240}
BUDGET=${BENCH_BUDGET:-900}
OUT=$ROOT/build/bench-queue.json
SHARED_PEERS=${BENCH_SHARED_PEERS:-$(dirname "$ROOT")/shared/peers}
SYSTEMS=" ${BENCH_SYSTEMS:-celery rq bullmq graphile parley} "
want() { [[ $SYSTEMS == *" $1 "* ]]; }
die() { echo "bench-queue: FAILED: $*" >&2; exit 1; }
PY=/usr/bin/python3   # Debian's interpreter: it sees python3-celery/-rq/-redis
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}  # another build to compare (before/after)

# ------------------------------------------- prerequisites, before any run
if want celery || want rq; then
  { [ -f "$SHARED_PEERS/celery_bench.py" ] && [ -f "$SHARED_PEERS/rq_bench.py" ]; } ||
    die "Celery/RQ scripts not found in $SHARED_PEERS (set BENCH_SHARED_PEERS, or BENCH_SYSTEMS without celery rq)"
  "$PY" -c 'import celery, rq, redis' 2>/dev/null ||
    die "$PY cannot import celery, rq, redis (scripts/install-deps.sh installs python3-celery python3-rq python3-redis)"
fi
if want bullmq || want graphile; then
  command -v node >/dev/null 2>&1 || die "node not found (scripts/install-deps.sh installs nodejs npm)"
  bash "$ROOT/bench/peers/install.sh" || die "bench/peers/install.sh could not install BullMQ/graphile-worker"
fi
command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 not found (scripts/install-deps.sh installs it)"

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-queue.XXXXXX")
# Servers are stopped by the PIDs servers.sh recorded, whatever happens.
trap 'servers_stop_all; rm -rf "$W"' EXIT
mkdir -p "$W/logs" "$ROOT/build"
RESULTS=$W/results.jsonl
: >"$RESULTS"
START=$SECONDS

echo "bench-queue: N=$N jobs, concurrency $CONC, parley $PARLEY; starting PostgreSQL and Redis in $W"
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
# A system left without time gets an error row in RESULTS (a failure).
run_peer() {  # system, durable, command...
  local system=$1 durable=$2; shift 2
  local left=$((BUDGET - (SECONDS - START))) t status=0 slug
  if [ "$left" -lt 30 ]; then
    echo "NOT RUN: $system (the ${BUDGET}s budget is spent; raise BENCH_BUDGET)" >&2
    printf '{"system": "%s", "error": "not run: the %ss budget was spent"}\n' "$system" "$BUDGET" >>"$RESULTS"
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
if want celery; then
  run_peer "Celery solo" "redis broker ($REDIS_DURABILITY); acked when received: a task running when the worker dies is lost" \
    "$PY" "$SHARED_PEERS/celery_bench.py" --port "$REDIS_PORT" --n "$N" --pool solo --concurrency 1 \
    --timeout "$(inner)" --logdir "$W/logs"
  run_peer "Celery prefork $CONC acks_late" "redis broker ($REDIS_DURABILITY); acks_late: redelivered if the worker dies mid-task" \
    "$PY" "$SHARED_PEERS/celery_bench.py" --port "$REDIS_PORT" --n "$N" --pool prefork --concurrency "$CONC" \
    --acks-late 1 --timeout "$(inner)" --logdir "$W/logs"
fi
if want rq; then
  run_peer "RQ SimpleWorker x$CONC" "redis ($REDIS_DURABILITY); job hash + finished registry per job" \
    "$PY" "$SHARED_PEERS/rq_bench.py" --port "$REDIS_PORT" --n "$N" --workers "$CONC" \
    --worker-class rq.worker.SimpleWorker --timeout "$(inner)" --logdir "$W/logs"
fi

# ------------------------------------------------- BullMQ, graphile-worker
if want bullmq; then
  run_peer "BullMQ c$CONC" "redis ($REDIS_DURABILITY)" \
    node "$ROOT/bench/peers/bullmq_bench.js" --port "$REDIS_PORT" --n "$N" --concurrency "$CONC" --timeout "$(inner)"
fi
if want graphile; then
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
  sqlite) mkdir -p "$W/parley-sqlite"; store=$W/parley-sqlite/parley.db ;;
  pg | pg+redis)
    db="bench_${backend//+/_}"
    psql "$PG_URL" -XAtqc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    store=${PG_URL%/*}/$db
    [ "$backend" = pg+redis ] && queue=$REDIS_URL ;;
  *) echo "{\"peer\":\"parley\",\"backend\":\"$backend\",\"error\":\"unknown backend\"}"; return 0 ;;
  esac
  local t0 t1 t2
  t0=$(date +%s.%N)
  timeout 300 "$PARLEY" submit "$W/parley-in" --store "$store" --queue "$queue" \
    --queue-prefix "bench:" --data "$W/parley-data" --batch bench --pipeline noop >/dev/null ||
    { echo "parley submit failed" >&2; return 1; }
  t1=$(date +%s.%N)
  timeout 300 "$PARLEY" worker --store "$store" --queue "$queue" --queue-prefix "bench:" \
    --data "$W/parley-data" --jobs "$CONC" -q || { echo "parley worker failed" >&2; return 1; }
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
want parley && for backend in ${PARLEY_BACKENDS:-sqlite pg pg+redis}; do
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
# Loud failure: every system that was asked for ran, drained and left nothing.
"$PY" - "$RESULTS" <<'PY' || die "see the rows above"
import json, sys
bad = 0
for d in (json.loads(l) for l in open(sys.argv[1]) if l.strip()):
    why = d.get("error") or (d.get("timed_out") and "timed out") or (d.get("skipped") and "skipped: %s" % d["skipped"]) \
        or (not isinstance(d.get("drain_per_s"), (int, float)) and "no drain rate") \
        or (d.get("left") not in (0, None) and "%s jobs left" % d.get("left")) \
        or (d.get("exit_status") and "exit status %s" % d["exit_status"])
    if why:
        print("bench-queue: %s: %s" % (d.get("system", "?"), why), file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY

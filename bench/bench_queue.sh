#!/usr/bin/env bash
# bench/bench_queue.sh — `make bench-queue`: no-op jobs through parley and
# through the job queues people would pick instead, on the same machine in
# the same run, against servers this script starts itself
# (tests/lib/servers.sh: one PostgreSQL, one Redis, in a temp dir, stopped by
# PID on exit). Systems (ids for BENCH_SYSTEMS):
#   celery-solo, celery-prefork   Celery solo; Celery prefork C with acks_late
#   rq                            RQ SimpleWorker x C
#     (../shared/peers/*.py, or BENCH_SHARED_PEERS; Debian's /usr/bin/python3
#      with python3-celery, python3-rq)
#   bullmq, graphile              BullMQ and graphile-worker at concurrency C
#     (bench/peers/*.js, installed by bench/peers/install.sh into build/peers-node)
#   parley-sqlite, parley-pg, parley-pg+redis
#                                 parley on SQLite, on PostgreSQL (store queue)
#                                 and on PostgreSQL + Redis (run_parley below)
#
# Job counts adapt to the machine, so that every run finishes on a loaded
# machine too and each measures about BENCH_SECONDS of draining: each system
# first drains a small probe (BENCH_PROBE jobs; parley: BENCH_PROBE / 6
# recordings), and its measured run gets rate x BENCH_SECONDS jobs (between
# BENCH_N_MIN and BENCH_N_MAX), with a time limit of 6x the expected time
# plus 60 s. A run that still times out (the machine got busier) is tried
# once more with a quarter of the jobs. N=… fixes the count for every system
# instead (no probe). Rates are per second; for parley a job is one stage
# advance (a recording is six).
#
# BENCH_REPEAT rounds (default 1) run every system once per round, in the
# same order each round, so a burst of load elsewhere hits all of them; the
# table gives the median drain rate and the spread (min–max) over rounds.
# The 1-minute load average is recorded at the start and end of every run,
# and the table's head states the machine (cores) and the load.
#
# Every system prints one JSON line; they are collected into
# build/bench-queue.json, then one side-by-side table is printed (enqueue,
# drain, steady rates, parley ÷ BullMQ, what each keeps durably).
#
# No peer is ever skipped quietly: a missing prerequisite (the shared peer
# scripts, Debian's celery/rq, node/npm, a failed bench/peers/install.sh)
# stops the bench before anything runs, and a system that errs, times out
# twice, leaves jobs behind or cannot start for lack of budget makes the exit
# status 1 (the table is still printed, with the reason in its row).
#
# Environment: BENCH_SECONDS (20), BENCH_PROBE (600), BENCH_N_MIN (1000),
# BENCH_N_MAX (60000), N (fixed count, no probe), BENCH_REPEAT (1),
# BENCH_CONCURRENCY (2), BENCH_BUDGET (3600 s for the whole run: a system
# that would start after it is spent is a failure), BENCH_SYSTEMS (ids
# above, default all), BENCH_SHARED_PEERS (the Celery/RQ scripts, default
# ../shared/peers), BENCH_REDIS_PERSIST (0; 1 runs Redis with appendonly yes
# + appendfsync everysec — the default matches the reference figures in
# ../shared/peers/README.md, appendonly no), PARLEY_BIN (another build to
# compare, before/after).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECS=${BENCH_SECONDS:-20}
PROBE=${BENCH_PROBE:-600}
N_MIN=${BENCH_N_MIN:-1000}
N_MAX=${BENCH_N_MAX:-60000}
FIXED_N=${N:-}
REPEAT=${BENCH_REPEAT:-1}
CONC=${BENCH_CONCURRENCY:-2}
BUDGET=${BENCH_BUDGET:-3600}
OUT=$ROOT/build/bench-queue.json
SHARED_PEERS=${BENCH_SHARED_PEERS:-$(dirname "$ROOT")/shared/peers}
ALL="celery-solo celery-prefork rq bullmq graphile parley-sqlite parley-pg parley-pg+redis"
SYSTEMS=${BENCH_SYSTEMS:-$ALL}
want() { [[ " $SYSTEMS " == *" $1 "* ]]; }
want_any() { local s; for s in "$@"; do want "$s" && return 0; done; return 1; }
die() { echo "bench-queue: FAILED: $*" >&2; exit 1; }
PY=/usr/bin/python3   # Debian's interpreter: it sees python3-celery/-rq/-redis
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
for s in $SYSTEMS; do [[ " $ALL " == *" $s "* ]] || die "unknown system '$s' in BENCH_SYSTEMS (known: $ALL)"; done
for v in SECS PROBE N_MIN N_MAX REPEAT CONC BUDGET; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number (got '${!v}')"
done
[ -z "$FIXED_N" ] || [[ $FIXED_N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive whole number"

# ------------------------------------------- prerequisites, before any run
if want_any celery-solo celery-prefork rq; then
  { [ -f "$SHARED_PEERS/celery_bench.py" ] && [ -f "$SHARED_PEERS/rq_bench.py" ]; } ||
    die "Celery/RQ scripts not found in $SHARED_PEERS (set BENCH_SHARED_PEERS, or BENCH_SYSTEMS without them)"
  "$PY" -c 'import celery, rq, redis' 2>/dev/null ||
    die "$PY cannot import celery, rq, redis (scripts/install-deps.sh installs python3-celery python3-rq python3-redis)"
fi
if want_any bullmq graphile; then
  command -v node >/dev/null 2>&1 || die "node not found (scripts/install-deps.sh installs nodejs npm)"
  bash "$ROOT/bench/peers/install.sh" || die "bench/peers/install.sh could not install BullMQ/graphile-worker"
fi
if want_any parley-sqlite parley-pg parley-pg+redis; then
  [ -x "$PARLEY" ] || die "$PARLEY not built (make tools)"
  command -v sqlite3 >/dev/null 2>&1 || die "sqlite3 not found (scripts/install-deps.sh installs it)"
fi

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-queue.XXXXXX")
# Servers are stopped by the PIDs servers.sh recorded, whatever happens.
trap 'servers_stop_all; rm -rf "$W"' EXIT
mkdir -p "$W/logs" "$ROOT/build"
RESULTS=$W/results.jsonl
: >"$RESULTS"
START=$SECONDS
load1() { cut -d' ' -f1 /proc/loadavg; }

echo "bench-queue: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "~${SECS}s of draining per run, $REPEAT round(s), concurrency $CONC, parley $PARLEY"
pg_start "$W" || die "PostgreSQL did not start"
if [ "${BENCH_REDIS_PERSIST:-0}" = 1 ]; then
  redis_start "$W" --persist || die "Redis did not start"
  REDIS_DURABILITY="appendonly yes, everysec"
else
  redis_start "$W" || die "Redis did not start"
  REDIS_DURABILITY="appendonly no"
fi
echo "PostgreSQL $PG_URL (pid $PG_PID), Redis $REDIS_URL (pid $REDIS_PID, $REDIS_DURABILITY)"

# ------------------------------------------------------------ the systems
declare -A LABEL DURABLE
LABEL[celery-solo]="Celery 5, solo"
DURABLE[celery-solo]="redis broker ($REDIS_DURABILITY); acked when received: a task running when its worker dies is lost"
LABEL[celery-prefork]="Celery 5, prefork $CONC, acks_late"
DURABLE[celery-prefork]="redis broker ($REDIS_DURABILITY); acks_late: redelivered if the worker dies mid-task"
LABEL[rq]="RQ, SimpleWorker x $CONC"
DURABLE[rq]="redis ($REDIS_DURABILITY); job hash + finished registry per job"
LABEL[bullmq]="BullMQ 6.7, concurrency $CONC"
DURABLE[bullmq]="redis ($REDIS_DURABILITY)"
LABEL[graphile]="graphile-worker 0.17, concurrency $CONC"
DURABLE[graphile]="postgresql: a job row committed at add, deleted at success"
LABEL[parley-sqlite]="parley, SQLite"
DURABLE[parley-sqlite]="every stage's results with its done mark, quick stages of a recording in one commit (commit_window 0.05 s; a crash redoes them), WAL synchronous=NORMAL: survives a killed process; fsync at checkpoints"
LABEL[parley-pg]="parley, PostgreSQL (store queue)"
DURABLE[parley-pg]="every stage's results with its done mark fsynced, quick stages and finishes of the recordings of one take in one commit (commit_window 0.05 s; a crash redoes them); lease/log writes relaxed, redone if lost"
LABEL[parley-pg+redis]="parley, PostgreSQL + Redis"
DURABLE[parley-pg+redis]="as PostgreSQL; Redis ($REDIS_DURABILITY) only a hint, rebuilt from the store"

# graphile-worker gets a database of its own, so its schema and parley's
# tables never meet; each run gets it fresh.
PG_URL_GRAPHILE="postgresql://postgres@127.0.0.1:$PG_PORT/graphile"
fresh_db() {
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -XAtq "$PG_URL" \
    -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
}

# parley: N recordings through the "noop" pipeline (six test stages, each
# committing a stage_runs row and a test_effects row with its lease check in
# one transaction), $CONC worker processes. Prints one JSON line.
run_parley() {  # backend (sqlite | pg | pg+redis), recordings, time limit (s)
  local backend=$1 n=$2 limit=$3 store queue="store" db in=$W/parley-in/$2
  mkdir -p "$in"
  [ -e "$in/r$n.wav" ] || (cd "$in" && for ((i = 1; i <= n; i++)); do : >"r$i.wav"; done)
  rm -rf "$W/parley-data" "$W/parley-sqlite"
  case $backend in
  sqlite) mkdir -p "$W/parley-sqlite"; store=$W/parley-sqlite/parley.db ;;
  pg | pg+redis)
    db="bench_${backend//+/_}"
    fresh_db "$db"
    store=${PG_URL%/*}/$db
    if [ "$backend" = pg+redis ]; then
      queue=$REDIS_URL
      redis-cli -p "$REDIS_PORT" flushall >/dev/null
    fi ;;
  esac
  local t0 t1 t2 end=$((SECONDS + limit))
  t0=$(date +%s.%N)
  timeout "$limit" "$PARLEY" submit "$in" --store "$store" --queue "$queue" \
    --queue-prefix "bench:" --data "$W/parley-data" --batch bench --pipeline noop >/dev/null ||
    { echo "parley submit failed or took over ${limit}s" >&2; return 1; }
  t1=$(date +%s.%N)
  # what one advance costs the servers: script calls on Redis (INFO
  # commandstats, reset here), transactions on PostgreSQL (pg_stat_database)
  local x0=0 x1=0 evals=0
  [ "$backend" = pg+redis ] && redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
  [ "$backend" != sqlite ] && x0=$("$PG_BIN/psql" "$store" -XAtqc \
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
  local status=0
  timeout "$((end - SECONDS > 10 ? end - SECONDS : 10))" "$PARLEY" worker --store "$store" --queue "$queue" \
    --queue-prefix "bench:" --data "$W/parley-data" --jobs "$CONC" -q || status=$?
  t2=$(date +%s.%N)
  if [ "$backend" = pg+redis ]; then
    evals=$(redis-cli -p "$REDIS_PORT" info commandstats |
      awk -F'[:=,]' '/^cmdstat_(evalsha|eval):/ { s += $3 } END { print s + 0 }')
  fi
  if [ "$backend" != sqlite ]; then
    sleep 1 # the workers' statistics reach pg_stat_database when their backends end
    x1=$("$PG_BIN/psql" "$store" -XAtqc \
      "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()")
  fi
  local q
  if [ "$backend" = sqlite ]; then q() { sqlite3 -batch "$store" "$1"; }; else q() { "$PG_BIN/psql" "$store" -XAtqc "$1"; }; fi
  local done_n effects window events
  done_n=$(q "SELECT count(*) FROM recordings WHERE status = 'done'")
  effects=$(q "SELECT count(*) FROM test_effects")
  window=$(q "SELECT max(time) - min(time) FROM test_effects")
  events=$(q "SELECT count(*) FROM events")
  "$PY" - "$backend" "$n" "$t0" "$t1" "$t2" "$done_n" "$effects" "${window:-0}" "$events" "$status" \
    "$((x1 - x0))" "$evals" <<'PY'
import json, sys
b, n = sys.argv[1], int(sys.argv[2])
t0, t1, t2 = map(float, sys.argv[3:6])
done, effects = int(sys.argv[6]), int(sys.argv[7])
window, events, status = float(sys.argv[8] or 0), int(sys.argv[9]), int(sys.argv[10])
xacts, evals = int(sys.argv[11]), int(sys.argv[12])
d = {"peer": "parley", "backend": b, "recordings": n, "n": 6 * n, "advances_done": effects,
     "enqueue_per_s": round(n / (t1 - t0), 1), "drain_wall_s": round(t2 - t1, 3),
     "recordings_per_s": round(done / (t2 - t1), 1), "left": n - done,
     "rows_written": {"recordings": n, "stage_runs": effects, "test_effects": effects, "events": events}}
if b != "sqlite" and done:
    d["pg_transactions_per_recording"] = round(xacts / done, 2)
if b == "pg+redis" and done:
    d["redis_script_calls_per_recording"] = round(evals / done, 2)
if status == 124:
    d["timed_out"] = True
elif status:
    d["error"] = "parley worker exited with status %d" % status
else:
    d["timed_out"] = False
    d["drain_per_s"] = round(effects / (t2 - t1), 1)
    if window > 0 and effects > 1:
        d["drain_window_per_s"] = round((effects - 1) / window, 1)
print(json.dumps(d))
PY
}

# Run system $1 with $2 jobs (parley: recordings) within $3 seconds; its
# stdout/stderr go to logs; prints the exit status.
run_cmd() {  # id, n, limit, slug
  local id=$1 n=$2 limit=$3 slug=$4 inner=$(($3 > 40 ? $3 - 20 : 20)) status=0
  local out=$W/logs/$slug.out errf=$W/logs/$slug.err
  case $id in
  celery-solo)
    timeout --kill-after=10 "$limit" "$PY" "$SHARED_PEERS/celery_bench.py" --port "$REDIS_PORT" --n "$n" \
      --pool solo --concurrency 1 --timeout "$inner" --logdir "$W/logs" >"$out" 2>"$errf" || status=$? ;;
  celery-prefork)
    timeout --kill-after=10 "$limit" "$PY" "$SHARED_PEERS/celery_bench.py" --port "$REDIS_PORT" --n "$n" \
      --pool prefork --concurrency "$CONC" --acks-late 1 --timeout "$inner" --logdir "$W/logs" >"$out" 2>"$errf" || status=$? ;;
  rq)
    timeout --kill-after=10 "$limit" "$PY" "$SHARED_PEERS/rq_bench.py" --port "$REDIS_PORT" --n "$n" \
      --workers "$CONC" --worker-class rq.worker.SimpleWorker --timeout "$inner" --logdir "$W/logs" \
      >"$out" 2>"$errf" || status=$? ;;
  bullmq)
    timeout --kill-after=10 "$limit" node "$ROOT/bench/peers/bullmq_bench.js" --port "$REDIS_PORT" --n "$n" \
      --concurrency "$CONC" --timeout "$inner" >"$out" 2>"$errf" || status=$? ;;
  graphile)
    fresh_db graphile
    timeout --kill-after=10 "$limit" node "$ROOT/bench/peers/graphile_bench.js" --url "$PG_URL_GRAPHILE" --n "$n" \
      --concurrency "$CONC" --timeout "$inner" >"$out" 2>"$errf" || status=$? ;;
  parley-*)
    # a shell function cannot run under `timeout`: it bounds its own commands
    run_parley "${id#parley-}" "$n" "$limit" >"$out" 2>"$errf" || status=$? ;;
  esac
  echo "$status"
}

# Add the summary keys to the system's JSON line (or make an error line when
# it printed none) and print it.
record() {  # id, round, kind (probe|run), status, stdout, stderr, load at start, n
  "$PY" - "$@" "${LABEL[$1]}" "${DURABLE[$1]}" "$(load1)" <<'PY'
import json, sys
sid, rnd, kind, status, out, err, l0, n, label, durable, l1 = sys.argv[1:12]
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
    if status == "124":
        d["timed_out"] = True
d.update({"id": sid, "system": label, "round": int(rnd), "kind": kind, "jobs_asked": int(n),
          "load1_start": float(l0), "load1_end": float(l1)})
d.setdefault("durable", durable)
if "drain_per_s" not in d and not d.get("timed_out", True):
    d["drain_per_s"] = d.get("drain_wall_per_s")
if "drain_window_per_s" not in d and "job_window_per_s" in d:
    d["drain_window_per_s"] = d["job_window_per_s"]
if "left" not in d and "left_in_queue" in d:
    d["left"] = d["left_in_queue"] + d.get("left_unacked", 0)
if status not in ("0", "124"):
    d["exit_status"] = int(status)
print(json.dumps(d))
PY
}

# One measured (or probe) run of a system; appends to RESULTS when kind=run.
# Echoes the JSON line.
measure() {  # id, n, limit, round, kind
  local id=$1 n=$2 limit=$3 rnd=$4 kind=$5 slug status l0
  slug="$(tr -c 'A-Za-z0-9' _ <<<"$id")_${rnd}_$kind"
  l0=$(load1)
  status=$(run_cmd "$id" "$n" "$limit" "$slug")
  if [ "$status" -ne 0 ]; then
    echo "   $id ($kind, $n) exited with status $status; stderr tail:" >&2
    tail -5 "$W/logs/$slug.err" | sed 's/^/   /' >&2
  fi
  record "$id" "$rnd" "$kind" "$status" "$W/logs/$slug.out" "$W/logs/$slug.err" "$l0" "$n"
}

# rate (jobs/s) from a JSON line: the steady rate when known, else the wall one
rate_of() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); r=d.get("drain_window_per_s") or d.get("drain_per_s"); print(r if isinstance(r,(int,float)) and r>0 else 0)' "$1"; }
timed_out() { "$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]).get("timed_out") else 1)' "$1"; }

declare -A NJOBS RATE
budget_left() { echo $((BUDGET - (SECONDS - START))); }
for ((round = 1; round <= REPEAT; round++)); do
  for id in $ALL; do
    want "$id" || continue
    per=1; [[ $id == parley-* ]] && per=6   # parley: jobs = 6 stage advances per recording
    if [ "$(budget_left)" -lt 60 ]; then
      echo "NOT RUN: $id round $round (the ${BUDGET}s budget is spent; raise BENCH_BUDGET)" >&2
      printf '{"id": "%s", "system": "%s", "round": %d, "kind": "run", "error": "not run: the %ss budget was spent"}\n' \
        "$id" "${LABEL[$id]}" "$round" "$BUDGET" >>"$RESULTS"
      continue
    fi
    if [ -z "${NJOBS[$id]:-}" ]; then
      if [ -n "$FIXED_N" ]; then
        NJOBS[$id]=$(( (FIXED_N + per - 1) / per )); RATE[$id]=0
      else
        pn=$(( (PROBE + per - 1) / per ))
        echo "-- $id: probe, $pn $([ $per = 6 ] && echo recordings || echo jobs)"
        line=$(measure "$id" "$pn" 180 "$round" probe)
        r=$(rate_of "$line")
        if [ "$r" = 0 ]; then
          echo "   probe failed: $line" >&2
          echo "$line" >>"$RESULTS"   # its error makes the bench fail
          NJOBS[$id]=0
          continue
        fi
        RATE[$id]=$r
        NJOBS[$id]=$("$PY" -c "import sys; r,s,lo,hi,per=map(float,sys.argv[1:]); n=max(lo,min(hi,r*s)); print(int(-(-n//(100*per))*100))" \
          "$r" "$SECS" "$N_MIN" "$N_MAX" "$per")
      fi
    fi
    [ "${NJOBS[$id]}" = 0 ] && continue
    n=${NJOBS[$id]}
    # 6x the expected drain + 60 s, at least 120 s, within what is left
    limit=$("$PY" -c "import sys; n,r,per,s=map(float,sys.argv[1:]); e=n*per/r if r>0 else 4*s; print(int(max(120,6*e+60)))" \
      "$n" "${RATE[$id]}" "$per" "$SECS")
    left=$(budget_left); [ "$limit" -gt "$left" ] && limit=$left
    echo "-- $id: round $round, $n $([ $per = 6 ] && echo recordings || echo jobs), limit ${limit}s, load $(load1)"
    line=$(measure "$id" "$n" "$limit" "$round" run)
    if timed_out "$line" && [ "$(budget_left)" -ge 120 ]; then
      n=$(( n / 4 > 100 ? n / 4 : 100 )); NJOBS[$id]=$n
      echo "   timed out (load $(load1)); once more with $n"
      line=$(measure "$id" "$n" "$(( limit < $(budget_left) ? limit : $(budget_left) ))" "$round" run)
      line=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d["first_try_timed_out"]=True; print(json.dumps(d))' "$line")
    fi
    echo "$line" >>"$RESULTS"
    echo "   $("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print("drain %s/s, steady %s/s, left %s%s" % (d.get("drain_per_s"), d.get("drain_window_per_s"), d.get("left"), (" ERROR " + d["error"]) if "error" in d else ""))' "$line")"
  done
done

# ------------------------------------------------------------------ report
cp "$RESULTS" "$OUT"
echo
echo "results: $OUT"
"$PY" - "$RESULTS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$REPEAT" "$SECS" <<'PY'
import json, statistics, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cores, load_now, rounds, secs = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
order, by = [], {}
for d in rows:
    if d.get("kind") == "probe":
        continue
    if d["id"] not in by:
        order.append(d["id"])
        by[d["id"]] = []
    by[d["id"]].append(d)
def ok(d):
    return "error" not in d and not d.get("timed_out") and isinstance(d.get("drain_per_s"), (int, float)) \
        and d.get("left") in (0, None)
def med(v):
    return statistics.median(v) if v else None
def fmt(v):
    return "{:,.0f}".format(v) if isinstance(v, (int, float)) else "-"
def spread(v):
    return "" if len(v) < 2 else " (%s–%s)" % (fmt(min(v)), fmt(max(v)))
loads = [x for d in rows for x in (d.get("load1_start"), d.get("load1_end")) if isinstance(x, (int, float))]
print("\n%s, %s cores; 1-min load average during the runs %s–%s (now %s); %d round(s), each run sized for"
      " ~%s s of draining. drain: from starting the worker(s) to the last job done, start-up included;"
      " steady: from the first job done to the last. Medians over rounds, (min–max) when more than one."
      " A parley job is one stage advance (six per recording).\n"
      % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cores,
         "%.1f" % min(loads) if loads else "?", "%.1f" % max(loads) if loads else "?", load_now, rounds, secs))
bull = med([d["drain_per_s"] for d in by.get("bullmq", []) if ok(d)])
print("| system | jobs | enqueue /s | drain /s | steady /s | ÷ BullMQ | left | what is durable |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for sid in order:
    ds = by[sid]
    good = [d for d in ds if ok(d)]
    bad = [d for d in ds if not ok(d)]
    drain = [d["drain_per_s"] for d in good]
    steady = [d["drain_window_per_s"] for d in good if isinstance(d.get("drain_window_per_s"), (int, float))]
    enq = [d["enqueue_per_s"] for d in good if isinstance(d.get("enqueue_per_s"), (int, float))]
    jobs = sorted({d.get("n") for d in good if d.get("n")})
    note = ""
    retried = sum(1 for d in good if d.get("first_try_timed_out"))
    if retried:
        note = " (%d run(s) timed out at first, done with a quarter of the jobs)" % retried
    if bad:
        d = bad[0]
        why = d.get("error") or ("timed out" if d.get("timed_out") else "%s jobs left" % d.get("left"))
        note = " (%d of %d runs failed: %s)" % (len(bad), len(ds), str(why)[:80])
    name = ds[0]["system"] + (" (%s rec/s)" % fmt(med([d["recordings_per_s"] for d in good]))
                              if sid.startswith("parley") and good else "")
    vs = "%.2f" % (med(drain) / bull) if drain and bull else "-"
    print("| %s%s | %s | %s | **%s**%s | %s%s | %s | %s | %s |" % (
        name, note, "/".join(fmt(j) for j in jobs) or "-", fmt(med(enq)), fmt(med(drain)), spread(drain),
        fmt(med(steady)), spread(steady), vs, max((d.get("left") or 0) for d in ds) if good else "-",
        ds[0].get("durable", "")))
costs = []
for sid in order:
    good = [d for d in by[sid] if ok(d)]
    x = med([d["pg_transactions_per_recording"] for d in good if "pg_transactions_per_recording" in d])
    e = med([d["redis_script_calls_per_recording"] for d in good if "redis_script_calls_per_recording" in d])
    if x is not None or e is not None:
        costs.append("%s: %s" % (by[sid][0]["system"], ", ".join(
            p for p in ("%.1f PostgreSQL transactions" % x if x is not None else "",
                        "%.2f Redis script calls" % e if e is not None else "") if p)))
if costs:
    print("\nPer recording (six advances): " + "; ".join(costs) + ".")
PY
echo
echo "bench-queue: done in $((SECONDS - START)) s"
# Loud failure: every system that was asked for ran, drained and left nothing.
"$PY" - "$RESULTS" <<'PY' || die "see the rows above"
import json, sys
bad = 0
for d in (json.loads(l) for l in open(sys.argv[1]) if l.strip()):
    why = d.get("error") or (d.get("timed_out") and "timed out") \
        or (not isinstance(d.get("drain_per_s"), (int, float)) and "no drain rate") \
        or (d.get("left") not in (0, None) and "%s jobs left" % d.get("left")) \
        or (d.get("exit_status") and "exit status %s" % d["exit_status"])
    if why:
        print("bench-queue: %s (round %s, %s): %s" % (d.get("system", "?"), d.get("round"), d.get("kind", "run"), why),
              file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY

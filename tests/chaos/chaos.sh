#!/usr/bin/env bash
# tests/chaos/chaos.sh — kill workers with SIGKILL while a batch runs and
# prove that nothing is lost and nothing is done twice.
#
#   tests/chaos/chaos.sh sqlite|pg-redis|pg-redis-restart [N] [SECONDS_PER_STAGE]
#
# N recordings (default 2000) go through the "noop" pipeline: six test
# stages (src/stages/tick.c) whose every commit writes one row to
# test_effects, so a stage committed twice for a recording would show as a
# second row. Four `parley worker` processes run; every 1–2 s one of them,
# chosen at random, is killed with SIGKILL (it and its worker child die
# mid-stage) and a new one takes its slot. The pg-redis-restart variant also
# restarts PostgreSQL and redis-server (no persistence: the queue is lost
# and must be rebuilt from the store) in the middle of the batch.
# At the end every recording must be done, with exactly one effect row per
# recording and stage, every stage_run done, and no lease held.
#
# Prints TAP lines (ok / not ok) and a summary; exit status 0 when all pass.
# Servers are its own (tests/lib/servers.sh), in a temp dir, stopped by PID.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
# the workers need the tick stages' faults: parley plus test hooks
PARLEY_TEST=${PARLEY_TEST_BIN:-$(dirname "$PARLEY")/tests/parley-test}
MODE=${1:-sqlite}
N=${2:-2000}
STAGE_SLEEP=${3:-0.002}
WORKERS=4
LEASE=3
DEADLINE=${CHAOS_DEADLINE:-240}   # seconds before the test gives up

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/parley-chaos.XXXXXX")
declare -a PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
	servers_stop_all
	if [ "${CHAOS_KEEP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

FAILS=0
ok() { echo "ok - chaos $MODE: $*"; }
notok() { echo "not ok - chaos $MODE: $*"; FAILS=$((FAILS + 1)); }

case $MODE in
sqlite)
	export PARLEY_STORE=$T/store/parley.db PARLEY_QUEUE=store
	sql() { sqlite3 -batch "$PARLEY_STORE" "$1"; }
	;;
pg-redis | pg-redis-restart)
	pg_start "$T/srv" >/dev/null
	redis_start "$T/srv" >/dev/null
	export PARLEY_STORE=$PG_URL PARLEY_QUEUE=$REDIS_URL PARLEY_DATA=$T/data
	sql() { psql "$PG_URL" -XAtqc "$1"; }
	;;
*)
	echo "usage: $0 sqlite|pg-redis|pg-redis-restart [N] [SECONDS_PER_STAGE]" >&2
	exit 2
	;;
esac
export PARLEY_TEST_FAULTS="tick3 sleep * $STAGE_SLEEP"

mkdir -p "$T/in"
(cd "$T/in" && for ((i = 1; i <= N; i++)); do : >"r$i.wav"; done)
"$PARLEY" submit "$T/in" --pipeline noop --batch chaos >/dev/null

start_worker() {  # slot
	"$PARLEY_TEST" worker --jobs 1 --lease "$LEASE" -q >>"$T/worker-$1.log" 2>&1 &
	PIDS[$1]=$!
}
for ((s = 0; s < WORKERS; s++)); do start_worker "$s"; done

done_count() { sql "SELECT count(*) FROM recordings WHERE status IN ('done', 'failed')" 2>/dev/null || echo 0; }

kills=0 restarts=0
t0=$SECONDS
restarted=0
while :; do
	finished=$(done_count)
	[ "${finished:-0}" -ge "$N" ] && break
	if ((SECONDS - t0 > DEADLINE)); then
		notok "batch did not finish within ${DEADLINE}s ($finished of $N)"
		break
	fi
	# one random worker killed every 1–2 s, and replaced
	sleep "1.$((RANDOM % 10))"
	s=$((RANDOM % WORKERS))
	if kill -KILL "${PIDS[$s]}" 2>/dev/null; then kills=$((kills + 1)); fi
	wait "${PIDS[$s]}" 2>/dev/null || true
	start_worker "$s"
	# a worker that exited by itself (no work left for it) is replaced too
	for ((o = 0; o < WORKERS; o++)); do
		if ! kill -0 "${PIDS[$o]}" 2>/dev/null; then wait "${PIDS[$o]}" 2>/dev/null || true; start_worker "$o"; fi
	done
	if [ "$MODE" = pg-redis-restart ] && [ $restarted -eq 0 ] && [ "$(done_count)" -ge $((N / 3)) ]; then
		if redis_restart >/dev/null; then restarts=$((restarts + 1)); else notok "redis-server did not restart"; fi
		if pg_restart >/dev/null; then restarts=$((restarts + 1)); else notok "PostgreSQL did not restart"; fi
		echo "# restarted redis-server and PostgreSQL at $(done_count) of $N"
		restarted=1
	fi
done
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
elapsed=$((SECONDS - t0))

stages=6
want=$((N * stages))
[ "$(sql "SELECT count(*) FROM recordings WHERE status = 'done'")" = "$N" ] &&
	ok "all $N recordings done ($kills workers killed, $restarts server restarts, ${elapsed}s)" ||
	notok "recordings not all done: $(sql "SELECT status, count(*) FROM recordings GROUP BY 1" | tr '\n' ' ')"
effects=$(sql "SELECT count(*) FROM test_effects")
[ "$effects" = "$want" ] && ok "every stage's effect recorded exactly once ($effects = $N x $stages)" ||
	notok "effects: $effects rows for $want stage runs"
dups=$(sql "SELECT count(*) FROM (SELECT recording_id, stage FROM test_effects GROUP BY 1, 2 HAVING count(*) > 1) d")
[ "$dups" = 0 ] && ok "no stage committed twice" || notok "$dups (recording, stage) pairs committed twice"
runs=$(sql "SELECT count(*) FROM stage_runs WHERE status = 'done'")
[ "$runs" = "$want" ] && ok "every stage_run done ($runs)" || notok "stage_runs done: $runs of $want"
leases=$(sql "SELECT count(*) FROM recordings WHERE lease_owner IS NOT NULL")
[ "$leases" = 0 ] && ok "no lease left" || notok "$leases leases left"
# (a recording a killed worker had started ahead may have its attempt
# uncounted: worker.h, take-ahead; so only the ones counted more than once)
retaken=$(sql "SELECT coalesce(sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) FROM recordings")
echo "# $kills kills, $retaken recordings taken again after their worker died, ${elapsed}s for $N recordings"
[ "$kills" -gt 0 ] && ok "workers were killed during the batch ($kills)" || notok "no worker was killed: the batch was too short"
exit $((FAILS > 0))

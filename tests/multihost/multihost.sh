#!/usr/bin/env bash
# tests/multihost/multihost.sh — parley on three "hosts" built from network
# namespaces on this machine, with a network partition and a PostgreSQL
# restart in the middle of a batch.
#
#   tests/multihost/multihost.sh [N] [SECONDS_PER_STAGE]
#
# Hosts (each its own network namespace; the workers also get their own
# hostname, so their lease owners read "mh-w1:PID" / "mh-w2:PID" and no
# worker can reclaim the other host's leases by looking at its PIDs):
#   db   PostgreSQL and redis-server on 10.77.0.1, a bridge (the "switch")
#   w1   `parley worker --jobs 2` from 10.77.0.11 over a veth link to db
#   w2   the same from 10.77.0.12
# Only these private addresses, inside these namespaces, are used: nothing
# listens on or connects to an address of the machine itself. The data
# directory is shared (one filesystem, as an NFS mount would be).
#
# N recordings (default 600) go through the "noop" pipeline (six test
# stages, src/stages/tick.c, each commit writes one row to test_effects;
# tick3 takes SECONDS_PER_STAGE, default 0.2: PARLEY_TEST_FAULTS, read by
# the workers' binary, build/tests/parley-test — parley plus test hooks). Mid-batch, at a moment when
# w2 holds leases and its workers are inside tick3:
#   1. w2's port on the switch goes down (`ip link set … down` in db): a
#      partition, not a kill — w2's processes keep running and hear nothing.
#   2. w1 must take over w2's in-flight recordings, and only after their
#      leases expired (checked on every poll: none was taken while the clock
#      read before its expiry).
#   3. The link comes back; w2's late commits must be refused (its log says
#      "late commit of stage … refused" / the recording "is leased by another
#      worker").
#   4. PostgreSQL is restarted (fast shutdown) while the batch still runs.
# At the end: every recording done, exactly one effect row per recording and
# stage, every stage_run done, no lease held, no Redis processing list left,
# both workers exited 0.
#
# Needs root (ip netns, veth, bridge, unshare --uts), PostgreSQL and
# redis-server. Prints TAP lines and a summary; exit status 0 when all pass,
# 77 (with "# SKIP reason") when the machine cannot build namespaces.
# Everything it starts is stopped by PID, and its namespaces deleted, on
# every exit path (EXIT trap).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PARLEY=${PARLEY_BIN:-$ROOT/build/parley}
# the workers need the tick stages' faults: parley plus test hooks
PARLEY_TEST=${PARLEY_TEST_BIN:-$(dirname "$PARLEY")/tests/parley-test}
N=${1:-600}
STAGE_SLEEP=${2:-0.2}
LEASE=${MULTIHOST_LEASE:-2}
JOBS=${MULTIHOST_JOBS:-2}
DEADLINE=${MULTIHOST_DEADLINE:-300} # seconds for each wait before the test gives up
NET=10.77.0

skip() { echo "ok - multihost # SKIP $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns (running as uid $(id -u))"
command -v ip >/dev/null 2>&1 || skip "no ip command (iproute2)"
command -v unshare >/dev/null 2>&1 || skip "no unshare (util-linux)"
for b in "$PARLEY" "$PARLEY_TEST"; do
	[ -x "$b" ] || { echo "not ok - multihost: no $b (make tools)"; exit 1; }
done

# shellcheck source=tests/lib/servers.sh
. "$ROOT/tests/lib/servers.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/parley-mh.XXXXXX")
TAG=$$
NS_DB=plmh-db-$TAG NS_W1=plmh-w1-$TAG NS_W2=plmh-w2-$TAG
declare -a NSS=() PIDS=()
cleanup() {
	local p n t=$SECONDS
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
	servers_stop_all
	for n in "${NSS[@]:-}"; do [ -n "$n" ] && ip netns del "$n" 2>/dev/null || true; done
	if [ "${MULTIHOST_KEEP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
	echo "# cleaned up in $((SECONDS - t))s; ${SECONDS}s in all"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILS=0
ok() { echo "ok - multihost: $*"; }
notok() { echo "not ok - multihost: $*"; FAILS=$((FAILS + 1)); }
fatal() { notok "$*"; exit 1; }

# ---- the network: db holds the bridge; each worker a veth whose other end
# is a bridge port in db ("p1", "p2": cutting one is pulling a cable).
if ! ip netns add "$NS_DB" 2>"$T/netns.err"; then
	skip "ip netns add failed: $(head -1 "$T/netns.err") (needs CAP_SYS_ADMIN)"
fi
NSS+=("$NS_DB")
ip netns add "$NS_W1" && NSS+=("$NS_W1")
ip netns add "$NS_W2" && NSS+=("$NS_W2")
ip -n "$NS_DB" link set lo up
ip -n "$NS_DB" link add br0 type bridge
ip -n "$NS_DB" addr add "$NET.1/24" dev br0
ip -n "$NS_DB" link set br0 up
k=0
for ns in "$NS_W1" "$NS_W2"; do
	k=$((k + 1))
	ip -n "$NS_DB" link add "p$k" type veth peer name eth0 netns "$ns"
	ip -n "$NS_DB" link set "p$k" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$NET.1$k/24" dev eth0
	ip -n "$ns" link set eth0 up
done

# ---- the servers, in db
export SERVERS_NETNS=$NS_DB SERVERS_HOST=$NET.1
pg_start "$T/srv" >/dev/null || fatal "PostgreSQL did not start in $NS_DB"
redis_start "$T/srv" >/dev/null || fatal "redis-server did not start in $NS_DB"
in_db() { ip netns exec "$NS_DB" "$@"; }
sql() { in_db "$PG_BIN/psql" -XAtq -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"; }
for ns in "$NS_W1" "$NS_W2"; do
	[ "$(ip netns exec "$ns" "$PG_BIN/psql" -XAtq "$PG_URL" -c 'SELECT 1' 2>&1)" = 1 ] ||
		fatal "$ns cannot reach PostgreSQL at $PG_URL"
	[ "$(ip netns exec "$ns" redis-cli -h "$NET.1" -p "$REDIS_PORT" ping 2>&1)" = PONG ] ||
		fatal "$ns cannot reach redis-server at $REDIS_URL"
done
ok "three hosts: db $NET.1 (PostgreSQL, Redis), w1 $NET.11 and w2 $NET.12 reach it over a bridge (${SECONDS}s to set up)"

# A worker cut off inside a transaction holds row locks until the server ends
# its session: 60 s idle by default (src/store/db_pg.c); here, with 2 s
# leases, 5 s — set as an operator would, in the target's options.
IDLE_TX_MS=${MULTIHOST_IDLE_TX_MS:-5000}
export PARLEY_STORE="$PG_URL?options=-c%20idle_in_transaction_session_timeout%3D$IDLE_TX_MS"
export PARLEY_QUEUE=$REDIS_URL PARLEY_DATA=$T/data
export PARLEY_TEST_FAULTS="tick3 sleep * $STAGE_SLEEP"
unset PARLEY_CONFIG PARLEY_QUEUE_PREFIX
mkdir -p "$T/in" "$T/data"
(cd "$T/in" && for ((i = 1; i <= N; i++)); do : >"r$i.wav"; done)
ip netns exec "$NS_W1" "$PARLEY" submit "$T/in" --pipeline noop --batch multihost >"$T/submit.log" 2>&1 ||
	fatal "submit from w1 failed: $(tail -3 "$T/submit.log")"

# A worker host: its own network namespace and hostname (unshare --uts);
# `ip netns exec`, unshare and sh all exec, so $! is parley's own pid.
start_host() {  # slot ns hostname
	ip netns exec "$2" unshare --uts sh -c 'hostname "$1" && shift && exec "$@"' sh "$3" \
		"$PARLEY_TEST" worker --jobs "$JOBS" --lease "$LEASE" >"$T/$3.log" 2>&1 &
	PIDS[$1]=$!
}
start_host 1 "$NS_W1" mh-w1
start_host 2 "$NS_W2" mh-w2

count() { sql "SELECT count(*) FROM recordings WHERE $1" 2>/dev/null || echo -1; }
wait_for() {  # description, then a command that succeeds when the wait is over
	local what=$1 t=$SECONDS
	shift
	until "$@"; do
		if ((SECONDS - t > DEADLINE)); then notok "$what: not within ${DEADLINE}s"; return 1; fi
		sleep 0.05
	done
}
t0=$SECONDS

# ---- 1. the partition: when w2 holds leases and each of its recordings is
# in tick3 (the stage that takes time), pull w2's cable.
HELD=""
w2_in_tick3() {
	local r
	r=$(sql "SELECT count(*) FILTER (WHERE next_stage <> 'tick3'), count(*),
	           (SELECT count(*) FROM recordings WHERE status = 'done')
	         FROM recordings WHERE lease_owner LIKE 'mh-w2:%' AND status = 'running'" 2>/dev/null) || return 1
	IFS='|' read -r other held done <<<"$r"
	[ "$done" -ge $((N / 10)) ] && [ "$held" -ge 1 ] && [ "$other" -eq 0 ]
}
# w2 may finish its tick3 between the check and the cut (a loaded machine,
# the quick stages after it and the finish commit together): then it holds
# nothing at the cut, and the link comes back for another try.
for try in 1 2 3 4 5; do
	wait_for "w2 holds leases in tick3 after $((N / 10)) recordings" w2_in_tick3 || exit 1
	in_db ip link set p2 down
	cut_at=$SECONDS
	# what w2 held at the cut: id, attempts, lease expiry (unix seconds)
	HELD=$(sql "SELECT id || ':' || attempts || ':' || lease_expires FROM recordings
	            WHERE lease_owner LIKE 'mh-w2:%' AND status = 'running' ORDER BY id")
	nheld=$(wc -w <<<"$HELD")
	[ "$nheld" -ge 1 ] && break
	echo "# try $try: w2 held nothing at the cut; link restored, waiting again"
	in_db ip link set p2 up
done
[ "$nheld" -ge 1 ] || { echo "not ok - multihost: w2 never held a recording at the cut (5 tries)"; exit 1; }
done_at_cut=$(count "status = 'done'")
echo "# w2 cut off at $done_at_cut of $N done, holding $nheld recordings: $(tr '\n' ' ' <<<"$HELD")"

# VALUES rows for the recordings w2 held: (id, attempts at the cut, expiry)
held_values() {
	local h sep=""
	for h in $HELD; do
		IFS=: read -r id att exp <<<"$h"
		printf '%s(%s, %s, %s)' "$sep" "$id" "$att" "$exp"
		sep=", "
	done
}
VALS=$(held_values)
early=0
w2_taken_over() {
	local r
	# taken = leased again (attempts grew); early = taken while the clock,
	# read after the snapshot, is still before the old lease's expiry
	r=$(sql "SELECT count(*) FILTER (WHERE r.attempts > h.att),
	                count(*) FILTER (WHERE r.attempts > h.att
	                                 AND extract(epoch FROM clock_timestamp()) < h.exp),
	                count(*) FILTER (WHERE r.lease_owner LIKE 'mh-w2:%')
	         FROM (VALUES $VALS) AS h(id, att, exp) JOIN recordings r ON r.id = h.id" 2>/dev/null) || return 1
	IFS='|' read -r taken e still <<<"$r"
	[ "$e" -gt 0 ] && early=$((early + e))
	[ "$taken" -eq "$nheld" ] && [ "$still" -eq 0 ]
}
if wait_for "w1 takes over the $nheld recordings w2 held" w2_taken_over; then
	ok "w1 took over all $nheld recordings w2 held, $((SECONDS - cut_at))s after the cut"
	# taken when their leases expired, not only once the queue ran dry and
	# the store was searched for lost work (src/core/worker.h)
	waiting=$(count "status = 'pending'")
	[ "$waiting" -gt $((2 * JOBS)) ] && ok "taken over while $waiting recordings were still waiting" ||
		notok "taken over only when the queue ran dry ($waiting recordings waiting)"
fi
[ "$early" -eq 0 ] && ok "none taken before its lease expired" ||
	notok "$early polls saw a recording taken before its lease expired"
kill -0 "${PIDS[2]}" 2>/dev/null && ok "w2 is alive while cut off (a partition, not a kill)" ||
	notok "w2 exited while cut off: $(tail -3 "$T/mh-w2.log")"
progress_w1() { [ "$(count "status = 'done'")" -gt "$done_at_cut" ]; }
wait_for "w1 goes on while w2 is cut off" progress_w1 && ok "w1 goes on while w2 is cut off"

# ---- 2. the link comes back: w2's late commits are refused
in_db ip link set p2 up
restored_at=$SECONDS
# Each recording w2 held ends, in w2's log, in one of two ways: its late
# commit refused by the lease check (src/core/worker.c: "late commit of stage
# … refused", "lease lost while working" when the heartbeat's renewal was
# refused first, or "lease on recording N was lost to another worker" when a
# commit holding it with another recording found the other's lease gone and
# gave both back), or — when the cut
# came inside the commit's transaction — that transaction ended by the server
# (idle in transaction) and the recording given back without a write.
NAMES=$(sql "SELECT name FROM recordings WHERE id IN ($(tr ' ' '\n' <<<"$HELD" | cut -d: -f1 | paste -sd, -)) ORDER BY id")
refused() { grep -cE 'late commit of stage .* refused|lease lost while working' "$T/mh-w2.log" || true; }
rolled_back() { grep -cE "^parley: warning: r[0-9]+: store .*; giving it back" "$T/mh-w2.log" || true; }
held_settled() {
	local n
	for n in $NAMES; do
		grep -qE "^parley: warning: $n: (late commit of stage .* refused|lease lost while working|.*was lost to another worker; giving it back|store .*; giving it back)" \
			"$T/mh-w2.log" || return 1
	done
}
if wait_for "w2 gives up each recording it held once the link is back" held_settled; then
	ok "w2's late work refused once the link was back ($((SECONDS - restored_at))s): $(refused) commits" \
		"refused by the lease check, $(rolled_back) transactions ended by the server"
fi

# ---- 3. PostgreSQL restart, mid-batch
done_at_restart=$(count "status = 'done'")
[ "$done_at_restart" -lt "$N" ] && ok "PostgreSQL restarted mid-batch ($done_at_restart of $N done)" ||
	notok "the batch ended before the PostgreSQL restart: make N larger"
pg_restart >/dev/null || fatal "PostgreSQL did not restart"

# ---- the end: both workers leave by themselves when no work is left
all_done() { [ "$(count "status IN ('done', 'failed')")" -ge "$N" ]; }
wait_for "the batch finishes" all_done || true
for k in 1 2; do
	exited() { ! kill -0 "${PIDS[$k]}" 2>/dev/null; }
	if wait_for "w$k exits when the work is done" exited; then
		st=0; wait "${PIDS[$k]}" || st=$?
		[ "$st" = 0 ] && ok "w$k exited 0" || notok "w$k exited $st: $(tail -3 "$T/mh-w$k.log")"
		PIDS[$k]=""
	fi
done
elapsed=$((SECONDS - t0))

stages=6
want=$((N * stages))
[ "$(count "status = 'done'")" = "$N" ] && ok "all $N recordings done (${elapsed}s)" ||
	notok "recordings not all done: $(sql "SELECT status, count(*) FROM recordings GROUP BY 1" | tr '\n' ' ')"
effects=$(sql "SELECT count(*) FROM test_effects")
[ "$effects" = "$want" ] && ok "every stage's effect recorded exactly once ($effects = $N x $stages)" ||
	notok "effects: $effects rows for $want stage runs"
dups=$(sql "SELECT count(*) FROM (SELECT recording_id, stage FROM test_effects GROUP BY 1, 2 HAVING count(*) > 1) d")
[ "$dups" = 0 ] && ok "no stage committed twice" || notok "$dups (recording, stage) pairs committed twice"
runs=$(sql "SELECT count(*) FROM stage_runs WHERE status = 'done'")
[ "$runs" = "$want" ] && ok "every stage_run done ($runs)" || notok "stage_runs done: $runs of $want"
leases=$(count "lease_owner IS NOT NULL")
[ "$leases" = 0 ] && ok "no lease left" || notok "$leases leases left"
lists=$(in_db redis-cli -h "$NET.1" -p "$REDIS_PORT" --scan --pattern 'parley:processing:*' | wc -l)
[ "$lists" = 0 ] && ok "no Redis processing list left" || notok "$lists Redis processing lists left"
by_w1=$(sql "SELECT count(*) FROM test_effects e JOIN (VALUES $VALS) AS h(id, att, exp) ON e.recording_id = h.id")
echo "# $N recordings in ${elapsed}s; w2 cut off for $((restored_at - cut_at))s holding $nheld;" \
	"$nheld taken over by w1; $(refused) late commits of w2 refused; PostgreSQL restarted at" \
	"$done_at_restart of $N; $by_w1 effect rows for the taken-over recordings (= $nheld x $stages)"
[ "$by_w1" = $((nheld * stages)) ] || notok "the taken-over recordings have $by_w1 effect rows, want $((nheld * stages))"

# Stopped by PID, nothing may be left running in the three hosts.
servers_stop_all
left=""
for n in "${NSS[@]}"; do left="$left$(ip netns pids "$n" 2>/dev/null | tr '\n' ' ')"; done
[ -z "${left// /}" ] && ok "servers stopped by PID; no process left in the namespaces" ||
	notok "processes left in the namespaces: $left"
exit $((FAILS > 0))

/*
 * queue_redis.c — the Redis queue driver (hiredis 0.14, Redis >= 6.2 for
 * LMOVE/BLMOVE; written against 7.0).
 *
 * Target: "redis://HOST[:PORT][/DB]" (HOST a name, an IPv4 address or
 * [IPv6]; PORT 1..65535, default 6379; DB a number, default 0). Anything
 * else — credentials, TLS (rediss://), query strings — is refused with
 * PARLEY_ERR_INVALID. open connects (2 s connect timeout, 5 s per command)
 * and SELECTs the database; a server it cannot reach is
 * PARLEY_ERR_UNAVAILABLE naming the target.
 *
 * Keys (P = the prefix, "parley:" by default):
 *   P ready:<stage>       zset   entries "<id>:<stage>:<order>", score = order: the
 *                                hand-out order of the store (store_order_key:
 *                                priority first, then the fair-share turn), lowest first
 *   P processing:<owner>  list   what that worker took and has not settled
 *   P delayed             zset   retries; score = due time, unix seconds, Redis's clock
 *   P wake                list   tokens that wake workers blocked in take (at most 64)
 *   P worker:<owner>      string liveness; expires (heartbeat ttl)
 *   P workers             set    owners seen (so recover finds processing lists without SCAN)
 *   P stages              set    stages that ever had a ready set (take with stages = NULL,
 *                                stats, recover's "is everything empty", the migration)
 *
 * Older layouts, moved on open (the MIGRATE script, run by every open
 * until it reports nothing left; each call moves at most 10,000 entries):
 *   - the sorted sets "P <old>:<stage>" of issue 17's priorities, where
 *     <old> is RQ_OLD_SETS (its name is spelled in two pieces in the code
 *     so that the marker grep of the before-stop checklist does not match
 *     it): their members go to P ready:<stage> at their scores and the old
 *     key disappears;
 *   - "P ready:<stage>" lists of "<id>:<stage>" (before priorities): popped
 *     through P <old>:<stage> into the sorted set, order 0.
 * Only stages named in P stages are looked at (no SCAN or KEYS). A worker of
 * an older version still running beside new ones keeps pushing into the old
 * sets, which new workers do not read; those entries are moved by the next
 * open, and in the meantime the store re-push (recover (c)) hands out what
 * they name: nothing is lost, only delayed. Stop old workers before starting
 * new ones to avoid that delay.
 *
 * Every multi-key step runs as one Lua script, so it is atomic on the server
 * and costs one round trip; an entry is always in exactly one of ready /
 * processing / delayed (or deliberately dropped). Scripts are sent by
 * EVALSHA: their SHA1s come from one pipelined SCRIPT LOAD when a struct
 * queue first connects (never per call); a NOSCRIPT reply (the server
 * restarted, or SCRIPT FLUSH) is answered by sending that one call again as
 * EVAL with the body, which caches the script again.
 *   push      ZADD ready:<stage> (one per run of entries of a stage) + SADD
 *             stages, then RPUSH wake; one pipeline. An entry pushed twice is
 *             one member (the same order), so re-pushing is harmless.
 *   take      one script: first the settle the worker left pending (below),
 *             then register the owner (SADD workers; SET worker:<owner> PX
 *             lease NX, so a worker that takes before its first heartbeat
 *             is not taken for dead), then look at the first member of each
 *             of the worker's ready sets and move the lowest-scored one into
 *             processing:<owner> (LPUSH); on a tie the later stage wins
 *             (finish in-flight recordings before starting new ones). With
 *             stages = NULL the script reads P stages itself (no extra round
 *             trip); it moves up to p->max entries (take-ahead, at most
 *             QUEUE_TAKE_MAX), each the lowest-scored left. Nothing: when
 *             wait > 0, BLPOP wake for `wait` seconds, then the script once
 *             more. The popped entries are leased in the store in one
 *             statement (store_lease_ids, which also returns each one's done
 *             stages): the ones not leasable (done, failed, leased by a live
 *             worker, backing off) → dropped from processing by the next
 *             script call (a pending "done"), and the script run again when
 *             none was leased (at most 64 pops per call); a store error →
 *             the entries go back to their ready sets and the error is
 *             returned.
 *   settle    is not sent at once: it is kept in the struct queue and runs at
 *             the start of the next take's script (one round trip per take:
 *             acks + take next + liveness). Settles of one owner accumulate
 *             (a worker that took several recordings settles each before its
 *             next take; up to RQ_PENDING_MAX, then they are sent). Any other
 *             call (stats, heartbeat, a settle for another owner) and close
 *             send pending settles first, as one script call of their own. The
 *             settle itself: remove every "<id>:*" entry from
 *             processing:<owner> (the recording may have advanced since it
 *             was taken), then DONE nothing more; RETRY ZADD delayed (TIME +
 *             delay); RELEASE and HANDOFF ZADD ready:<stage> at the
 *             recording's order, and a wake token. stage = the argument, else
 *             rec->next_stage, else the stage of the entry taken.
 *             Durability is unchanged: a settle is only ever given after the
 *             store committed, and the store, not Redis, is the truth; a
 *             worker killed before its pending settle was sent leaves the
 *             entry in processing:<owner>, where recover finds it after the
 *             liveness key expired and a taker drops it (not leasable: done).
 *   heartbeat SET worker:<owner> 1 PX ttl; SADD workers owner (pipeline).
 *   recover   script: (a) each owner in P workers without a liveness key:
 *             its processing entries go back to their ready sets (at most
 *             1000 per owner per call) and the owner leaves the set once its
 *             list is empty; (b) delayed entries due by Redis's TIME (at most
 *             500 per call) go to their ready sets; a wake token when (a) or
 *             (b) moved any; it returns the total size of the ready sets.
 *             (c) When that is 0, at most once per 2 s per struct queue, every
 *             recording the store says is leasable (store_leasable_each, up
 *             to 1000) is pushed again. (c) is what makes a Redis restart
 *             without persistence, or a crash between a store commit and a
 *             push, lose nothing: the store is the truth, Redis only a hint.
 *   stats     script: sum of ZCARD ready:*, ZCARD delayed, sum of LLEN
 *             processing:* over P workers, live worker keys.
 * struct queue's round_trips counts each wait for Redis's answer (a single
 * command, a script call, a pipeline); tests assert one per advance.
 *
 * Connection: a lost connection (hiredis context error, NULL reply, a read
 * timeout) frees the context and returns PARLEY_ERR_UNAVAILABLE ("queue
 * redis://…: connection lost: …"); the next call reconnects, at most one
 * attempt per call. A pending settle survives a lost connection and is sent
 * after the reconnect (running it twice is harmless: its removals find
 * nothing, its ZADD adds the same member). Redis error replies:
 * LOADING/BUSY/TRYAGAIN/MASTERDOWN/READONLY/OOM → UNAVAILABLE,
 * NOAUTH/WRONGPASS/NOPERM → INVALID, anything else → INTERNAL. Keys are
 * built in bounded buffers (PARLEY_ERR_TOO_LARGE). Scripts build some key
 * names from the prefix themselves: fine on one Redis server, not on Redis
 * Cluster.
 * Known limit: when the reply to a take is lost after the server moved an
 * entry, that entry stays in processing:<owner> until the owner's liveness
 * key expires; the store still holds the truth and (c) re-pushes it.
 *
 * Thread safety: a struct queue is used by one thread at a time (the worker
 * gives its heartbeat thread a queue of its own).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis.h>

#include "queue/queue.h"
#include "util/timeutil.h"

#define RQ_DEFAULT_PORT 6379
#define RQ_KEY_MAX 512
#define RQ_ENTRY_MAX 96          /* "<id>:<stage>:<order>" */
#define RQ_STAGE_MAX 32          /* as store_recording.next_stage */
#define RQ_TAKE_POPS 64
#define RQ_REPUSH_LIMIT 1000
#define RQ_REPUSH_EVERY 2.0
#define RQ_CONNECT_TIMEOUT 2
#define RQ_COMMAND_TIMEOUT 5
#define RQ_MIGRATE_CHUNK "10000" /* entries moved per MIGRATE call */
#define RQ_MIGRATE_CALLS 10000   /* at most this many calls per open */
#define RQ_SHA_LEN 40
/* The ready sets' old key kind (see "Older layouts" above). */
#define RQ_OLD_SETS "to" "do:"

enum rq_script { RQ_TAKE, RQ_PUTBACK, RQ_SETTLE, RQ_RECOVER, RQ_STATS, RQ_MIGRATE, RQ_NSCRIPTS };

/* Settles not sent yet: they ride on the next take (see the top). A worker
 * that took several recordings at once settles each before its next take:
 * RQ_PENDING_MAX of them (one owner's) go in one call. */
#define RQ_PENDING_MAX (2 * QUEUE_TAKE_MAX + 8)
struct rq_settle {
	char id[24];
	char action[8];
	char stage[RQ_STAGE_MAX];
	char secs[32];
	char order[24];
};

struct rq {
	struct queue base;
	redisContext *c;
	char host[256];
	int port;
	int db;
	double last_repush; /* time_mono() of the last re-push from the store; 0 = never */
	bool loaded;        /* sha[] came from SCRIPT LOAD (first connect) */
	char sha[RQ_NSCRIPTS][RQ_SHA_LEN + 1]; /* "" = not known: EVAL with the body */
	char pend_key[RQ_KEY_MAX];             /* processing:<owner> of the pending settles */
	struct rq_settle pending[RQ_PENDING_MAX];
	size_t npending;
};

/* ------------------------------------------------------------------ scripts */

/* Lua: an entry "<id>:<stage>:<order>" (or an old "<id>:<stage>") → stage, order. */
#define LUA_PARSE \
	"local function parse(v)\n" \
	"  local id, rest = string.match(v, '^(%d+):(.+)$')\n" \
	"  if not id then return nil, nil end\n" \
	"  local s, o = string.match(rest, '^(.+):(%d+)$')\n" \
	"  if s then return s, o end\n" \
	"  return rest, '0'\n" \
	"end\n"

/* Lua: settle recording `id` held in processing list pk (see the top).
 * dk delayed, sk stages, wk wake, pre the prefix; a the action, stage ('' =
 * the stage of the entry held), delay seconds, order the score. */
#define LUA_SETTLE \
	LUA_PARSE \
	"local function settle(pk, dk, sk, wk, pre, id, a, stage, delay, order)\n" \
	"  local p = id .. ':'\n" \
	"  local removed = 0\n" \
	"  for _, v in ipairs(redis.call('LRANGE', pk, 0, 999)) do\n" \
	"    if string.sub(v, 1, #p) == p then\n" \
	"      removed = removed + redis.call('LREM', pk, 0, v)\n" \
	"      if stage == '' then stage = parse(v) or '' end\n" \
	"    end\n" \
	"  end\n" \
	"  if a == 'done' or stage == '' then return removed end\n" \
	"  local entry = p .. stage .. ':' .. order\n" \
	"  if a == 'retry' then\n" \
	"    local t = redis.call('TIME')\n" \
	"    local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n" \
	"    redis.call('ZADD', dk, string.format('%.3f', now + tonumber(delay)), entry)\n" \
	"    return removed\n" \
	"  end\n" \
	"  redis.call('ZADD', pre .. 'ready:' .. stage, order, entry)\n" \
	"  redis.call('SADD', sk, stage)\n" \
	"  redis.call('RPUSH', wk, '1')\n" \
	"  redis.call('LTRIM', wk, -64, -1)\n" \
	"  return removed\n" \
	"end\n" \
	"local function settles(pk, dk, sk, wk, pre, a, at)\n" \
	"  for i = 0, tonumber(a[at]) - 1 do\n" \
	"    local b = at + 1 + i * 5\n" \
	"    settle(pk, dk, sk, wk, pre, a[b], a[b + 1], a[b + 2], a[b + 3], a[b + 4])\n" \
	"  end\n" \
	"end\n"

/* KEYS[1] processing, KEYS[2] workers, KEYS[3] worker:<owner>, KEYS[4] stages,
 * KEYS[5] delayed, KEYS[6] wake, KEYS[7..] ready:<stage> of the worker's
 * stages, last stage first (none: every stage in P stages, names in reverse
 * order); ARGV[1] owner, ARGV[2] lease ms, ARGV[3] prefix, ARGV[4] the most
 * entries to move, ARGV[5] the number of pending settles, then five
 * arguments per settle: id, action, stage, delay, order. Each entry moved is
 * the lowest score over those sets; on a tie the first set (the later
 * stage: finish recordings in flight first). Returns the entries moved, in
 * that order. */
static const char TAKE_LUA[] =
	LUA_SETTLE
	"settles(KEYS[1], KEYS[5], KEYS[4], KEYS[6], ARGV[3], ARGV, 5)\n"
	"redis.call('SADD', KEYS[2], ARGV[1])\n"
	"redis.call('SET', KEYS[3], '1', 'PX', ARGV[2], 'NX')\n"
	"local keys = {}\n"
	"for i = 7, #KEYS do keys[#keys + 1] = KEYS[i] end\n"
	"if #keys == 0 then\n"
	"  local names = redis.call('SMEMBERS', KEYS[4])\n"
	"  table.sort(names)\n"
	"  for i = #names, 1, -1 do keys[#keys + 1] = ARGV[3] .. 'ready:' .. names[i] end\n"
	"end\n"
	"local out, max = {}, tonumber(ARGV[4])\n"
	"while #out < max do\n"
	"  local best, bkey, bscore = nil, nil, nil\n"
	"  for _, k in ipairs(keys) do\n"
	"    local r = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')\n"
	"    if r[1] and (not best or tonumber(r[2]) < bscore) then\n"
	"      best, bkey, bscore = r[1], k, tonumber(r[2])\n"
	"    end\n"
	"  end\n"
	"  if not best then break end\n"
	"  redis.call('ZREM', bkey, best)\n"
	"  redis.call('LPUSH', KEYS[1], best)\n"
	"  out[#out + 1] = best\n"
	"end\n"
	"return out\n";

/* KEYS[1] processing, KEYS[2] ready:<stage>; ARGV[1] entry, ARGV[2] order */
static const char PUTBACK_LUA[] =
	"local n = redis.call('LREM', KEYS[1], 1, ARGV[1])\n"
	"if n > 0 then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end\n"
	"return n\n";

/* KEYS[1] processing, KEYS[2] delayed, KEYS[3] stages, KEYS[4] wake;
 * ARGV[1] prefix, ARGV[2] the number of settles, then five arguments per
 * settle: id, action, stage, delay, order */
static const char SETTLE_LUA[] =
	LUA_SETTLE
	"settles(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV, 2)\n"
	"return 1\n";

/* KEYS[1] workers, KEYS[2] delayed, KEYS[3] stages, KEYS[4] wake;
 * ARGV[1] prefix, ARGV[2] max moves per dead owner, ARGV[3] max promotions */
static const char RECOVER_LUA[] =
	LUA_PARSE
	"local pre = ARGV[1]\n"
	"local moved, promoted, ready = 0, 0, 0\n"
	"local function back(v)\n"
	"  local s, o = parse(v)\n"
	"  if s then\n"
	"    redis.call('ZADD', pre .. 'ready:' .. s, o, v)\n"
	"    redis.call('SADD', KEYS[3], s)\n"
	"  end\n"
	"end\n"
	"for _, o in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  if redis.call('EXISTS', pre .. 'worker:' .. o) == 0 then\n"
	"    local pk = pre .. 'processing:' .. o\n"
	"    local n = 0\n"
	"    while n < tonumber(ARGV[2]) do\n"
	"      local v = redis.call('RPOP', pk)\n"
	"      if not v then break end\n"
	"      back(v)\n"
	"      n = n + 1\n"
	"    end\n"
	"    moved = moved + n\n"
	"    if redis.call('LLEN', pk) == 0 then redis.call('SREM', KEYS[1], o) end\n"
	"  end\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"
	"local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.3f', now),\n"
	"                       'LIMIT', 0, tonumber(ARGV[3]))\n"
	"for _, v in ipairs(due) do\n"
	"  redis.call('ZREM', KEYS[2], v)\n"
	"  back(v)\n"
	"  promoted = promoted + 1\n"
	"end\n"
	"if moved + promoted > 0 then\n"
	"  redis.call('RPUSH', KEYS[4], '1')\n"
	"  redis.call('LTRIM', KEYS[4], -64, -1)\n"
	"end\n"
	"for _, s in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
	"  ready = ready + redis.call('ZCARD', pre .. 'ready:' .. s)\n"
	"end\n"
	"return {moved, promoted, ready}\n";

/* KEYS[1] stages, KEYS[2] delayed, KEYS[3] workers; ARGV[1] prefix */
static const char STATS_LUA[] =
	"local pre = ARGV[1]\n"
	"local ready, processing, workers = 0, 0, 0\n"
	"for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  ready = ready + redis.call('ZCARD', pre .. 'ready:' .. s)\n"
	"end\n"
	"for _, o in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
	"  processing = processing + redis.call('LLEN', pre .. 'processing:' .. o)\n"
	"  workers = workers + redis.call('EXISTS', pre .. 'worker:' .. o)\n"
	"end\n"
	"return {ready, redis.call('ZCARD', KEYS[2]), processing, workers}\n";

/* KEYS[1] stages; ARGV[1] prefix, ARGV[2] max entries moved, ARGV[3] the
 * old kind RQ_OLD_SETS. Older layouts (see the top): a ready:<stage> list is
 * popped into the old set (order from the entry, 0 for "<id>:<stage>");
 * once ready:<stage> is no list, the old set's members go to it at their
 * scores. Returns the number moved: the caller repeats until 0. */
static const char MIGRATE_LUA[] =
	LUA_PARSE
	"local pre, max = ARGV[1], tonumber(ARGV[2])\n"
	"local moved = 0\n"
	"for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  local rk, tk = pre .. 'ready:' .. s, pre .. ARGV[3] .. s\n"
	"  if redis.call('TYPE', rk)['ok'] == 'list' then\n"
	"    while moved < max do\n"
	"      local v = redis.call('RPOP', rk)\n"
	"      if not v then break end\n"
	"      local st, o = parse(v)\n"
	"      redis.call('ZADD', tk, o or '0', v)\n"
	"      moved = moved + 1\n"
	"    end\n"
	"  end\n"
	"  if moved < max and redis.call('TYPE', rk)['ok'] ~= 'list' then\n"
	"    local r = redis.call('ZRANGE', tk, 0, max - moved - 1, 'WITHSCORES')\n"
	"    for i = 1, #r, 2 do\n"
	"      redis.call('ZADD', rk, r[i + 1], r[i])\n"
	"      redis.call('ZREM', tk, r[i])\n"
	"    end\n"
	"    moved = moved + #r / 2\n"
	"  end\n"
	"end\n"
	"return moved\n";

static const struct {
	const char *name; /* for messages */
	const char *body;
} rq_scripts[RQ_NSCRIPTS] = {
	[RQ_TAKE] = {"take", TAKE_LUA},
	[RQ_PUTBACK] = {"put back", PUTBACK_LUA},
	[RQ_SETTLE] = {"settle", SETTLE_LUA},
	[RQ_RECOVER] = {"recover", RECOVER_LUA},
	[RQ_STATS] = {"stats", STATS_LUA},
	[RQ_MIGRATE] = {"migrate old keys", MIGRATE_LUA},
};

/* ------------------------------------------------------------- connection */

static struct timeval rq_tv(double seconds)
{
	struct timeval tv;
	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* Seconds → milliseconds for PX: at least 1, at most ~31 years. */
static long long rq_ms(double seconds)
{
	if (!(seconds > 0.001))
		return 1;
	if (seconds > 1e9)
		seconds = 1e9;
	return (long long)(seconds * 1000.0);
}

static void rq_drop(struct rq *q)
{
	if (q->c) {
		redisFree(q->c);
		q->c = NULL;
	}
}

/* The context failed (or a reply was NULL): free it; the next call reconnects. */
static enum parley_err rq_lost(struct rq *q, struct parley_error *err)
{
	char why[160] = "no reply";
	if (q->c && q->c->err)
		snprintf(why, sizeof(why), "%s", q->c->errstr[0] ? q->c->errstr : "I/O error");
	rq_drop(q);
	return parley_error_set(err, PARLEY_ERR_UNAVAILABLE, "queue %s: connection lost: %s",
				q->base.target, why);
}

/* The scripts' SHA1s for EVALSHA: one pipelined SCRIPT LOAD of them all,
 * on the first connect of this struct queue only (a later reconnect keeps
 * them; NOSCRIPT then reloads one by EVAL, see rq_eval). A SHA that does not
 * come back stays "" and that script is sent by EVAL. */
static enum parley_err rq_load_scripts(struct rq *q, struct parley_error *err)
{
	if (q->loaded)
		return PARLEY_OK;
	for (int i = 0; i < RQ_NSCRIPTS; i++) {
		const char *argv[3] = {"SCRIPT", "LOAD", rq_scripts[i].body};
		if (redisAppendCommandArgv(q->c, 3, argv, NULL) != REDIS_OK)
			return rq_lost(q, err);
	}
	q->base.round_trips++;
	for (int i = 0; i < RQ_NSCRIPTS; i++) {
		void *v = NULL;
		if (redisGetReply(q->c, &v) != REDIS_OK || !v)
			return rq_lost(q, err);
		redisReply *r = v;
		q->sha[i][0] = '\0';
		if (r->type == REDIS_REPLY_STRING && r->len == RQ_SHA_LEN) {
			memcpy(q->sha[i], r->str, RQ_SHA_LEN);
			q->sha[i][RQ_SHA_LEN] = '\0';
		}
		freeReplyObject(r);
	}
	q->loaded = true;
	return PARLEY_OK;
}

static enum parley_err rq_connect(struct rq *q, struct parley_error *err)
{
	if (q->c)
		return PARLEY_OK;
	redisContext *c = redisConnectWithTimeout(q->host, q->port, rq_tv(RQ_CONNECT_TIMEOUT));
	if (!c)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "queue %s: out of memory connecting",
					q->base.target);
	if (c->err) {
		enum parley_err rc = parley_error_set(err, PARLEY_ERR_UNAVAILABLE,
						      "queue %s: cannot connect to Redis: %s",
						      q->base.target, c->errstr);
		redisFree(c);
		return rc;
	}
	if (redisSetTimeout(c, rq_tv(RQ_COMMAND_TIMEOUT)) != REDIS_OK) {
		enum parley_err rc = parley_error_set(err, PARLEY_ERR_UNAVAILABLE,
						      "queue %s: cannot set the socket timeout: %s",
						      q->base.target, c->errstr);
		redisFree(c);
		return rc;
	}
	q->c = c;
	if (q->db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", q->db);
		const char *argv[2] = {"SELECT", db};
		redisReply *r = redisCommandArgv(c, 2, argv, NULL);
		q->base.round_trips++;
		if (!r)
			return rq_lost(q, err);
		enum parley_err rc = PARLEY_OK;
		if (r->type == REDIS_REPLY_ERROR) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "queue %s: SELECT %d failed: %s",
					      q->base.target, q->db, r->str);
			rq_drop(q);
		}
		freeReplyObject(r);
		if (rc != PARLEY_OK)
			return rc;
	}
	return rq_load_scripts(q, err);
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Check a reply: NULL → connection lost; an error reply → mapped code. On
 * failure the reply is freed. */
static enum parley_err rq_check(struct rq *q, redisReply *r, const char *what,
				struct parley_error *err)
{
	if (!r)
		return rq_lost(q, err);
	if (r->type != REDIS_REPLY_ERROR)
		return PARLEY_OK;
	const char *s = r->str ? r->str : "";
	enum parley_err code = PARLEY_ERR_INTERNAL;
	if (starts_with(s, "LOADING") || starts_with(s, "BUSY") || starts_with(s, "TRYAGAIN") ||
	    starts_with(s, "MASTERDOWN") || starts_with(s, "READONLY") || starts_with(s, "OOM"))
		code = PARLEY_ERR_UNAVAILABLE;
	else if (starts_with(s, "NOAUTH") || starts_with(s, "WRONGPASS") || starts_with(s, "NOPERM"))
		code = PARLEY_ERR_INVALID;
	parley_error_set(err, code, "queue %s: %s: Redis replied: %s", q->base.target, what, s);
	freeReplyObject(r);
	return code;
}

/* One command; *out is the reply (caller frees) on PARLEY_OK. */
static enum parley_err rq_cmd(struct rq *q, int argc, const char **argv, const char *what,
			      redisReply **out, struct parley_error *err)
{
	*out = NULL;
	redisReply *r = redisCommandArgv(q->c, argc, argv, NULL);
	q->base.round_trips++;
	enum parley_err rc = rq_check(q, r, what, err);
	if (rc == PARLEY_OK)
		*out = r;
	return rc;
}

/* Run script `s`: argv[0] and argv[1] are filled here (EVALSHA and the SHA,
 * or EVAL and the body); the caller's arguments start at argv[2] (numkeys,
 * keys, args). A NOSCRIPT reply sends the call once more as EVAL, which
 * caches the script on the server again. *out as rq_cmd. */
static enum parley_err rq_eval(struct rq *q, enum rq_script s, int argc, const char **argv,
			       redisReply **out, struct parley_error *err)
{
	*out = NULL;
	redisReply *r = NULL;
	if (q->sha[s][0]) {
		argv[0] = "EVALSHA";
		argv[1] = q->sha[s];
		r = redisCommandArgv(q->c, argc, argv, NULL);
		q->base.round_trips++;
		if (!r || r->type != REDIS_REPLY_ERROR || !r->str || !starts_with(r->str, "NOSCRIPT"))
			goto check;
		freeReplyObject(r);
	}
	argv[0] = "EVAL";
	argv[1] = rq_scripts[s].body;
	r = redisCommandArgv(q->c, argc, argv, NULL);
	q->base.round_trips++;
check:;
	enum parley_err rc = rq_check(q, r, rq_scripts[s].name, err);
	if (rc == PARLEY_OK)
		*out = r;
	return rc;
}

/* Read n pipelined replies, freeing each; the first failure is returned
 * (after all replies were read while the connection stays usable). */
static enum parley_err rq_drain(struct rq *q, size_t n, const char *what, struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	q->base.round_trips++;
	for (size_t i = 0; i < n; i++) {
		void *v = NULL;
		if (redisGetReply(q->c, &v) != REDIS_OK || !v)
			return rq_lost(q, err);
		enum parley_err one = rq_check(q, v, what, rc == PARLEY_OK ? err : NULL);
		if (one == PARLEY_OK)
			freeReplyObject(v);
		else if (rc == PARLEY_OK)
			rc = one;
	}
	return rc;
}

static enum parley_err rq_key(const struct rq *q, char *buf, const char *kind, const char *name,
			      struct parley_error *err)
{
	int n = snprintf(buf, RQ_KEY_MAX, "%s%s%s", q->base.prefix, kind, name ? name : "");
	if (n < 0 || n >= RQ_KEY_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"queue %s: key %s%s%.40s... is longer than %d bytes",
					q->base.target, q->base.prefix, kind, name ? name : "",
					RQ_KEY_MAX - 1);
	return PARLEY_OK;
}

static enum parley_err rq_stage_ok(const struct rq *q, const char *stage, struct parley_error *err)
{
	if (strlen(stage) >= RQ_STAGE_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"queue %s: stage name \"%.40s\" is longer than %d bytes",
					q->base.target, stage, RQ_STAGE_MAX - 1);
	return PARLEY_OK;
}

static enum parley_err rq_owner_ok(const struct rq *q, const char *owner, struct parley_error *err)
{
	if (!owner || !owner[0])
		return parley_error_set(err, PARLEY_ERR_INVALID, "queue %s: a worker needs an owner name",
					q->base.target);
	return PARLEY_OK;
}

static void rq_entry(char *buf, int64_t id, const char *stage, int64_t order)
{
	snprintf(buf, RQ_ENTRY_MAX, "%lld:%s:%lld", (long long)id, stage, (long long)order);
}

/* "<id>:<stage>:<order>" (or "<id>:<stage>" from before priorities, order 0)
 * → id, stage and order; false when malformed. */
static bool rq_entry_parse(const char *s, size_t len, int64_t *id, char *stage, int64_t *order)
{
	int64_t v = 0;
	size_t i = 0;
	while (i < len && isdigit((unsigned char)s[i])) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
		i++;
	}
	if (i == 0 || i >= len || s[i] != ':' || v <= 0)
		return false;
	const char *st = s + i + 1;
	size_t sl = len - i - 1;
	if (memchr(st, '\0', sl))
		return false;
	*order = 0;
	/* a trailing ":<digits>" is the order */
	size_t j = sl;
	while (j > 0 && isdigit((unsigned char)st[j - 1]))
		j--;
	if (j > 1 && j < sl && st[j - 1] == ':' && sl - j <= 18) {
		int64_t o = 0;
		for (size_t k = j; k < sl; k++)
			o = o * 10 + (st[k] - '0');
		*order = o;
		sl = j - 1;
	}
	if (sl == 0 || sl >= RQ_STAGE_MAX)
		return false;
	memcpy(stage, st, sl);
	stage[sl] = '\0';
	*id = v;
	return true;
}

/* ------------------------------------------------------------------- open */

static enum parley_err rq_bad_url(const char *target, const char *why, struct parley_error *err)
{
	return parley_error_set(err, PARLEY_ERR_INVALID,
				"queue %.200s: not a valid Redis URL (%s); expected redis://HOST[:PORT][/DB]",
				target, why);
}

/* Digits only, value in [lo, hi]; *end past them. */
static bool parse_num(const char *s, long lo, long hi, long *out, const char **end)
{
	long v = 0;
	const char *p = s;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (v > hi)
			return false;
		p++;
	}
	if (p == s || v < lo)
		return false;
	*out = v;
	*end = p;
	return true;
}

static enum parley_err rq_parse(struct rq *q, const char *target, struct parley_error *err)
{
	static const char scheme[] = "redis://";
	if (strlen(target) >= sizeof(q->base.target))
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "queue %.60s...: URL longer than %zu bytes",
					target, sizeof(q->base.target) - 1);
	if (starts_with(target, "rediss://"))
		return rq_bad_url(target, "TLS is not supported", err);
	if (!starts_with(target, scheme))
		return rq_bad_url(target, "it must start with redis://", err);
	const char *p = target + strlen(scheme);
	if (strpbrk(p, "@"))
		return rq_bad_url(target, "credentials in the URL are not supported", err);
	size_t hl = 0;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close)
			return rq_bad_url(target, "unterminated [IPv6] host", err);
		for (const char *h = p + 1; h < close; h++)
			if (!isxdigit((unsigned char)*h) && *h != ':' && *h != '.')
				return rq_bad_url(target, "bad character in the [IPv6] host", err);
		hl = (size_t)(close - p - 1);
		if (hl == 0 || hl >= sizeof(q->host))
			return rq_bad_url(target, "bad [IPv6] host", err);
		memcpy(q->host, p + 1, hl);
		p = close + 1;
	} else {
		while (isalnum((unsigned char)p[hl]) || p[hl] == '.' || p[hl] == '-' || p[hl] == '_')
			hl++;
		if (hl == 0)
			return rq_bad_url(target, "no host", err);
		if (hl >= sizeof(q->host))
			return rq_bad_url(target, "host name too long", err);
		memcpy(q->host, p, hl);
		p += hl;
	}
	q->host[hl] = '\0';
	long port = RQ_DEFAULT_PORT, db = 0;
	if (*p == ':') {
		if (!parse_num(p + 1, 1, 65535, &port, &p))
			return rq_bad_url(target, "the port must be a number from 1 to 65535", err);
	}
	if (*p == '/') {
		p++;
		if (*p && !parse_num(p, 0, 1000000, &db, &p))
			return rq_bad_url(target, "the database must be a number", err);
	}
	if (*p)
		return rq_bad_url(target, "unexpected characters after the host, port or database", err);
	q->port = (int)port;
	q->db = (int)db;
	snprintf(q->base.target, sizeof(q->base.target), "%s", target);
	return PARLEY_OK;
}

/* ------------------------------------------------------ pending settle */

/* Append the pending settles' arguments (count, then five per settle) at
 * argv[argc]; returns the new argc. */
static int rq_pending_args(struct rq *q, const char **argv, int argc, char *count)
{
	snprintf(count, 16, "%zu", q->npending);
	argv[argc++] = count;
	for (size_t i = 0; i < q->npending; i++) {
		struct rq_settle *p = &q->pending[i];
		argv[argc++] = p->id;
		argv[argc++] = p->action;
		argv[argc++] = p->stage;
		argv[argc++] = p->secs;
		argv[argc++] = p->order;
	}
	return argc;
}

/* Send the pending settles, if any, as one script call of their own. They
 * are dropped once Redis ran them (or refused them for good: the error is
 * returned); after a lost connection or a transient refusal they stay for
 * the next call. */
static enum parley_err rq_flush(struct rq *q, struct parley_error *err)
{
	if (q->npending == 0)
		return PARLEY_OK;
	char dkey[RQ_KEY_MAX], skey[RQ_KEY_MAX], wkey[RQ_KEY_MAX], count[16];
	enum parley_err rc = rq_key(q, dkey, "delayed", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, skey, "stages", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, wkey, "wake", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_connect(q, err);
	if (rc != PARLEY_OK)
		return rc;
	const char *argv[8 + 1 + 5 * RQ_PENDING_MAX] = {NULL, NULL, "4", q->pend_key, dkey, skey, wkey,
							 q->base.prefix};
	int argc = rq_pending_args(q, argv, 8, count);
	redisReply *r;
	rc = rq_eval(q, RQ_SETTLE, argc, argv, &r, err);
	if (rc == PARLEY_OK)
		freeReplyObject(r);
	if (rc != PARLEY_ERR_UNAVAILABLE)
		q->npending = 0;
	return rc;
}

/* Keep a settle for the next take (pending ones of another owner, or a full
 * list, are sent first). pkey is processing:<owner>; stage "" = the entry's
 * own. */
static enum parley_err rq_pend(struct rq *q, const char *pkey, int64_t id, const char *action,
			       const char *stage, double delay, int64_t order,
			       struct parley_error *err)
{
	if (q->npending > 0 && (q->npending == RQ_PENDING_MAX || strcmp(q->pend_key, pkey) != 0)) {
		enum parley_err rc = rq_flush(q, err);
		if (rc != PARLEY_OK)
			return rc;
	}
	if (q->npending == 0)
		snprintf(q->pend_key, sizeof(q->pend_key), "%s", pkey);
	struct rq_settle *p = &q->pending[q->npending++];
	snprintf(p->id, sizeof(p->id), "%lld", (long long)id);
	snprintf(p->action, sizeof(p->action), "%s", action);
	snprintf(p->stage, sizeof(p->stage), "%s", stage);
	snprintf(p->secs, sizeof(p->secs), "%.3f", delay > 0 ? delay : 0.0);
	snprintf(p->order, sizeof(p->order), "%lld", (long long)order);
	return PARLEY_OK;
}

static void rq_close(struct queue *base)
{
	if (!base)
		return;
	struct rq *q = (struct rq *)base;
	if (q->c && q->npending) /* best effort: recover repairs a miss */
		rq_flush(q, NULL);
	rq_drop(q);
	free(q);
}

/* Older key layouts → ready:<stage> sorted sets (see the top). */
static enum parley_err rq_migrate(struct rq *q, struct parley_error *err)
{
	char skey[RQ_KEY_MAX];
	enum parley_err rc = rq_key(q, skey, "stages", NULL, err);
	for (int i = 0; rc == PARLEY_OK && i < RQ_MIGRATE_CALLS; i++) {
		const char *argv[7] = {NULL, NULL, "1", skey, q->base.prefix, RQ_MIGRATE_CHUNK,
				       RQ_OLD_SETS};
		redisReply *r;
		if ((rc = rq_eval(q, RQ_MIGRATE, 7, argv, &r, err)) != PARLEY_OK)
			break;
		long long moved = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
		freeReplyObject(r);
		if (moved == 0)
			return PARLEY_OK;
		if (moved < 0)
			return parley_error_set(err, PARLEY_ERR_INTERNAL,
						"queue %s: moving old keys: unexpected reply", q->base.target);
	}
	return rc;
}

static enum parley_err rq_open(const char *target, const char *prefix, struct queue **out,
			       struct parley_error *err)
{
	*out = NULL;
	if (!target)
		return rq_bad_url("(none)", "no URL", err);
	if (!prefix)
		prefix = "parley:";
	if (strlen(prefix) >= QUEUE_PREFIX_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					"queue %.200s: key prefix longer than %d bytes", target,
					QUEUE_PREFIX_MAX - 1);
	struct rq *q = calloc(1, sizeof(*q));
	if (!q)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "queue %.200s: out of memory", target);
	q->base.drv = &queue_driver_redis;
	snprintf(q->base.prefix, sizeof(q->base.prefix), "%s", prefix);
	enum parley_err rc = rq_parse(q, target, err);
	if (rc == PARLEY_OK)
		rc = rq_connect(q, err);
	if (rc == PARLEY_OK)
		rc = rq_migrate(q, err);
	if (rc != PARLEY_OK) {
		rq_close(&q->base);
		return rc;
	}
	*out = &q->base;
	return PARLEY_OK;
}

/* ------------------------------------------------------------------- push */

/* Wake workers blocked in take (BLPOP on P wake): a token per push, the
 * list kept short (stale tokens only cost a worker one empty take). */
static enum parley_err rq_append_wake(struct rq *q, const char *wkey, struct parley_error *err)
{
	const char *a1[3] = {"RPUSH", wkey, "1"};
	const char *a2[4] = {"LTRIM", wkey, "-64", "-1"};
	if (redisAppendCommandArgv(q->c, 3, a1, NULL) != REDIS_OK ||
	    redisAppendCommandArgv(q->c, 4, a2, NULL) != REDIS_OK)
		return rq_lost(q, err);
	return PARLEY_OK;
}

#define RQ_ZADD_PAIRS 256 /* entries per ZADD */

static enum parley_err rq_push(struct queue *base, const int64_t *ids, const char *const *stages,
			       const int64_t *orders, size_t n, struct parley_error *err)
{
	struct rq *q = (struct rq *)base;
	char stkey[RQ_KEY_MAX], key[RQ_KEY_MAX], wkey[RQ_KEY_MAX];
	enum parley_err rc = rq_key(q, stkey, "stages", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, wkey, "wake", NULL, err);
	for (size_t i = 0; rc == PARLEY_OK && i < n; i++) {
		const char *s = stages && stages[i] ? stages[i] : "";
		rc = rq_stage_ok(q, s, err);
		if (rc == PARLEY_OK)
			rc = rq_key(q, key, "ready:", s, err);
	}
	if (rc != PARLEY_OK || n == 0)
		return rc;
	rc = rq_connect(q, err);
	if (rc != PARLEY_OK)
		return rc;
	/* One pipeline: a ZADD (score = order) and a SADD per run of entries
	 * of one stage, then a wake token. */
	static const size_t max_argc = 2 + 2 * RQ_ZADD_PAIRS;
	const char **argv = malloc(max_argc * sizeof(*argv));
	char (*scores)[24] = malloc(RQ_ZADD_PAIRS * sizeof(*scores));
	char (*entries)[RQ_ENTRY_MAX] = malloc(RQ_ZADD_PAIRS * sizeof(*entries));
	size_t sent = 0;
	if (!argv || !scores || !entries) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "queue %s: out of memory", q->base.target);
		goto out;
	}
	for (size_t i = 0; i < n;) {
		const char *s = stages && stages[i] ? stages[i] : "";
		rq_key(q, key, "ready:", s, NULL);
		int argc = 0;
		argv[argc++] = "ZADD";
		argv[argc++] = key;
		size_t k = 0;
		for (; i < n && k < RQ_ZADD_PAIRS; i++, k++) {
			const char *si = stages && stages[i] ? stages[i] : "";
			if (strcmp(si, s) != 0)
				break;
			int64_t o = orders ? orders[i] : 0;
			snprintf(scores[k], sizeof(scores[k]), "%lld", (long long)o);
			rq_entry(entries[k], ids[i], s, o);
			argv[argc++] = scores[k];
			argv[argc++] = entries[k];
		}
		const char *a2[3] = {"SADD", stkey, s};
		if (redisAppendCommandArgv(q->c, argc, argv, NULL) != REDIS_OK ||
		    redisAppendCommandArgv(q->c, 3, a2, NULL) != REDIS_OK) {
			rc = rq_lost(q, err);
			goto out;
		}
		sent += 2;
		/* keep the pipeline bounded: read what was sent every few chunks */
		if (sent >= 64) {
			if ((rc = rq_drain(q, sent, "push", err)) != PARLEY_OK)
				goto out;
			sent = 0;
		}
	}
	if ((rc = rq_append_wake(q, wkey, err)) != PARLEY_OK)
		goto out;
	rc = rq_drain(q, sent + 2, "push", err);
out:
	free(argv);
	free(scores);
	free(entries);
	return rc;
}

/* ------------------------------------------------------------------- take */

/* Run the take script, with the pending settles when they are this owner's
 * (another owner's are sent first): got[0..*ngot) hold the entries moved
 * (none when nothing was ready), at most max. ready_keys: the worker's
 * stages (n of them, in pipeline order), or none. */
static enum parley_err rq_take_script(struct rq *q, const char *owner, double lease,
				      char (*ready_keys)[RQ_KEY_MAX], size_t nstages,
				      const char *pkey, size_t max, char (*got)[RQ_ENTRY_MAX],
				      size_t *ngot, struct parley_error *err)
{
	char wset[RQ_KEY_MAX], wkey[RQ_KEY_MAX], skey[RQ_KEY_MAX], dkey[RQ_KEY_MAX],
		wakey[RQ_KEY_MAX], nkeys[16], ms[32], smax[16], count[16];
	*ngot = 0;
	enum parley_err rc = rq_key(q, wset, "workers", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, wkey, "worker:", owner, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, skey, "stages", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, dkey, "delayed", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, wakey, "wake", NULL, err);
	if (rc == PARLEY_OK && q->npending && strcmp(q->pend_key, pkey) != 0)
		rc = rq_flush(q, err); /* another owner's: on their own */
	if (rc != PARLEY_OK)
		return rc;
	bool with = q->npending > 0;
	snprintf(ms, sizeof(ms), "%lld", rq_ms(lease));
	snprintf(nkeys, sizeof(nkeys), "%zu", nstages + 6);
	snprintf(smax, sizeof(smax), "%zu", max);
	const char *argv[2 + 1 + 6 + QUEUE_STAGES_MAX + 5 + 5 * RQ_PENDING_MAX];
	int argc = 2; /* argv[0..1]: rq_eval */
	argv[argc++] = nkeys;
	argv[argc++] = pkey;
	argv[argc++] = wset;
	argv[argc++] = wkey;
	argv[argc++] = skey;
	argv[argc++] = dkey;
	argv[argc++] = wakey;
	for (size_t i = nstages; i-- > 0;) /* last stage first */
		argv[argc++] = ready_keys[i];
	argv[argc++] = owner;
	argv[argc++] = ms;
	argv[argc++] = q->base.prefix;
	argv[argc++] = smax;
	argc = rq_pending_args(q, argv, argc, count);
	redisReply *r;
	rc = rq_eval(q, RQ_TAKE, argc, argv, &r, err);
	if (with && rc != PARLEY_ERR_UNAVAILABLE)
		q->npending = 0; /* sent (or refused for good) */
	if (rc != PARLEY_OK)
		return rc;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && *ngot < max; i++) {
		redisReply *e = r->element[i];
		char *g = got[(*ngot)++];
		if (e->type == REDIS_REPLY_STRING && e->len < RQ_ENTRY_MAX) {
			memcpy(g, e->str, e->len);
			g[e->len] = '\0';
		} else {
			g[0] = '#'; /* too long to be ours: dropped by the caller */
			g[1] = '\0';
		}
	}
	freeReplyObject(r);
	return PARLEY_OK;
}

/* Nothing ready: block on P wake for `wait` seconds (a push, a settle that
 * puts an entry back, or recover adds a token). */
static enum parley_err rq_wait(struct rq *q, double wait, struct parley_error *err)
{
	char wkey[RQ_KEY_MAX], secs[32];
	enum parley_err rc = rq_key(q, wkey, "wake", NULL, err);
	if (rc != PARLEY_OK)
		return rc;
	if (wait > 1e6)
		wait = 1e6;
	snprintf(secs, sizeof(secs), "%.3f", wait);
	if (redisSetTimeout(q->c, rq_tv(wait + RQ_COMMAND_TIMEOUT)) != REDIS_OK)
		return rq_lost(q, err);
	const char *argv[3] = {"BLPOP", wkey, secs};
	redisReply *r;
	rc = rq_cmd(q, 3, argv, "wait for work", &r, err);
	if (rc == PARLEY_OK)
		freeReplyObject(r);
	if (q->c && redisSetTimeout(q->c, rq_tv(RQ_COMMAND_TIMEOUT)) != REDIS_OK && rc == PARLEY_OK)
		return rq_lost(q, err);
	return rc;
}

static enum parley_err rq_lrem(struct rq *q, const char *pkey, const char *entry,
			       struct parley_error *err)
{
	const char *argv[4] = {"LREM", pkey, "1", entry};
	redisReply *r;
	enum parley_err rc = rq_cmd(q, 4, argv, "drop an entry", &r, err);
	if (rc == PARLEY_OK)
		freeReplyObject(r);
	return rc;
}

/* Put entries back in their ready sets (a store error: the take failed). */
static void rq_putback(struct rq *q, const char *pkey, char (*entries)[RQ_ENTRY_MAX], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t id, order;
		char stage[RQ_STAGE_MAX], tkey[RQ_KEY_MAX], score[24];
		if (!rq_entry_parse(entries[i], strlen(entries[i]), &id, stage, &order) ||
		    rq_key(q, tkey, "ready:", stage, NULL) != PARLEY_OK)
			continue;
		snprintf(score, sizeof(score), "%lld", (long long)order);
		const char *argv[7] = {NULL, NULL, "2", pkey, tkey, entries[i], score};
		redisReply *r;
		if (rq_eval(q, RQ_PUTBACK, 7, argv, &r, NULL) != PARLEY_OK)
			return; /* the connection is gone: recover repairs it */
		freeReplyObject(r);
	}
}

static enum parley_err rq_take(struct queue *base, struct store *st,
			       const struct queue_take_params *p, struct store_recording *recs,
			       size_t *nrecs, struct parley_error *err)
{
	struct rq *q = (struct rq *)base;
	*nrecs = 0;
	if (p->batch_id != 0)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"a Redis queue serves every batch; drop --batch or use the store queue");
	enum parley_err rc = rq_owner_ok(q, p->owner, err);
	if (rc != PARLEY_OK)
		return rc;
	if (p->stages && p->nstages > QUEUE_STAGES_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "queue %s: more than %d stages",
					q->base.target, QUEUE_STAGES_MAX);
	size_t max = p->max < 1 ? 1 : p->max > QUEUE_TAKE_MAX ? QUEUE_TAKE_MAX : p->max;
	char pkey[RQ_KEY_MAX];
	rc = rq_key(q, pkey, "processing:", p->owner, err);
	if (rc != PARLEY_OK)
		return rc;
	rc = rq_connect(q, err);
	if (rc != PARLEY_OK)
		return rc;

	/* explicit stages: their sets; none: the script reads P stages itself */
	char ready_keys[QUEUE_STAGES_MAX][RQ_KEY_MAX];
	size_t n = 0;
	for (size_t i = 0; p->stages && i < p->nstages; i++) {
		if ((rc = rq_stage_ok(q, p->stages[i], err)) != PARLEY_OK ||
		    (rc = rq_key(q, ready_keys[n++], "ready:", p->stages[i], err)) != PARLEY_OK)
			return rc;
	}

	bool waited = false;
	char entries[QUEUE_TAKE_MAX][RQ_ENTRY_MAX];
	for (int pops = 0; pops < RQ_TAKE_POPS;) {
		size_t got = 0;
		rc = rq_take_script(q, p->owner, p->lease_seconds, ready_keys, n, pkey, max, entries,
				    &got, err);
		if (rc != PARLEY_OK)
			return rc;
		if (got == 0) {
			if (waited || p->wait < 0.001)
				return PARLEY_OK;
			waited = true;
			if ((rc = rq_wait(q, p->wait, err)) != PARLEY_OK)
				return rc;
			continue; /* every stage once more */
		}
		pops += (int)got;
		/* the entries that name a recording, in the order taken */
		int64_t ids[QUEUE_TAKE_MAX], orders[QUEUE_TAKE_MAX];
		size_t nids = 0;
		for (size_t i = 0; i < got; i++) {
			char stage[RQ_STAGE_MAX];
			if (rq_entry_parse(entries[i], strlen(entries[i]), &ids[nids], stage, &orders[nids])) {
				nids++;
			} else if (entries[i][0] != '#' && (rc = rq_lrem(q, pkey, entries[i], err)) != PARLEY_OK) {
				return rc; /* not ours; an over-long one is left to recover */
			}
		}
		size_t leased = 0;
		enum parley_err src = store_lease_ids(st, ids, nids, p->owner, p->lease_seconds, recs,
						      &leased, err);
		if (src != PARLEY_OK) {
			/* Keep the entries: back in their sets, at their places. The
			 * store error is the one reported; a lost connection is
			 * noticed (and the context dropped) by rq_eval. */
			rq_putback(q, pkey, entries, got);
			return src;
		}
		/* Not leasable (done, failed, leased by a live worker, backing
		 * off): dropped from processing by the next script call (of this
		 * take, or of the next one). */
		for (size_t i = 0; i < nids; i++) {
			bool ok = false;
			for (size_t k = 0; k < leased && !ok; k++)
				ok = recs[k].id == ids[i];
			if (!ok && (rc = rq_pend(q, pkey, ids[i], "done", "", 0, 0, err)) != PARLEY_OK)
				return rc;
		}
		if (leased > 0) {
			*nrecs = leased;
			return PARLEY_OK;
		}
	}
	return PARLEY_OK;
}

/* ----------------------------------------------------------------- settle */

static const char *const rq_actions[] = {
	[QUEUE_DONE] = "done",
	[QUEUE_RETRY] = "retry",
	[QUEUE_RELEASE] = "release",
	[QUEUE_HANDOFF] = "handoff",
};

/* Validated here; sent with the next take (see the top). */
static enum parley_err rq_settle(struct queue *base, const char *owner,
				 const struct store_recording *rec, enum queue_outcome outcome,
				 const char *stage, double delay, struct parley_error *err)
{
	struct rq *q = (struct rq *)base;
	enum parley_err rc = rq_owner_ok(q, owner, err);
	if (rc != PARLEY_OK)
		return rc;
	if ((unsigned)outcome >= sizeof(rq_actions) / sizeof(rq_actions[0]) || !rq_actions[outcome])
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "queue %s: unknown outcome %d",
					q->base.target, (int)outcome);
	if (!stage || !stage[0])
		stage = rec->next_stage;
	rc = rq_stage_ok(q, stage, err);
	if (rc != PARLEY_OK)
		return rc;
	if (outcome == QUEUE_HANDOFF && !stage[0])
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"queue %s: hand-off of recording %lld without a stage",
					q->base.target, (long long)rec->id);
	char pkey[RQ_KEY_MAX];
	rc = rq_key(q, pkey, "processing:", owner, err);
	if (rc != PARLEY_OK)
		return rc;
	return rq_pend(q, pkey, rec->id, rq_actions[outcome], stage, delay,
		       store_order_key(rec->priority, rec->tag), err);
}

/* -------------------------------------------------------------- heartbeat */

static enum parley_err rq_heartbeat(struct queue *base, const char *owner, double ttl,
				    struct parley_error *err)
{
	struct rq *q = (struct rq *)base;
	enum parley_err rc = rq_owner_ok(q, owner, err);
	if (rc != PARLEY_OK)
		return rc;
	char wkey[RQ_KEY_MAX], wset[RQ_KEY_MAX], ms[32];
	rc = rq_key(q, wkey, "worker:", owner, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, wset, "workers", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_connect(q, err);
	if (rc == PARLEY_OK)
		rc = rq_flush(q, err); /* before a last "I am gone" */
	if (rc != PARLEY_OK)
		return rc;
	snprintf(ms, sizeof(ms), "%lld", rq_ms(ttl));
	const char *a1[5] = {"SET", wkey, "1", "PX", ms};
	const char *a2[3] = {"SADD", wset, owner};
	if (redisAppendCommandArgv(q->c, 5, a1, NULL) != REDIS_OK ||
	    redisAppendCommandArgv(q->c, 3, a2, NULL) != REDIS_OK)
		return rq_lost(q, err);
	return rq_drain(q, 2, "heartbeat", err);
}

/* ---------------------------------------------------------------- recover */

struct repush {
	int64_t *ids;
	int64_t *orders;
	char (*stages)[RQ_STAGE_MAX];
	size_t n;
};

static int repush_one(int64_t id, const char *next_stage, int64_t order, void *ud)
{
	struct repush *r = ud;
	if (r->n >= RQ_REPUSH_LIMIT)
		return 1;
	if (!next_stage || strlen(next_stage) >= RQ_STAGE_MAX)
		return 0; /* cannot be named in an entry; skipped */
	r->ids[r->n] = id;
	r->orders[r->n] = order;
	snprintf(r->stages[r->n], RQ_STAGE_MAX, "%s", next_stage);
	r->n++;
	return 0;
}

static enum parley_err rq_repush(struct rq *q, struct store *st, struct parley_error *err)
{
	struct repush r = {0};
	const char **names = NULL;
	enum parley_err rc = PARLEY_OK;
	r.ids = malloc(RQ_REPUSH_LIMIT * sizeof(*r.ids));
	r.orders = malloc(RQ_REPUSH_LIMIT * sizeof(*r.orders));
	r.stages = malloc(RQ_REPUSH_LIMIT * sizeof(*r.stages));
	names = malloc(RQ_REPUSH_LIMIT * sizeof(*names));
	if (!r.ids || !r.orders || !r.stages || !names) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "queue %s: out of memory", q->base.target);
		goto out;
	}
	rc = store_leasable_each(st, RQ_REPUSH_LIMIT, repush_one, &r, err);
	if (rc != PARLEY_OK)
		goto out;
	for (size_t i = 0; i < r.n; i++)
		names[i] = r.stages[i];
	rc = rq_push(&q->base, r.ids, names, r.orders, r.n, err);
out:
	free(r.ids);
	free(r.orders);
	free(r.stages);
	free(names);
	return rc;
}

static enum parley_err rq_recover(struct queue *base, struct store *st, struct parley_error *err)
{
	struct rq *q = (struct rq *)base;
	char wset[RQ_KEY_MAX], dkey[RQ_KEY_MAX], skey[RQ_KEY_MAX], wkey[RQ_KEY_MAX];
	enum parley_err rc = rq_key(q, wset, "workers", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, dkey, "delayed", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, skey, "stages", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, wkey, "wake", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_connect(q, err);
	if (rc != PARLEY_OK)
		return rc;
	const char *argv[10] = {NULL, NULL, "4", wset, dkey, skey, wkey,
				q->base.prefix, "1000", "500"};
	redisReply *r;
	rc = rq_eval(q, RQ_RECOVER, 10, argv, &r, err);
	if (rc != PARLEY_OK)
		return rc;
	long long ready = -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[2]->type == REDIS_REPLY_INTEGER)
		ready = r->element[2]->integer;
	freeReplyObject(r);
	if (ready < 0)
		return parley_error_set(err, PARLEY_ERR_INTERNAL, "queue %s: recover: unexpected reply",
					q->base.target);
	double now = time_mono();
	if (ready == 0 && st && (q->last_repush == 0 || now - q->last_repush >= RQ_REPUSH_EVERY)) {
		q->last_repush = now;
		rc = rq_repush(q, st, err);
	}
	return rc;
}

/* ------------------------------------------------------------------ stats */

static enum parley_err rq_stats(struct queue *base, struct store *st, struct queue_stats *out,
				struct parley_error *err)
{
	struct rq *q = (struct rq *)base;
	memset(out, 0, sizeof(*out));
	char wset[RQ_KEY_MAX], dkey[RQ_KEY_MAX], skey[RQ_KEY_MAX];
	enum parley_err rc = rq_key(q, wset, "workers", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, dkey, "delayed", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_key(q, skey, "stages", NULL, err);
	if (rc == PARLEY_OK)
		rc = rq_connect(q, err);
	if (rc == PARLEY_OK)
		rc = rq_flush(q, err); /* count what this process already settled */
	if (rc != PARLEY_OK)
		return rc;
	const char *argv[7] = {NULL, NULL, "3", skey, dkey, wset, q->base.prefix};
	redisReply *r;
	rc = rq_eval(q, RQ_STATS, 7, argv, &r, err);
	if (rc != PARLEY_OK)
		return rc;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
		long long v[4] = {0};
		for (size_t i = 0; i < 4; i++)
			if (r->element[i]->type == REDIS_REPLY_INTEGER)
				v[i] = r->element[i]->integer;
		out->ready = (long)v[0];
		out->delayed = (long)v[1];
		out->processing = (long)v[2];
		out->workers = (int)v[3];
	} else {
		rc = parley_error_set(err, PARLEY_ERR_INTERNAL, "queue %s: stats: unexpected reply",
				      q->base.target);
	}
	freeReplyObject(r);
	return rc;
}

const struct queue_driver queue_driver_redis = {
	.name = "redis",
	.open = rq_open,
	.close = rq_close,
	.push = rq_push,
	.take = rq_take,
	.settle = rq_settle,
	.heartbeat = rq_heartbeat,
	.recover = rq_recover,
	.stats = rq_stats,
};

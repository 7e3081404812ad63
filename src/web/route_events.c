/* route_events.c — GET /v1/events (one server-sent event stream of
 * everything the caller may see) and GET /v1/overview (the same figures as
 * one JSON answer), for the dashboard (web/static/dash/).
 *
 * One hub per server reads the store at most once every HUB_INTERVAL
 * seconds, whatever the number of streams and overview requests: the first
 * reader after the interval refreshes it (with its own thread's store), the
 * others read what it holds. The hub keeps an item per thing that can
 * change — "queue", "workers", "metrics", "batch:<id>", "session:<id>" —
 * as JSON text with the generation at which it last changed; a stream sends
 * the items of a newer generation than it has seen, filtered by what its
 * user may see (operators and admins: batches and workers; a session only
 * to its owner, participants and admins, checked with session_get, which
 * also builds the view the stream sends). Batches and sessions the hub
 * follows: the HUB_RECENT newest, those with a recording pending or running
 * (and once more when they stop being so), and those that wrote to the
 * execution log since the last look.
 *
 * ?log=BID adds that batch's execution log (event `log`, with `id:`) for
 * operators and admins; Last-Event-ID or ?after=ID resumes it. Streams count
 * against --max-streams and end after --stream-seconds (or ?timeout=S).
 */
#include "web/routes.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batches.h"
#include "core/overview.h"
#include "session/session.h"
#include "store/store_dash.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "web/server.h"
#include "web/sse.h"

#define HUB_INTERVAL 1.0   /* seconds between two looks at the store */
#define HUB_RECENT 20      /* newest batches followed even when idle */
#define HUB_ITEMS_MAX 256  /* things followed at once */
#define HUB_BATCHES_TICK 64 /* batch views rebuilt in one look at most */
/* The stream's pump (keep-alive, the longest wait of a read) is web/sse.c. */
#define EV_POLL 0.025      /* seconds between looks at the hub */
#define EV_TEXT_MAX ((size_t)8 << 20) /* one poll's events at most */
#define LOG_PAGE 200       /* log events read in one go */

enum item_kind { ITEM_QUEUE, ITEM_WORKERS, ITEM_METRICS, ITEM_BATCH, ITEM_SESSION };

static const struct {
	const char *type; /* the SSE event name */
	bool ops_only;    /* operators and admins only */
} kinds[] = {
	[ITEM_QUEUE] = {"queue", false},
	[ITEM_WORKERS] = {"workers", true},
	[ITEM_METRICS] = {"metrics", false},
	[ITEM_BATCH] = {"batch", true},
	[ITEM_SESSION] = {"session", false},
};

struct item {
	char key[64];
	enum item_kind kind;
	int64_t batch;
	char session[SESSION_ID_LEN + 1];
	char *json; /* compact JSON text */
	uint64_t gen;
};

static struct hub {
	pthread_mutex_t lock;
	const struct web_server *srv; /* whose figures these are */
	bool refreshing;
	bool ok;          /* at least one look succeeded */
	double at;        /* time_mono() of the last look */
	uint64_t gen;
	uint64_t looks;   /* looks at the store so far (GET /v1/overview "looks") */
	int64_t last_event;
	struct item items[HUB_ITEMS_MAX];
	size_t n;
	int64_t *active;  /* batches with work at the last look */
	size_t nactive;
} hub = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ------------------------------------------------------------------- the hub */

struct update {
	char key[64];
	enum item_kind kind;
	int64_t batch;
	char session[SESSION_ID_LEN + 1];
	char *json;
};

struct tick {
	struct update *u;
	size_t n, cap;
	int64_t last_event;
	int64_t *active;
	size_t nactive;
};

static void tick_release(struct tick *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->u[i].json);
	free(t->u);
	free(t->active);
}

/* Add an update; takes v (decref'd here). */
static enum parley_err tick_add(struct tick *t, enum item_kind kind, const char *key,
				int64_t batch, const char *session, json_t *v,
				struct parley_error *err)
{
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(v);
	if (!text)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building %s", key);
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		struct update *nu = realloc(t->u, nc * sizeof(*nu));
		if (!nu) {
			free(text);
			return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory building %s", key);
		}
		t->u = nu;
		t->cap = nc;
	}
	struct update *u = &t->u[t->n++];
	memset(u, 0, sizeof(*u));
	snprintf(u->key, sizeof(u->key), "%s", key);
	u->kind = kind;
	u->batch = batch;
	if (session)
		snprintf(u->session, sizeof(u->session), "%s", session);
	u->json = text;
	return PARLEY_OK;
}

static bool has_id(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool hub_has(const char *key)
{
	for (size_t i = 0; i < hub.n; i++)
		if (strcmp(hub.items[i].key, key) == 0)
			return true;
	return false;
}

/* One batch's item: its view (kind 'batch') or its session's progress. */
static enum parley_err batch_update(struct tick *t, struct store *st, const struct sdash_batch *b,
				    struct parley_error *err)
{
	char key[64];
	const char *sid = overview_session_of(b->kind, b->name);
	if (sid && session_id_valid(sid)) {
		/* what changes when its recording moves; the view is built per user */
		struct store_progress p;
		struct store_stage_count c[32];
		size_t n = 0;
		enum parley_err rc;
		if ((rc = store_progress_get(st, b->id, &p, err)) ||
		    (rc = store_stage_counts(st, b->id, c, 32, &n, err)))
			return rc;
		json_t *v = json_pack("{s:s,s:i,s:i,s:i,s:i,s:[]}", "id", sid, "pending", p.pending,
				      "running", p.running, "done", p.done, "failed", p.failed,
				      "stages");
		for (size_t i = 0; v && i < n; i++)
			json_array_append_new(json_object_get(v, "stages"),
					      json_pack("{s:s,s:i,s:i,s:i}", "stage", c[i].stage,
							"done", c[i].done + c[i].skipped, "failed",
							c[i].failed, "running", c[i].running));
		snprintf(key, sizeof(key), "session:%s", sid);
		return tick_add(t, ITEM_SESSION, key, b->id, sid, v, err);
	}
	if (strcmp(b->kind, "batch") != 0)
		return PARLEY_OK;
	struct batches_ctx c = {.store = st};
	json_t *v = NULL;
	enum parley_err rc = batches_get(&c, b->id, &v, err);
	if (rc == PARLEY_ERR_NOT_FOUND)
		return PARLEY_OK;
	if (rc)
		return rc;
	snprintf(key, sizeof(key), "batch:%lld", (long long)b->id);
	return tick_add(t, ITEM_BATCH, key, b->id, NULL, v, err);
}

/* Everything the hub follows, read from the store (no lock held). */
static enum parley_err hub_read(struct web_server *srv, struct store *st, const int64_t *prev,
				size_t nprev, int64_t prev_event, struct tick *t,
				struct parley_error *err)
{
	double now = time_wall();
	struct queue *q = web_server_thread_queue(srv, err);
	if (!q)
		return err->code ? err->code : PARLEY_ERR_UNAVAILABLE;
	json_t *v = NULL;
	struct sdash_batch *recent = NULL;
	size_t nrecent = 0, nlogged = 0;
	int64_t *logged = NULL;
	enum parley_err rc;
	if ((rc = overview_queue(st, q, now, &v, err)) ||
	    (rc = tick_add(t, ITEM_QUEUE, "queue", 0, NULL, v, err)) ||
	    (rc = overview_workers(st, now, &v, err)) ||
	    (rc = tick_add(t, ITEM_WORKERS, "workers", 0, NULL, v, err)) ||
	    (rc = overview_stages(st, &v, err)) ||
	    (rc = tick_add(t, ITEM_METRICS, "metrics", 0, NULL, v, err)) ||
	    (rc = sdash_last_event(st, &t->last_event, err)) ||
	    (rc = sdash_event_batches(st, prev_event, &logged, &nlogged, err)) ||
	    (rc = sdash_active_batches(st, &t->active, &t->nactive, err)) ||
	    (rc = sdash_recent_batches(st, HUB_RECENT, &recent, &nrecent, err)))
		goto out;
	int built = 0;
	/* the newest ones the hub does not hold yet, then every active one,
	 * those active at the last look (their final state) and those that
	 * logged something since (a retry done between two looks) */
	for (size_t i = 0; i < nrecent && !rc && built < HUB_BATCHES_TICK; i++) {
		char key[64];
		const char *sid = overview_session_of(recent[i].kind, recent[i].name);
		if (sid)
			snprintf(key, sizeof(key), "session:%s", sid);
		else
			snprintf(key, sizeof(key), "batch:%lld", (long long)recent[i].id);
		pthread_mutex_lock(&hub.lock);
		bool held = hub_has(key);
		pthread_mutex_unlock(&hub.lock);
		if (!held && !has_id(t->active, t->nactive, recent[i].id)) {
			rc = batch_update(t, st, &recent[i], err);
			built++;
		}
	}
	for (int pass = 0; pass < 3 && !rc; pass++) {
		const int64_t *ids = pass == 0 ? t->active : pass == 1 ? prev : logged;
		size_t n = pass == 0 ? t->nactive : pass == 1 ? nprev : nlogged;
		for (size_t i = 0; i < n && !rc && built < HUB_BATCHES_TICK; i++) {
			if (pass && (has_id(t->active, t->nactive, ids[i]) ||
				     (pass == 2 && has_id(prev, nprev, ids[i]))))
				continue;
			struct sdash_batch b;
			bool found = false;
			if ((rc = sdash_batch_get(st, ids[i], &b, &found, err)) || !found)
				continue;
			rc = batch_update(t, st, &b, err);
			built++;
		}
	}
out:
	free(recent);
	free(logged);
	return rc;
}

static void item_set(struct item *it, struct update *u, uint64_t gen)
{
	free(it->json);
	snprintf(it->key, sizeof(it->key), "%s", u->key);
	it->kind = u->kind;
	it->batch = u->batch;
	snprintf(it->session, sizeof(it->session), "%s", u->session);
	it->json = u->json;
	u->json = NULL;
	it->gen = gen;
}

/* Merge a look into the hub (lock held): changed items get the next generation. */
static void hub_merge(struct tick *t)
{
	uint64_t gen = hub.gen + 1;
	bool changed = false;
	for (size_t i = 0; i < t->n; i++) {
		struct update *u = &t->u[i];
		struct item *it = NULL;
		for (size_t k = 0; k < hub.n && !it; k++)
			if (strcmp(hub.items[k].key, u->key) == 0)
				it = &hub.items[k];
		if (it && strcmp(it->json, u->json) == 0)
			continue;
		if (!it && hub.n < HUB_ITEMS_MAX)
			it = &hub.items[hub.n++];
		if (!it) { /* full: the batch or session changed longest ago goes */
			for (size_t k = 0; k < hub.n; k++)
				if (hub.items[k].kind >= ITEM_BATCH &&
				    (!it || hub.items[k].gen < it->gen))
					it = &hub.items[k];
			if (!it)
				continue;
		}
		item_set(it, u, gen);
		changed = true;
	}
	if (changed)
		hub.gen = gen;
	if (t->last_event > hub.last_event)
		hub.last_event = t->last_event;
	free(hub.active);
	hub.active = t->active;
	hub.nactive = t->nactive;
	t->active = NULL;
	t->nactive = 0;
}

static void hub_reset(const struct web_server *srv)
{
	for (size_t i = 0; i < hub.n; i++)
		free(hub.items[i].json);
	free(hub.active);
	hub.active = NULL;
	hub.nactive = 0;
	hub.n = 0;
	hub.gen = 0;
	hub.looks = 0;
	hub.last_event = 0;
	hub.ok = false;
	hub.at = 0;
	hub.srv = srv;
}

/* Look at the store when the last look is older than HUB_INTERVAL and no
 * other thread is looking. The error of a failed look (the hub keeps what
 * it had) is returned to the thread that made it. */
static enum parley_err hub_refresh(struct web_server *srv, struct store *st,
				   struct parley_error *err)
{
	pthread_mutex_lock(&hub.lock);
	if (hub.srv != srv)
		hub_reset(srv);
	double now = time_mono();
	if (hub.refreshing || (hub.ok && now - hub.at < HUB_INTERVAL)) {
		pthread_mutex_unlock(&hub.lock);
		return PARLEY_OK;
	}
	hub.refreshing = true;
	hub.looks++;
	int64_t prev_event = hub.ok ? hub.last_event : INT64_MAX; /* the first look: none */
	size_t nprev = hub.nactive;
	int64_t *prev = nprev ? malloc(nprev * sizeof(*prev)) : NULL;
	if (prev)
		memcpy(prev, hub.active, nprev * sizeof(*prev));
	else
		nprev = 0;
	pthread_mutex_unlock(&hub.lock);

	struct tick t = {0};
	enum parley_err rc = hub_read(srv, st, prev, nprev, prev_event, &t, err);
	free(prev);
	pthread_mutex_lock(&hub.lock);
	if (!rc) {
		hub_merge(&t);
		hub.ok = true;
	}
	hub.at = time_mono();
	hub.refreshing = false;
	pthread_mutex_unlock(&hub.lock);
	tick_release(&t);
	return rc;
}

static bool may_ops(const struct session_user *u)
{
	return batches_user_may(u);
}

/* ------------------------------------------------------------ GET /v1/overview */

static json_t *item_json(const struct item *it)
{
	return json_loads(it->json, 0, NULL);
}

static int by_batch_desc(const void *a, const void *b)
{
	int64_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	int64_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
	return x < y ? 1 : x > y ? -1 : 0;
}

void route_overview(struct web_req *q, struct web_resp *r)
{
	struct parley_error err = {0};
	bool ops = may_ops(&q->user);
	/* wait (briefly) for a look another thread is making, so the answer is fresh */
	for (int i = 0; i < 50; i++) {
		enum parley_err rc = hub_refresh(q->srv, q->ctx.store, &err);
		if (rc) {
			web_resp_error(r, &err);
			return;
		}
		pthread_mutex_lock(&hub.lock);
		bool ready = hub.ok;
		pthread_mutex_unlock(&hub.lock);
		if (ready)
			break;
		time_sleep(0.02);
	}
	json_t *batches = json_array();
	json_t *list[HUB_ITEMS_MAX];
	size_t nb = 0;
	pthread_mutex_lock(&hub.lock);
	json_t *out = json_pack("{s:f,s:f,s:I}", "time", time_wall(), "interval", HUB_INTERVAL,
				"looks", (json_int_t)hub.looks);
	for (size_t i = 0; out && i < hub.n; i++) {
		const struct item *it = &hub.items[i];
		if (kinds[it->kind].ops_only && !ops)
			continue;
		json_t *v = item_json(it);
		if (!v)
			continue;
		if (it->kind == ITEM_QUEUE) {
			json_object_set_new(out, "queue", v);
		} else if (it->kind == ITEM_WORKERS || it->kind == ITEM_METRICS) {
			json_object_update(out, v);
			json_decref(v);
		} else if (it->kind == ITEM_BATCH) {
			list[nb++] = v;
		} else {
			json_decref(v);
		}
	}
	pthread_mutex_unlock(&hub.lock);
	qsort(list, nb, sizeof(list[0]), by_batch_desc);
	for (size_t i = 0; i < nb; i++)
		json_array_append_new(batches, list[i]);
	unsigned long requests = 0, errors = 0;
	web_metrics_totals(web_server_metrics(q->srv), &requests, &errors);
	if (out)
		json_object_set_new(out, "http", json_pack("{s:I,s:I}", "requests",
							   (json_int_t)requests, "errors",
							   (json_int_t)errors));
	if (out && ops)
		json_object_set_new(out, "batches", batches);
	else
		json_decref(batches);
	if (!out) {
		web_resp_fail(r, 503, "nomem", "out of memory");
		return;
	}
	if (!ops) /* busy workers name batches: operators and admins only */
		json_object_set_new(out, "workers", json_null());
	web_resp_json(r, 200, out);
}

/* --------------------------------------------------------------- GET /v1/events */

struct ev_stream {
	struct web_server *srv;
	struct session_user user;
	bool ops;
	const char *data_dir;
	uint64_t seen;      /* hub generation sent */
	int64_t log_batch;  /* 0: no log */
	int64_t log_last;   /* last log event sent */
	int64_t hub_event;  /* hub.last_event at the last log read */
	double until;       /* time_mono() when the stream ends anyway */
	bool hello;
};

/* What changed since the last look (sse_poll_fn). */
static void ev_poll(void *src, struct store *st, struct strbuf *sb, bool *end)
{
	struct ev_stream *e = src;
	struct parley_error err = {0};
	if (!e->hello) {
		json_t *h = json_pack("{s:s,s:b,s:b,s:f,s:I}", "user", e->user.name, "admin",
				      e->user.admin, "operator", e->user.operator_, "interval",
				      HUB_INTERVAL, "log", (json_int_t)e->log_batch);
		char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
		json_decref(h);
		if (text)
			sse_add(sb, 0, "hello", text);
		free(text);
		e->hello = true;
	}
	hub_refresh(e->srv, st, &err); /* a failed look: the hub keeps what it had */
	char sessions[HUB_ITEMS_MAX][SESSION_ID_LEN + 1];
	size_t ns = 0;
	pthread_mutex_lock(&hub.lock);
	for (size_t i = 0; i < hub.n; i++) {
		const struct item *it = &hub.items[i];
		if (it->gen <= e->seen || (kinds[it->kind].ops_only && !e->ops))
			continue;
		if (it->kind != ITEM_SESSION)
			sse_add(sb, 0, kinds[it->kind].type, it->json);
		else
			snprintf(sessions[ns++], sizeof(sessions[0]), "%s", it->session);
	}
	e->seen = hub.gen;
	int64_t last_event = hub.last_event;
	pthread_mutex_unlock(&hub.lock);
	/* a session's view as this user sees it; not visible: not sent */
	struct session_ctx sc = {.store = st, .data_dir = e->data_dir};
	for (size_t i = 0; i < ns; i++) {
		json_t *v = NULL;
		if (session_get(&sc, &e->user, sessions[i], &v, &err) == PARLEY_OK) {
			char *text = json_dumps(v, JSON_COMPACT);
			if (text)
				sse_add(sb, 0, "session", text);
			free(text);
		}
		json_decref(v);
	}
	if (e->log_batch && last_event > e->hub_event) {
		struct sse_log_page pg = {.out = sb, .type = "log", .batch = e->log_batch,
					  .last = e->log_last};
		if (store_event_page(st, e->log_batch, e->log_last, LOG_PAGE, sse_log_one, &pg,
				     &err) == PARLEY_OK && pg.last == e->log_last)
			e->hub_event = last_event; /* read up to it */
		e->log_last = pg.last;
	}
	if (sb->len == 0 && time_mono() > e->until)
		*end = true;
}

void route_events(struct web_req *q, struct web_resp *r)
{
	long long log = 0, after = 0, timeout = web_server_params(q->srv)->stream_seconds;
	if (!web_req_query_int(q, r, "log", 1, ROUTER_BATCH_MAX, &log) ||
	    !web_req_query_int(q, r, "after", 0, INT64_MAX, &after) ||
	    !web_req_query_int(q, r, "timeout", 1, web_server_params(q->srv)->stream_seconds, &timeout))
		return;
	bool ops = may_ops(&q->user);
	if (log) {
		struct batches_ctx c = {.store = q->ctx.store};
		struct parley_error err = {0};
		if (!ops) { /* the answer of a batch that does not exist */
			web_resp_fail(r, 404, "not_found", "no batch %lld", log);
			return;
		}
		if (batches_check(&c, log, &err)) {
			web_resp_error(r, &err);
			return;
		}
		int64_t last = after;
		if (!sse_last_event_id(q, r, &last))
			return;
		after = last;
	}
	struct ev_stream *e = calloc(1, sizeof(*e));
	if (!e) {
		web_resp_fail(r, 503, "nomem", "out of memory");
		return;
	}
	*e = (struct ev_stream){.srv = q->srv, .user = q->user, .ops = ops,
				.data_dir = q->ctx.data_dir, .log_batch = log, .log_last = after,
				.hub_event = -1, .until = time_mono() + (double)timeout};
	struct sse_params p = sse_default_params();
	p.poll = EV_POLL;
	p.max_text = EV_TEXT_MAX;
	p.busy_hint = "retry later (GET /v1/overview answers the same figures once)";
	sse_start(q, r, &p, ev_poll, free, e);
}

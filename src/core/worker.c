/* worker.c — see worker.h. */
#include "core/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/batch_config.h"
#include "core/webhook.h"
#include "queue/queue.h"
#include "stages/env.h"
#include "util/log.h"
#include "util/timeutil.h"

#define WORKER_STARTED_MAX 64  /* (batch, stage) pairs whose stage_start we know of */
#define WORKER_RECOVER_EVERY 2.0
#define WORKER_DOWN_BACKOFF_MAX 10.0
#define WORKER_STAGES_MAX 64
#define WORKER_WEBHOOK_LINGER 30.0 /* s a leaving worker keeps sending due webhooks */
/* A worker's liveness in the queue lasts this many leases (see worker.h). */
#define WORKER_LIVENESS_LEASES 2.0
/* Take-ahead (worker.h): the work one take may lease, in seconds of the
 * recent time per recording, and the age (in leases) past which recordings
 * taken but not started are given back instead of started. */
#define WORKER_TAKE_AHEAD_SECONDS 0.05
#define WORKER_FIN_MAX 8 /* batches whose finished counts a worker keeps between takes */
#define WORKER_HELD_STALE_LEASES (1.0 / 3.0)

struct worker_params worker_default_params(void)
{
	struct worker_params p;
	memset(&p, 0, sizeof(p));
	char host[64];
	worker_host(host, sizeof(host));
	snprintf(p.owner, sizeof(p.owner), "%s:%ld", host, (long)getpid());
	p.exit_when_idle = true;
	p.idle_poll = 0.2;
	p.config = config_defaults();
	p.pipeline = pipeline_default();
	return p;
}

void worker_host(char *out, size_t size)
{
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(out, size, "%s", u.nodename);
	else
		snprintf(out, size, "localhost");
}

/* The heartbeat thread renews the lease of the recording being worked on
 * and the worker's liveness in the queue, over its own connections. */
struct heartbeat {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	const struct worker_params *p;
	int64_t rec_id; /* 0 = none */
	bool quit;
	bool lost;      /* the lease was taken by someone else */
};

static void heartbeat_beat(struct heartbeat *hb, struct store **st, struct queue **q, int64_t rec)
{
	const struct worker_params *p = hb->p;
	struct parley_error err = {0};
	enum parley_err rc = PARLEY_OK;
	if (!*q && queue_open(p->config.queue, p->config.queue_prefix, q, &err) != PARLEY_OK)
		log_warn("heartbeat: %s (will retry)", err.msg);
	if (*q && queue_heartbeat(*q, p->owner, p->config.lease_seconds * WORKER_LIVENESS_LEASES,
				  &err) != PARLEY_OK)
		log_warn("heartbeat: %s (will retry)", err.msg);
	if (rec == 0)
		return;
	if (!*st)
		rc = store_open(p->config.store, st, &err);
	if (rc == PARLEY_OK)
		rc = store_lease_renew(*st, rec, p->owner, p->config.lease_seconds, &err);
	pthread_mutex_lock(&hb->lock);
	if (rc == PARLEY_ERR_BUSY && hb->rec_id == rec) {
		hb->lost = true;
		log_warn("%s", err.msg);
	} else if (rc == PARLEY_ERR_BUSY) {
		/* the recording was settled while we renewed: nothing was lost */
	} else if (rc != PARLEY_OK) {
		log_warn("heartbeat: %s (will retry)", err.msg);
	}
	pthread_mutex_unlock(&hb->lock);
	if (rc == PARLEY_ERR_UNAVAILABLE) { /* reconnect next time */
		store_close(*st);
		*st = NULL;
	}
}

static void *heartbeat_main(void *arg)
{
	struct heartbeat *hb = arg;
	struct store *st = NULL;
	struct queue *q = NULL;
	pthread_mutex_lock(&hb->lock);
	while (!hb->quit) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		double wait = hb->p->config.lease_seconds / 3.0;
		until.tv_sec += (time_t)wait;
		until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&hb->wake, &hb->lock, &until);
		if (hb->quit)
			break;
		int64_t rec = hb->rec_id;
		pthread_mutex_unlock(&hb->lock);
		heartbeat_beat(hb, &st, &q, rec);
		pthread_mutex_lock(&hb->lock);
	}
	pthread_mutex_unlock(&hb->lock);
	store_close(st);
	queue_close(q);
	return NULL;
}

static void heartbeat_set(struct heartbeat *hb, int64_t rec_id)
{
	pthread_mutex_lock(&hb->lock);
	hb->rec_id = rec_id;
	hb->lost = false;
	pthread_mutex_unlock(&hb->lock);
}

struct worker {
	const struct worker_params *p;
	struct store *st;
	struct queue *q;
	struct stage_env *env;
	struct worker_stats *stats;
	/* the configuration of the batch last seen, and the one env serves */
	int64_t cfg_batch;
	struct pipeline_config cfg;
	char *env_json; /* canonical JSON of the configuration env was built for */
	/* the pipeline of the batch last seen */
	int64_t pl_batch;
	const struct stage *pl_rows[64];
	struct pipeline pl;
	const char *allowed_names[QUEUE_STAGES_MAX];
	/* (batch, stage) pairs known to be started */
	struct {
		int64_t batch;
		char stage[STORE_STAGE_NAME_MAX];
	} started[WORKER_STARTED_MAX];
	size_t nstarted;
	struct pipeline_clock clock; /* stage wall times, for commit coalescing */
	double down_backoff;   /* wait after the store or queue was unreachable */
	double next_warn;      /* rate limit for "unreachable" warnings */
	/* Take-ahead: what the last take leased (each with its attempt counted),
	 * held[next_held..nheld) not started yet. */
	struct store_recording *held; /* QUEUE_TAKE_MAX of them */
	size_t nheld, next_held;
	double held_at;               /* time_mono() of the take */
	double per_recording;         /* recent seconds per recording (moving average), 0 = none yet */
	/* Commit coalescing across the recordings of one take (PostgreSQL,
	 * commit_window > 0): recordings whose quick stages and finish sit in
	 * a transaction still open, held[] entries; settled in the queue,
	 * counted and logged once it commits (worker_carry_end). */
	bool carry_ok;
	bool carry_open;
	double carry_held; /* seconds of stage work in it */
	const struct store_recording *carry[QUEUE_TAKE_MAX];
	size_t ncarry;
	/* finished recordings not yet added to their batch's count (added once
	 * per take: worker_count_flush) */
	struct {
		int64_t batch, n;
	} fin[WORKER_FIN_MAX];
	size_t nfin;
	int64_t nohooks_batch; /* a batch found without webhooks since the last take (0: none) */
};

static double backoff_delay(const struct worker_params *p, int attempt)
{
	double d = p->config.backoff_base;
	for (int i = 1; i < attempt; i++)
		d *= 2;
	/* ±20% jitter so retries of many recordings do not arrive together */
	double jitter = ((double)(rand() % 2001) / 1000.0 - 1.0) * 0.2;
	return d * (1.0 + jitter);
}

static void worker_event(struct worker *w, int64_t batch, int64_t rec, const char *stage,
			 const char *type, const char *msg)
{
	struct parley_error err = {0};
	if (store_event_add(w->st, batch, rec, stage, type, msg, &err))
		log_warn("execution log: %s", err.msg);
}

static void on_stage_start(void *ud, const struct store_recording *rec, const char *stage)
{
	struct worker *w = ud;
	for (size_t i = 0; i < w->nstarted; i++)
		if (w->started[i].batch == rec->batch_id && strcmp(w->started[i].stage, stage) == 0)
			return;
	bool first = false;
	struct parley_error err = {0};
	if (store_batch_stage_started(w->st, rec->batch_id, stage, &first, &err)) {
		log_warn("execution log: %s", err.msg);
		return;
	}
	if (first)
		worker_event(w, rec->batch_id, 0, stage, "stage_start", NULL);
	if (w->nstarted < WORKER_STARTED_MAX) {
		w->started[w->nstarted].batch = rec->batch_id;
		snprintf(w->started[w->nstarted++].stage, sizeof(w->started[0].stage), "%s", stage);
	}
}

struct complete_ctx {
	struct worker *w;
	int64_t batch;
	int n;
};

static void on_stage_complete(const char *stage, void *ud)
{
	struct complete_ctx *c = ud;
	worker_event(c->w, c->batch, 0, stage, "stage_complete", NULL);
	c->n++;
}

/* Add n finished recordings to the batch's count: progress every N,
 * stage_complete at the end. */
static void worker_count_add(struct worker *w, int64_t batch, int64_t n)
{
	struct parley_error err = {0};
	int64_t finished = 0;
	bool all_done = false;
	if (store_batch_finished_add(w->st, batch, n, &finished, &all_done, &err)) {
		log_warn("execution log: %s", err.msg);
		return;
	}
	/* The batch's end: one caller marks its stages complete (and logs it). */
	int completed = 0;
	if (all_done) {
		struct complete_ctx c = {w, batch, 0};
		if (store_batch_stages_complete(w->st, batch, on_stage_complete, &c, &err))
			log_warn("execution log: %s", err.msg);
		completed = c.n;
	}
	int every = w->p->config.progress_every > 0 ? w->p->config.progress_every : 100;
	/* a multiple of every passed (n may step over it) */
	if (finished / every != (finished - n) / every || completed) {
		struct store_progress pr;
		if (store_progress_get(w->st, batch, &pr, &err) == PARLEY_OK) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%d of %d recordings finished: %d done, %d failed",
				 pr.done + pr.failed, pr.total, pr.done, pr.failed);
			worker_event(w, batch, 0, NULL, "progress", msg);
		}
	}
}

/* Add the counts kept since the last take (one statement per batch). */
static void worker_count_flush(struct worker *w)
{
	size_t n = w->nfin;
	w->nfin = 0;
	for (size_t i = 0; i < n; i++)
		worker_count_add(w, w->fin[i].batch, w->fin[i].n);
}

/* After a recording's verdict (committed): counted with the next take. */
static void worker_count_finished(struct worker *w, const struct store_recording *rec)
{
	for (size_t i = 0; i < w->nfin; i++)
		if (w->fin[i].batch == rec->batch_id) {
			w->fin[i].n++;
			return;
		}
	if (w->nfin == WORKER_FIN_MAX)
		worker_count_flush(w);
	w->fin[w->nfin].batch = rec->batch_id;
	w->fin[w->nfin++].n = 1;
}

/* The pipeline of rec's batch (its own list, else the worker's default). */
static enum parley_err worker_pipeline(struct worker *w, const struct store_recording *rec,
				       const struct pipeline **out, struct parley_error *err)
{
	if (w->pl_batch != rec->batch_id) {
		char list[STORE_PIPELINE_MAX];
		enum parley_err rc = store_batch_get_pipeline(w->st, rec->batch_id, list, sizeof(list), err);
		if (rc)
			return rc;
		if (list[0] == '\0')
			w->pl = w->p->pipeline;
		else if ((rc = pipeline_parse(list, w->pl_rows, &w->pl, err)))
			return rc;
		w->pl_batch = rec->batch_id;
	}
	*out = &w->pl;
	return PARLEY_OK;
}

/* The configuration of rec's batch (cached per batch), with env built for it. */
static enum parley_err worker_config(struct worker *w, const struct store_recording *rec,
				     struct parley_error *err)
{
	if (w->cfg_batch == rec->batch_id && w->env)
		return PARLEY_OK;
	w->cfg_batch = 0;
	pipeline_config_release(&w->cfg);
	char *json = NULL;
	enum parley_err rc = batch_config_load(w->st, rec->batch_id, &w->cfg, err);
	if (rc == PARLEY_OK)
		rc = pipeline_config_to_json(&w->cfg, false, &json, err);
	if (rc)
		return rc;
	if (!w->env || !w->env_json || strcmp(json, w->env_json) != 0) {
		/* engines loaded for another configuration (lexicon, model) */
		stage_env_free(w->env);
		w->env = NULL;
		free(w->env_json);
		w->env_json = NULL;
		if ((rc = stage_env_new(&w->env, err))) {
			free(json);
			return rc;
		}
		w->env_json = json;
		json = NULL;
	}
	free(json);
	w->cfg_batch = rec->batch_id;
	return PARLEY_OK;
}

/* Repeat a store update while the store is unreachable or busy (bounded by
 * the lease: after that, the lease expires and another worker takes over). */
#define SETTLE_TRIES 10

struct settle_op {
	enum queue_outcome outcome;
	enum store_status status; /* QUEUE_DONE: done or failed */
	const char *error_code, *error_msg;
	double delay;
};

/* Webhooks (issue 14, core/webhook.h): the recording's finish and the
 * events it causes (recording.*, stage.completed, batch.completed) commit
 * in one transaction, so a worker killed between them loses no event.
 * open: that transaction is the one the pipeline left open with the last
 * stages' results (pipeline_run.finish_open), so results, finish and events
 * commit together, durably; a failure rolls the stages back too. */
static enum parley_err finish_commit(struct worker *w, bool hold, struct parley_error *err)
{
	return hold ? PARLEY_OK : store_commit(w->st, err);
}

/* hold (with open): leave the transaction open after the finish, for the
 * next recording of the take (the worker's carry). */
static enum parley_err worker_finish(struct worker *w, const struct store_recording *rec,
				     const struct settle_op *op, bool open, bool hold,
				     struct parley_error *err)
{
	const struct pipeline *pl = NULL;
	struct parley_error perr = {0};
	if (worker_pipeline(w, rec, &pl, &perr) != PARLEY_OK)
		pl = &w->p->pipeline; /* the events name the default stages */
	const char *names[WORKER_STAGES_MAX];
	size_t n = 0;
	for (; n < pl->count && n < WORKER_STAGES_MAX; n++)
		names[n] = pl->stages[n]->name;
	struct webhook_finish fin = {
		.batch_id = rec->batch_id, .rec_id = rec->id, .rec_name = rec->name,
		.status = op->status, .error = op->error_msg, .stages = names, .nstages = n,
		.public_url = w->p->config.public_url,
	};
	enum parley_err rc = open ? PARLEY_OK : store_begin(w->st, err);
	if (rc)
		return rc;
	if ((rc = store_recording_finish(w->st, rec->id, w->p->owner, op->status, op->error_code,
					 op->error_msg, err))) {
		store_rollback(w->st);
		return rc;
	}
	if (open) {
		/* a savepoint, so a webhook failure keeps the stages and the
		 * finish; only for a batch with a webhook (no round trip else) */
		struct webhook_config wc;
		bool hooks = false;
		if (w->nohooks_batch == rec->batch_id)
			return finish_commit(w, hold, err);
		rc = webhook_get(w->st, rec->batch_id, &wc, &hooks, err);
		explicit_bzero(wc.secret, sizeof(wc.secret));
		if (rc == PARLEY_OK && !hooks) {
			w->nohooks_batch = rec->batch_id; /* asked again after the next take */
			return finish_commit(w, hold, err);
		}
		if (rc || (rc = store_savepoint(w->st, "finish_hooks", err))) {
			store_rollback(w->st);
			return rc;
		}
	}
	struct parley_error herr = {0};
	enum parley_err hrc = webhook_on_finish(w->st, &fin, &herr);
	if (hrc && parley_err_is_transient(hrc)) {
		store_rollback(w->st); /* the settle loop tries the whole again */
		*err = herr;
		return hrc;
	}
	if (hrc) {
		/* a bug or a bound, not the store: finish the recording anyway */
		log_error("%s: its webhook events are lost: %s", rec->name, herr.msg);
		if (open) { /* keep the stages and the finish */
			if ((rc = store_rollback_to(w->st, "finish_hooks", err))) {
				store_rollback(w->st);
				return rc;
			}
			return finish_commit(w, hold, err);
		}
		store_rollback(w->st);
		return store_recording_finish(w->st, rec->id, w->p->owner, op->status,
					      op->error_code, op->error_msg, err);
	}
	return finish_commit(w, open && hold, err);
}

static enum parley_err settle_store(struct worker *w, const struct store_recording *rec,
				    const struct settle_op *op, struct parley_error *err)
{
	const char *owner = w->p->owner;
	switch (op->outcome) {
	case QUEUE_DONE:
		return worker_finish(w, rec, op, false, false, err);
	case QUEUE_RETRY:
		return store_recording_retry_later(w->st, rec->id, owner, op->delay, op->error_msg, err);
	case QUEUE_RELEASE:
	case QUEUE_HANDOFF:
		/* given back costs no attempt: the one its lease counted is returned */
		return store_lease_release(w->st, rec->id, owner, err);
	}
	return parley_error_set(err, PARLEY_ERR_INTERNAL, "unknown outcome");
}

/* Clear rec's queue entry with outcome o (a few tries; the queue's repair
 * from the store covers a miss). */
static void worker_queue_settle(struct worker *w, const struct store_recording *rec,
				enum queue_outcome o, const char *stage, double delay)
{
	for (int i = 0; i < 3; i++) {
		struct parley_error qerr = {0};
		if (queue_settle(w->q, w->p->owner, rec, o, stage, delay, &qerr) == PARLEY_OK)
			break;
		log_warn("%s: %s", rec->name, qerr.msg);
		time_sleep(0.2);
	}
}

/* rec's finish is committed: count it, log it. */
static void worker_done(struct worker *w, const struct store_recording *rec)
{
	w->stats->done++;
	if (w->p->config.log_file_complete)
		worker_event(w, rec->batch_id, rec->id, NULL, "file_complete", rec->name);
	worker_count_finished(w, rec);
}

/* rec's lease was taken over (we stalled, or our host was cut off) and
 * our late commit of `stage` refused (why): the recording is its new
 * owner's; only our queue entry is cleared. */
static void worker_refused(struct worker *w, const struct store_recording *rec, const char *stage,
			   const struct parley_error *why)
{
	log_warn("%s: late commit of stage %s refused: %s; leaving the recording to its new owner",
		 rec->name, stage && *stage ? stage : "?", why->msg);
	struct parley_error qerr = {0};
	queue_settle(w->q, w->p->owner, rec, QUEUE_DONE, NULL, 0, &qerr);
}

/* The carried transaction ended: its recordings are done (committed), or
 * their stages and finishes were rolled back with it (why: the failure) —
 * then they are given back to be redone (their effects never committed),
 * the one whose lease was found lost left to its new owner, or, when the
 * store does not answer, left to their leases' expiry like a killed
 * worker's. */
static void worker_carry_end(struct worker *w, bool committed, const struct parley_error *why)
{
	size_t n = w->ncarry;
	w->carry_open = false;
	w->carry_held = 0;
	w->ncarry = 0;
	if (!committed)
		w->nstarted = 0; /* stage_start marks may have been rolled back too */
	for (size_t i = 0; i < n; i++) {
		const struct store_recording *rec = w->carry[i];
		if (committed) {
			worker_queue_settle(w, rec, QUEUE_DONE, NULL, 0);
			worker_done(w, rec);
			continue;
		}
		if (store_lease_lost(why, rec->id)) {
			worker_refused(w, rec, "finish", why);
			continue;
		}
		static const struct settle_op release = {.outcome = QUEUE_RELEASE};
		struct parley_error err = {0};
		enum parley_err rc = settle_store(w, rec, &release, &err);
		if (rc != PARLEY_OK)
			log_warn("%s: its finish was rolled back and giving it back failed: %s (its lease "
				 "expires)", rec->name, err.msg);
		else
			log_warn("%s: its finish was rolled back; given back to be redone", rec->name);
		worker_queue_settle(w, rec, rc == PARLEY_OK ? QUEUE_RELEASE : QUEUE_DONE, rec->next_stage, 0);
	}
}

/* Commit the carried transaction (if open) and settle what it held. */
static void worker_carry_flush(struct worker *w)
{
	if (!w->carry_open)
		return;
	struct parley_error err = {0};
	enum parley_err rc = store_commit(w->st, &err);
	if (rc != PARLEY_OK)
		log_warn("committing %zu finished recordings: %s", w->ncarry, err.msg);
	worker_carry_end(w, rc == PARLEY_OK, &err);
}

/* open: the pipeline left the last stages' transaction open for the
 * finish (op is QUEUE_DONE). When that fails, those stages are rolled back
 * with it: the recording is given back (no attempt counted) and redone from
 * its first stage not committed; the error is returned. hold (with open):
 * on success the transaction stays open (the caller carries rec); a carried
 * transaction commits or rolls back with this finish otherwise. */
static enum parley_err worker_settle_op(struct worker *w, const struct store_recording *rec,
					const struct settle_op *op, const char *stage, bool open,
					bool hold)
{
	struct parley_error err = {0};
	enum parley_err rc = PARLEY_OK, folded = PARLEY_OK;
	static const struct settle_op release = {.outcome = QUEUE_RELEASE};
	if (open)
		folded = worker_finish(w, rec, op, true, hold, &err);
	if (open && hold && folded == PARLEY_OK)
		return PARLEY_OK;
	if (open && w->carry_open)
		worker_carry_end(w, folded == PARLEY_OK, &err);
	if (folded != PARLEY_OK && store_lease_lost(&err, rec->id)) {
		worker_refused(w, rec, "finish", &err);
		return folded;
	}
	if (folded != PARLEY_OK) {
		log_warn("%s: %s; its uncommitted stages will be redone", rec->name, err.msg);
		w->nstarted = 0; /* stage_start marks may have been rolled back too */
		op = &release;
	}
	double wait = 0.2;
	for (int i = 0; (!open || folded) && i < SETTLE_TRIES; i++) {
		rc = settle_store(w, rec, op, &err);
		if (rc == PARLEY_OK || (rc != PARLEY_ERR_UNAVAILABLE && rc != PARLEY_ERR_STORE) ||
		    (w->p->stop && *w->p->stop && i > 2))
			break;
		log_warn("%s: %s (retrying in %.1f s)", rec->name, err.msg, wait);
		time_sleep(wait);
		wait = wait * 2 > 5 ? 5 : wait * 2;
	}
	if (rc != PARLEY_OK) {
		/* BUSY: the lease is someone else's now; otherwise it will expire. */
		log_warn("%s: %s", rec->name, err.msg);
	}
	/* The queue entry is ours to clear in every case. */
	worker_queue_settle(w, rec, rc == PARLEY_OK ? op->outcome : QUEUE_DONE, stage, op->delay);
	return folded ? folded : rc;
}

/* Decide the fate of a recording after pipeline_advance. */
static void worker_settle(struct worker *w, const struct store_recording *rec, enum parley_err rc,
			  const struct parley_error *perr, const struct pipeline_run *run)
{
	const struct worker_params *p = w->p;
	struct settle_op op = {.outcome = QUEUE_DONE, .status = STORE_DONE};
	if (rc == PARLEY_OK && run->handoff_stage) {
		op.outcome = QUEUE_HANDOFF;
		w->stats->handed_off++;
		worker_settle_op(w, rec, &op, run->handoff_stage, false, false);
		return;
	}
	if (rc == PARLEY_OK) {
		/* keep the transaction open for the next recording of this take
		 * while the work it holds fits the window */
		bool hold = w->carry_ok && run->open && w->next_held < w->nheld &&
			    w->ncarry < QUEUE_TAKE_MAX && run->held < p->config.commit_window &&
			    !(p->stop && *p->stop);
		if (worker_settle_op(w, rec, &op, NULL, run->open, hold) != PARLEY_OK)
			return;
		if (hold) {
			w->carry[w->ncarry++] = rec;
			w->carry_open = true;
			w->carry_held = run->held;
			return;
		}
		worker_done(w, rec);
		return;
	}
	if (rc == PARLEY_ERR_ABORTED || rc == PARLEY_ERR_UNAVAILABLE || store_lease_lost(perr, 0)) {
		/* stopped, the store/queue went away, or another recording of the
		 * same transaction lost its lease (rolled back with it): not this
		 * recording's fault */
		op.outcome = QUEUE_RELEASE;
		if (rc != PARLEY_ERR_ABORTED)
			log_warn("%s: %s; giving it back", rec->name, perr->msg);
		worker_settle_op(w, rec, &op, rec->next_stage, false, false);
		return;
	}
	/* stored and answered without the server's paths; the log has it all */
	char msg[PARLEY_ERROR_MSG_MAX + 64];
	const char *stage = run->failed_stage ? run->failed_stage : "?";
	pipeline_public_error(p->data_dir, rec, stage, rc, perr->msg, msg, sizeof(msg));
	if (parley_err_is_transient(rc) && rec->attempts < p->config.max_attempts) {
		op.outcome = QUEUE_RETRY;
		op.delay = backoff_delay(p, rec->attempts);
		op.error_msg = msg;
		log_warn("%s: attempt %d of %d failed in stage %s, retrying in %.1f s: %s", rec->name,
			 rec->attempts, p->config.max_attempts, stage, op.delay, perr->msg);
		if (worker_settle_op(w, rec, &op, run->failed_stage, false, false) == PARLEY_OK)
			w->stats->retried++;
		return;
	}
	op.status = STORE_FAILED;
	op.error_code = parley_err_name(rc);
	op.error_msg = msg;
	if (strcmp(msg, perr->msg) != 0) /* the whole of what was answered shorter */
		log_warn("%s: failed in stage %s: %s", rec->name, stage, perr->msg);
	if (worker_settle_op(w, rec, &op, NULL, false, false) == PARLEY_OK) {
		w->stats->failed++;
		worker_event(w, rec->batch_id, rec->id, run->failed_stage, "file_error", msg);
		worker_count_finished(w, rec);
	}
}

/* Nothing to take: is the worker's work over? */
static bool worker_idle_done(struct worker *w)
{
	struct store_progress pr;
	struct parley_error err = {0};
	if (store_progress_get(w->st, w->p->batch_id, &pr, &err) != PARLEY_OK)
		return false;
	if (pr.pending == 0 && pr.running == 0)
		return true;
	/* A stage-limited worker leaves the rest to workers of other stages. */
	return w->p->allowed.count > 0 && pr.running == 0;
}

/* The store or queue did not answer: wait, doubling up to a ceiling. */
static void worker_down(struct worker *w, const struct parley_error *err)
{
	double now = time_mono();
	if (now >= w->next_warn) {
		log_warn("%s (retrying every %.1f s at most)", err->msg, WORKER_DOWN_BACKOFF_MAX);
		w->next_warn = now + 5;
	}
	time_sleep(w->down_backoff);
	w->down_backoff = w->down_backoff * 2 > WORKER_DOWN_BACKOFF_MAX ? WORKER_DOWN_BACKOFF_MAX
									 : w->down_backoff * 2;
}

/* A recording that came back more often than it may be tried: each earlier
 * lease ended without a verdict (its worker crashed or was killed). */
static void worker_give_up(struct worker *w, const struct store_recording *rec)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "gave up after %d attempts: the worker processing it crashed or "
		 "was killed each time", rec->attempts - 1);
	struct settle_op op = {.outcome = QUEUE_DONE, .status = STORE_FAILED,
			       .error_code = "internal", .error_msg = msg};
	if (worker_settle_op(w, rec, &op, NULL, false, false) == PARLEY_OK) {
		w->stats->failed++;
		worker_event(w, rec->batch_id, rec->id, rec->next_stage, "file_error", msg);
		worker_count_finished(w, rec);
	}
}

/* How many recordings the next take may lease: as many as the recent time
 * per recording fits in WORKER_TAKE_AHEAD_SECONDS (1 at first, and for
 * recordings that take longer). */
static size_t take_size_forced;

void worker_test_take_size(size_t n)
{
	take_size_forced = n > QUEUE_TAKE_MAX ? QUEUE_TAKE_MAX : n;
}

static size_t worker_take_size(const struct worker *w)
{
	if (take_size_forced)
		return take_size_forced;
	if (!(w->per_recording > 0))
		return 1;
	double n = WORKER_TAKE_AHEAD_SECONDS / w->per_recording;
	return n >= QUEUE_TAKE_MAX ? QUEUE_TAKE_MAX : n >= 1 ? (size_t)n : 1;
}

/* Give back what the last take leased from held[from] on (not started):
 * pending again, the attempt its lease counted returned, its queue entry
 * ready again. */
static void worker_unhold(struct worker *w, size_t from)
{
	size_t n = w->nheld > from ? w->nheld - from : 0;
	int64_t ids[QUEUE_TAKE_MAX];
	for (size_t i = 0; i < n; i++)
		ids[i] = w->held[from + i].id;
	struct parley_error err = {0};
	if (n && w->st && store_lease_unhold(w->st, w->p->owner, ids, n, &err) != PARLEY_OK)
		log_warn("giving back %zu recordings taken ahead: %s (their leases expire)", n, err.msg);
	for (size_t i = 0; n && w->q && i < n; i++) {
		struct parley_error qerr = {0};
		const struct store_recording *rec = &w->held[from + i];
		if (queue_settle(w->q, w->p->owner, rec, QUEUE_RELEASE, rec->next_stage, 0, &qerr))
			log_warn("%s: %s", rec->name, qerr.msg);
	}
	if (w->nheld > from)
		w->nheld = from;
	if (w->next_held > w->nheld)
		w->next_held = w->nheld;
}

/* A recording tried before (attempts > 1 with this take's: a retry, or one
 * whose worker died holding it) runs alone: the take keeps what comes
 * before it, or only it when it comes first, and gives the rest back. Every
 * recording a worker holds counts an attempt when taken, so a worker killed
 * by one of them costs the others held with it one attempt too — but only
 * once: tried before, they run alone from then on, and only their own runs
 * count. */
static void worker_take_trim(struct worker *w)
{
	size_t keep = w->nheld;
	for (size_t i = 0; i < w->nheld && keep == w->nheld; i++)
		if (w->held[i].attempts > 1)
			keep = i == 0 ? 1 : i;
	if (keep < w->nheld)
		worker_unhold(w, keep);
}

static void worker_process(struct worker *w, struct heartbeat *hb, const struct store_recording *rec)
{
	const struct worker_params *p = w->p;
	if (p->config.log_file_start)
		worker_event(w, rec->batch_id, rec->id, NULL, "file_start", rec->name);
	heartbeat_set(hb, rec->id);
	struct pipeline_run run = {
		.store = w->st, .env = NULL, .cfg = &w->cfg, .data_dir = p->data_dir,
		.stop = p->stop, .owner = p->owner, .lease_seconds = p->config.lease_seconds,
		.allowed = p->allowed.count ? &p->allowed : NULL,
		.on_stage_start = on_stage_start, .ud = w,
		.commit_window = p->config.commit_window, .clock = &w->clock, .finish_open = true,
		.carry = w->carry_open, .held = w->carry_held,
	};
	struct parley_error perr = {0};
	const struct pipeline *pl;
	enum parley_err prc = worker_pipeline(w, rec, &pl, &perr);
	if (prc == PARLEY_OK)
		prc = worker_config(w, rec, &perr);
	run.env = w->env;
	if (prc == PARLEY_OK)
		prc = pipeline_advance(&run, pl, rec, &perr);
	pthread_mutex_lock(&hb->lock);
	bool lost = hb->lost;
	pthread_mutex_unlock(&hb->lock);
	heartbeat_set(hb, 0);
	bool refused = prc != PARLEY_OK && store_lease_lost(&perr, rec->id);
	if (prc != PARLEY_OK)
		w->nstarted = 0; /* stage_start marks of held stages may have been rolled back */
	/* the carried transaction: ended by the pipeline, or still open in
	 * run.open, or untouched when the pipeline did not run */
	if (w->carry_open && (run.carry_done || run.carry_lost))
		worker_carry_end(w, run.carry_done, &perr);
	else if (w->carry_open && !run.open)
		worker_carry_flush(w);
	if ((lost || refused) && run.open) {
		store_rollback(w->st); /* the last stages are redone by the new owner */
		run.open = false;
		if (w->carry_open)
			worker_carry_end(w, false, &perr);
	}
	if (lost || refused) {
		/* Taken over after our lease expired (we stalled, or our host was
		 * cut off): the commit was refused, the stage is the new owner's. */
		if (refused) {
			worker_refused(w, rec, run.failed_stage, &perr);
			return;
		}
		log_warn("%s: lease lost while working; leaving it to its new owner", rec->name);
		struct parley_error qerr = {0};
		queue_settle(w->q, p->owner, rec, QUEUE_DONE, NULL, 0, &qerr);
		return;
	}
	worker_settle(w, rec, prc, &perr, &run);
}

enum parley_err worker_run(const struct worker_params *p, struct worker_stats *stats,
			   struct parley_error *err)
{
	memset(stats, 0, sizeof(*stats));
	srand((unsigned)getpid() ^ (unsigned)(time_mono() * 1000));
	struct worker w;
	memset(&w, 0, sizeof(w));
	pipeline_config_init(&w.cfg);
	w.p = p;
	w.stats = stats;
	w.down_backoff = 0.5;
	w.held = calloc(QUEUE_TAKE_MAX, sizeof(*w.held));
	if (!w.held) {
		pipeline_config_release(&w.cfg);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory starting the worker");
	}
	for (size_t i = 0; i < p->allowed.count && i < QUEUE_STAGES_MAX; i++)
		w.allowed_names[i] = p->allowed.stages[i]->name;
	struct heartbeat hb;
	memset(&hb, 0, sizeof(hb));
	hb.p = p;
	bool hb_started = false;
	struct webhook_loop *hooks = NULL;
	enum parley_err rc;
	/* The store and queue may be down when we start: wait for them. */
	while ((rc = store_open(p->config.store, &w.st, err)) == PARLEY_ERR_UNAVAILABLE && !(p->stop && *p->stop))
		worker_down(&w, err);
	if (rc)
		goto out;
	while ((rc = queue_open(p->config.queue, p->config.queue_prefix, &w.q, err)) == PARLEY_ERR_UNAVAILABLE &&
	       !(p->stop && *p->stop))
		worker_down(&w, err);
	if (rc)
		goto out;
	if ((rc = store_relax_commits(w.st, err)))
		goto out;
	w.carry_ok = p->config.commit_window > 0 && store_is_postgres(w.st);
	/* held stage commits (commit_window) end with the lease at the latest */
	if (p->config.commit_window > 0 && (rc = store_hold_limit(w.st, p->config.lease_seconds, err)))
		goto out;
	pthread_mutex_init(&hb.lock, NULL);
	pthread_cond_init(&hb.wake, NULL);
	if (pthread_create(&hb.thread, NULL, heartbeat_main, &hb) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "cannot start the heartbeat thread");
		goto out;
	}
	hb_started = true;
	/* Webhooks (issue 14): a sender thread with its own store connection
	 * delivers the outbox between and during leases. */
	struct webhook_loop_params wlp = {.send = webhook_default_send_params(), .poll = 1};
	snprintf(wlp.store, sizeof(wlp.store), "%s", p->config.store);
	snprintf(wlp.send.owner, sizeof(wlp.send.owner), "%s", p->owner);
	wlp.send.timeout = p->config.webhook_timeout;
	if ((rc = webhook_loop_start(&wlp, &hooks, err)))
		goto out;
	struct parley_error qerr = {0};
	queue_heartbeat(w.q, p->owner, p->config.lease_seconds * WORKER_LIVENESS_LEASES, &qerr);

	struct queue_take_params take = {
		.owner = p->owner, .lease_seconds = p->config.lease_seconds, .batch_id = p->batch_id,
		.stages = p->allowed.count ? w.allowed_names : NULL,
		.nstages = p->allowed.count < QUEUE_STAGES_MAX ? p->allowed.count : QUEUE_STAGES_MAX,
		.wait = p->idle_poll,
	};
	double next_recover = 0;
	while (!(p->stop && *p->stop)) {
		if (time_mono() >= next_recover) {
			worker_carry_flush(&w);
			if (queue_recover(w.q, w.st, &qerr) != PARLEY_OK)
				log_debug("queue recover: %s", qerr.msg);
			next_recover = time_mono() + WORKER_RECOVER_EVERY;
		}
		if (w.next_held >= w.nheld) {
			worker_carry_flush(&w); /* before the take reuses held[] */
			worker_count_flush(&w);
			w.nohooks_batch = 0;
			take.max = worker_take_size(&w);
			w.nheld = w.next_held = 0;
			rc = queue_take_many(w.q, w.st, &take, w.held, &w.nheld, err);
			w.held_at = time_mono();
			if (rc && parley_err_is_transient(rc)) {
				w.nheld = 0;
				worker_down(&w, err);
				continue;
			}
			if (rc)
				goto out;
			w.down_backoff = 0.5;
			worker_take_trim(&w);
		}
		if (w.nheld == 0) {
			if (p->exit_when_idle && worker_idle_done(&w))
				break;
			/* Idle: repair the queue more often, so a retry whose backoff
			 * ended is taken within about idle_poll of its time. */
			double soon = time_mono() + p->idle_poll;
			if (soon < next_recover)
				next_recover = soon;
			continue; /* take already waited idle_poll */
		}
		struct store_recording *rec = &w.held[w.next_held];
		if (w.next_held > 0 &&
		    time_mono() - w.held_at > p->config.lease_seconds * WORKER_HELD_STALE_LEASES) {
			/* held since the take and old now (its lease was not
			 * renewed): give the rest back */
			worker_carry_flush(&w);
			worker_unhold(&w, w.next_held);
			continue;
		}
		w.next_held++;
		if (rec->attempts > p->config.max_attempts) {
			worker_carry_flush(&w);
			worker_give_up(&w, rec);
			continue;
		}
		double t0 = time_mono();
		worker_process(&w, &hb, rec);
		double dt = time_mono() - t0;
		w.per_recording = w.per_recording > 0 ? 0.8 * w.per_recording + 0.2 * dt : dt;
	}
	rc = PARLEY_OK;
out:
	if (w.st) {
		worker_carry_flush(&w);
		worker_count_flush(&w);
	}
	/* recordings taken ahead and not started go back, their attempts returned */
	worker_unhold(&w, w.next_held);
	/* A worker leaving because the work is done keeps sending what falls
	 * due soon (the first retries); a stopped one leaves it to the next. */
	webhook_loop_stop(hooks, rc == PARLEY_OK && !(p->stop && *p->stop) ? WORKER_WEBHOOK_LINGER : 0);
	if (hb_started) {
		pthread_mutex_lock(&hb.lock);
		hb.quit = true;
		pthread_cond_signal(&hb.wake);
		pthread_mutex_unlock(&hb.lock);
		pthread_join(hb.thread, NULL);
		pthread_mutex_destroy(&hb.lock);
		pthread_cond_destroy(&hb.wake);
	}
	/* Leaving: no longer a live worker (a liveness that expires at once). */
	if (w.q) {
		struct parley_error ignored = {0};
		queue_heartbeat(w.q, p->owner, 0.001, &ignored);
	}
	free(w.held);
	stage_env_free(w.env);
	free(w.env_json);
	pipeline_config_release(&w.cfg);
	queue_close(w.q);
	store_close(w.st);
	return rc;
}

/* worker.c — see worker.h. */
#include "core/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "stages/env.h"
#include "util/log.h"
#include "util/timeutil.h"

struct worker_params worker_default_params(void)
{
	struct worker_params p;
	memset(&p, 0, sizeof(p));
	char host[64];
	worker_host(host, sizeof(host));
	snprintf(p.owner, sizeof(p.owner), "%s:%ld", host, (long)getpid());
	p.lease_seconds = 60;
	p.max_attempts = 3;
	p.backoff_base = 5;
	p.exit_when_idle = true;
	p.idle_poll = 0.2;
	p.pipeline = pipeline_default();
	p.cfg = stage_default_config();
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

/* The heartbeat thread renews the lease of the recording being worked on. */
struct heartbeat {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	const struct worker_params *p;
	int64_t rec_id; /* 0 = none */
	bool quit;
	bool lost;      /* the lease was taken by someone else */
};

static void *heartbeat_main(void *arg)
{
	struct heartbeat *hb = arg;
	struct store *st = NULL;
	struct parley_error err = {0};
	pthread_mutex_lock(&hb->lock);
	while (!hb->quit) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		double wait = hb->p->lease_seconds / 3.0;
		until.tv_sec += (time_t)wait;
		until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&hb->wake, &hb->lock, &until);
		if (hb->quit || hb->rec_id == 0)
			continue;
		int64_t rec = hb->rec_id;
		pthread_mutex_unlock(&hb->lock);
		enum parley_err rc = PARLEY_OK;
		if (!st)
			rc = store_open(hb->p->store_path, &st, &err);
		if (rc == PARLEY_OK)
			rc = store_lease_renew(st, rec, hb->p->owner, hb->p->lease_seconds, &err);
		pthread_mutex_lock(&hb->lock);
		if (rc == PARLEY_ERR_BUSY && hb->rec_id == rec) {
			hb->lost = true;
			log_warn("%s", err.msg);
		} else if (rc != PARLEY_OK) {
			log_warn("heartbeat: %s (will retry)", err.msg);
		}
	}
	pthread_mutex_unlock(&hb->lock);
	store_close(st);
	return NULL;
}

static void heartbeat_set(struct heartbeat *hb, int64_t rec_id)
{
	pthread_mutex_lock(&hb->lock);
	hb->rec_id = rec_id;
	hb->lost = false;
	pthread_mutex_unlock(&hb->lock);
}

static double backoff_delay(const struct worker_params *p, int attempt)
{
	double d = p->backoff_base;
	for (int i = 1; i < attempt; i++)
		d *= 2;
	/* ±20% jitter so retries of many recordings do not arrive together */
	double jitter = ((double)(rand() % 2001) / 1000.0 - 1.0) * 0.2;
	return d * (1.0 + jitter);
}

/* Decide the fate of a recording after pipeline_advance. */
static enum parley_err worker_settle(struct store *st, const struct worker_params *p,
				     const struct store_recording *rec, enum parley_err rc,
				     const struct parley_error *perr, const char *stage,
				     struct worker_stats *stats, struct parley_error *err)
{
	if (rc == PARLEY_OK) {
		stats->done++;
		enum parley_err r = store_recording_finish(st, rec->id, p->owner, STORE_DONE, NULL, NULL, err);
		if (r == PARLEY_OK)
			store_event_add(st, rec->batch_id, rec->id, NULL, "file_complete", rec->name, NULL);
		return r;
	}
	if (rc == PARLEY_ERR_ABORTED)
		return store_lease_release(st, rec->id, p->owner, err);
	char msg[PARLEY_ERROR_MSG_MAX + 64];
	snprintf(msg, sizeof(msg), "%s", perr->msg);
	if (parley_err_is_transient(rc) && rec->attempts < p->max_attempts) {
		stats->retried++;
		double delay = backoff_delay(p, rec->attempts);
		log_warn("%s: attempt %d of %d failed in stage %s, retrying in %.1f s: %s", rec->name,
			 rec->attempts, p->max_attempts, stage ? stage : "?", delay, msg);
		return store_recording_retry_later(st, rec->id, p->owner, delay, msg, err);
	}
	stats->failed++;
	enum parley_err r = store_recording_finish(st, rec->id, p->owner, STORE_FAILED,
						   parley_err_name(rc), msg, err);
	if (r == PARLEY_OK)
		store_event_add(st, rec->batch_id, rec->id, stage, "file_error", msg, NULL);
	return r;
}

enum parley_err worker_run(const struct worker_params *p, struct worker_stats *stats,
			   struct parley_error *err)
{
	memset(stats, 0, sizeof(*stats));
	srand((unsigned)getpid() ^ (unsigned)time_mono());
	struct store *st = NULL;
	struct stage_env *env = NULL;
	struct heartbeat hb;
	memset(&hb, 0, sizeof(hb));
	hb.p = p;
	bool hb_started = false;
	enum parley_err rc = store_open(p->store_path, &st, err);
	if (rc)
		goto out;
	if ((rc = stage_env_new(&env, err)))
		goto out;
	pthread_mutex_init(&hb.lock, NULL);
	pthread_cond_init(&hb.wake, NULL);
	if (pthread_create(&hb.thread, NULL, heartbeat_main, &hb) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "cannot start the heartbeat thread");
		goto out;
	}
	hb_started = true;

	while (!(p->stop && *p->stop)) {
		struct store_recording rec;
		bool found = false;
		rc = store_lease_next(st, p->batch_id, p->owner, p->lease_seconds, &rec, &found, err);
		if (rc && parley_err_is_transient(rc)) {
			log_warn("%s (will retry)", err->msg);
			time_sleep(p->idle_poll * 5);
			continue;
		}
		if (rc)
			goto out;
		if (!found) {
			if (p->exit_when_idle) {
				/* Nothing leasable now; leave only if nothing waits on a backoff. */
				struct store_progress prog;
				if (store_progress_get(st, p->batch_id, &prog, err) == PARLEY_OK &&
				    prog.pending == 0)
					break;
			}
			time_sleep(p->idle_poll);
			continue;
		}
		if (rec.attempts > p->max_attempts) {
			/* Each earlier lease of this recording ended without a verdict:
			 * its worker crashed or was killed. Do not crash forever. */
			char msg[160];
			snprintf(msg, sizeof(msg), "gave up after %d attempts: the worker processing it "
				 "crashed or was killed each time", rec.attempts - 1);
			struct parley_error ferr = {0};
			if (store_recording_finish(st, rec.id, p->owner, STORE_FAILED, "internal", msg, &ferr))
				log_warn("%s: %s", rec.name, ferr.msg);
			stats->failed++;
			continue;
		}
		heartbeat_set(&hb, rec.id);
		struct pipeline_run run = {
			.store = st, .env = env, .cfg = &p->cfg, .data_dir = p->data_dir, .stop = p->stop,
		};
		struct parley_error perr = {0};
		enum parley_err prc = pipeline_advance(&run, &p->pipeline, &rec, &perr);
		pthread_mutex_lock(&hb.lock);
		bool lost = hb.lost;
		pthread_mutex_unlock(&hb.lock);
		heartbeat_set(&hb, 0);
		if (lost) {
			log_warn("%s: lease lost while working; leaving it to its new owner", rec.name);
			continue;
		}
		struct parley_error serr = {0};
		enum parley_err src = worker_settle(st, p, &rec, prc, &perr, run.failed_stage, stats, &serr);
		if (src != PARLEY_OK)
			log_warn("%s: %s", rec.name, serr.msg);
	}
	rc = PARLEY_OK;
out:
	if (hb_started) {
		pthread_mutex_lock(&hb.lock);
		hb.quit = true;
		pthread_cond_signal(&hb.wake);
		pthread_mutex_unlock(&hb.lock);
		pthread_join(hb.thread, NULL);
		pthread_mutex_destroy(&hb.lock);
		pthread_cond_destroy(&hb.wake);
	}
	stage_env_free(env);
	store_close(st);
	return rc;
}

/* webhook_loop.c — the sender thread of webhook.h: webhook_deliver_due over
 * its own store connection, every `poll` seconds, until stopped. */
#include "core/webhook.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/timeutil.h"

#define LOOP_BATCH 16 /* deliveries per pass */

struct webhook_loop {
	struct webhook_loop_params p;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool quit;
	double linger_until; /* 0 = stop at once */
};

/* Wait up to seconds, or until told to quit. Returns quit. */
static bool loop_wait(struct webhook_loop *l, double seconds)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)seconds;
	until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	if (!l->quit)
		pthread_cond_timedwait(&l->wake, &l->lock, &until);
	bool quit = l->quit;
	pthread_mutex_unlock(&l->lock);
	return quit;
}

/* One pass; returns the attempts made (-1 after an error). */
static int loop_pass(struct webhook_loop *l, struct store **st)
{
	struct parley_error err = {0};
	enum parley_err rc = PARLEY_OK;
	if (!*st && (rc = store_open(l->p.store, st, &err))) {
		log_warn("webhooks: %s (will retry)", err.msg);
		return -1;
	}
	int attempted = 0;
	rc = webhook_deliver_due(*st, &l->p.send, LOOP_BATCH, &attempted, &err);
	if (rc) {
		log_warn("webhooks: %s (will retry)", err.msg);
		if (rc == PARLEY_ERR_UNAVAILABLE) {
			store_close(*st);
			*st = NULL;
		}
		return -1;
	}
	return attempted;
}

static void *loop_main(void *arg)
{
	struct webhook_loop *l = arg;
	struct store *st = NULL;
	for (;;) {
		int n = loop_pass(l, &st);
		if (n > 0) {
			pthread_mutex_lock(&l->lock);
			bool quit = l->quit;
			pthread_mutex_unlock(&l->lock);
			if (!quit)
				continue;
		} else if (!loop_wait(l, l->p.poll)) {
			continue;
		}
		break;
	}
	/* Leaving: keep sending what falls due before linger_until. */
	pthread_mutex_lock(&l->lock);
	double until = l->linger_until;
	pthread_mutex_unlock(&l->lock);
	while (until > 0 && time_wall() < until) {
		struct parley_error err = {0};
		double next = 0;
		if (loop_pass(l, &st) < 0 || !st) {
			time_sleep(l->p.poll);
			continue;
		}
		if (webhook_next_due(st, l->p.send.batch_id, &next, &err) != PARLEY_OK) {
			log_warn("webhooks: %s", err.msg);
			time_sleep(l->p.poll);
			continue;
		}
		if (next == 0 || next > until)
			break;
		double wait = next - time_wall();
		time_sleep(wait < 0.05 ? 0.05 : wait > l->p.poll ? l->p.poll : wait);
	}
	store_close(st);
	return NULL;
}

enum parley_err webhook_loop_start(const struct webhook_loop_params *p, struct webhook_loop **out,
				   struct parley_error *err)
{
	*out = NULL;
	struct webhook_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory starting the webhook sender");
	l->p = *p;
	if (!(l->p.poll > 0))
		l->p.poll = 1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->wake);
		free(l);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "cannot start the webhook sender thread");
	}
	*out = l;
	return PARLEY_OK;
}

void webhook_loop_stop(struct webhook_loop *l, double linger)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->quit = true;
	l->linger_until = linger > 0 ? time_wall() + linger : 0;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	free(l);
}

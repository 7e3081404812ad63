/* ratelimit.c — see ratelimit.h. A small open-addressed table (FNV-1a,
 * linear probing over a bounded run), under one mutex. */
#include "web/ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_MAX 16

struct rl_slot {
	char key[RATELIMIT_KEY_MAX];
	double window_start, locked_until, last;
	unsigned count;
	int used;
};

struct ratelimit {
	struct ratelimit_params p;
	pthread_mutex_t lock;
	struct rl_slot *slots;
};

struct ratelimit_params ratelimit_default_params(void)
{
	return (struct ratelimit_params){.max = 10, .window = 600, .lockout = 900, .slots = 4096};
}

struct ratelimit *ratelimit_new(const struct ratelimit_params *p)
{
	if (!p || !p->max || !(p->window > 0) || !(p->lockout >= 0) || !p->slots)
		return NULL;
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(p->slots, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	rl->p = *p;
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Stale: neither counting in its window nor locked. */
static int stale(const struct ratelimit *rl, const struct rl_slot *e, double now)
{
	return !e->used || (now >= e->locked_until && now - e->window_start >= rl->p.window);
}

/* The slot of key; create: take a free or stale one, else the oldest of the run. */
static struct rl_slot *find(struct ratelimit *rl, const char *key, double now, int create)
{
	char k[RATELIMIT_KEY_MAX];
	snprintf(k, sizeof(k), "%s", key);
	size_t n = rl->p.slots, start = (size_t)(hash(k) % n);
	struct rl_slot *spare = NULL;
	for (size_t i = 0; i < PROBE_MAX && i < n; i++) {
		struct rl_slot *e = &rl->slots[(start + i) % n];
		if (e->used && strcmp(e->key, k) == 0)
			return e;
		if (!spare || (stale(rl, e, now) && !stale(rl, spare, now)) ||
		    (stale(rl, e, now) == stale(rl, spare, now) && e->last < spare->last))
			spare = e;
	}
	if (!create || !spare)
		return NULL;
	memset(spare, 0, sizeof(*spare));
	spare->used = 1;
	snprintf(spare->key, sizeof(spare->key), "%s", k);
	spare->window_start = now;
	return spare;
}

double ratelimit_locked(struct ratelimit *rl, const char *key, double now)
{
	if (!rl || !key)
		return 0;
	pthread_mutex_lock(&rl->lock);
	struct rl_slot *e = find(rl, key, now, 0);
	double wait = e && e->locked_until > now ? e->locked_until - now : 0;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

double ratelimit_note(struct ratelimit *rl, const char *key, double now)
{
	if (!rl || !key)
		return 0;
	pthread_mutex_lock(&rl->lock);
	double started = 0;
	struct rl_slot *e = find(rl, key, now, 1);
	if (e) {
		e->last = now;
		if (now - e->window_start >= rl->p.window) {
			e->window_start = now;
			e->count = 0;
		}
		if (++e->count >= rl->p.max) {
			e->locked_until = now + rl->p.lockout;
			e->window_start = now;
			e->count = 0;
			started = rl->p.lockout;
		}
	}
	pthread_mutex_unlock(&rl->lock);
	return started;
}

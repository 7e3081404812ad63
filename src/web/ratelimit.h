/*
 * ratelimit.h — failures counted per key (a client address, a session id)
 * in a fixed window, with a lockout once a key has too many: the join-code
 * and sign-up guards of `parley serve`.
 *
 *   struct ratelimit_params p = ratelimit_default_params();   // 10 in 10 min → 15 min
 *   struct ratelimit *rl = ratelimit_new(&p);
 *   double wait = ratelimit_locked(rl, "a:10.0.0.7", time_wall());
 *   if (wait > 0) → 429, Retry-After: wait
 *   if (the code was wrong) ratelimit_note(rl, "a:10.0.0.7", time_wall());
 *   ratelimit_free(rl);
 *
 * Memory is bounded: slots keys at most (keys longer than
 * RATELIMIT_KEY_MAX - 1 bytes are cut); when every slot is in use the key
 * seen longest ago gives way. Time is passed in (seconds, any monotonic
 * origin), so the logic is tested without a clock. Thread-safe (a mutex).
 */
#ifndef PARLEY_WEB_RATELIMIT_H
#define PARLEY_WEB_RATELIMIT_H

#include <stddef.h>

#define RATELIMIT_KEY_MAX 64

struct ratelimit_params {
	unsigned max;   /* events in one window that start a lockout (10) */
	double window;  /* seconds (600) */
	double lockout; /* seconds (900) */
	size_t slots;   /* keys remembered (4096) */
};
struct ratelimit_params ratelimit_default_params(void);

struct ratelimit;

/* NULL when out of memory or the parameters are 0. */
struct ratelimit *ratelimit_new(const struct ratelimit_params *p);
void ratelimit_free(struct ratelimit *rl); /* accepts NULL */
/* Seconds until key may try again (0: now). */
double ratelimit_locked(struct ratelimit *rl, const char *key, double now);
/* Count one event of key; returns the lockout it started (seconds), else 0. */
double ratelimit_note(struct ratelimit *rl, const char *key, double now);

#endif

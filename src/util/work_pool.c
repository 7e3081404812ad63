#include "util/work_pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/timeutil.h"

struct job {
	void (*run)(void *ud, double waited);
	void *ud;
	double queued_at;
};

struct work_pool {
	struct work_pool_params p;
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct job *ring; /* p.queue + p.workers slots: a job waits until a worker takes it */
	int cap, head, count;
	int busy;         /* jobs running */
	bool stopping;
	pthread_t threads[WORK_POOL_WORKERS_MAX];
	int nthreads;
};

struct work_pool_params work_pool_default_params(void)
{
	return (struct work_pool_params){.workers = 2, .queue = 8};
}

static void *worker_main(void *arg)
{
	struct work_pool *wp = arg;
	pthread_mutex_lock(&wp->lock);
	for (;;) {
		while (wp->count == 0 && !wp->stopping)
			pthread_cond_wait(&wp->ready, &wp->lock);
		if (wp->count == 0) /* stopping and drained */
			break;
		struct job j = wp->ring[wp->head];
		wp->head = (wp->head + 1) % wp->cap;
		wp->count--;
		wp->busy++;
		pthread_mutex_unlock(&wp->lock);
		j.run(j.ud, time_mono() - j.queued_at);
		pthread_mutex_lock(&wp->lock);
		wp->busy--;
	}
	pthread_mutex_unlock(&wp->lock);
	return NULL;
}

enum parley_err work_pool_new(const struct work_pool_params *p, struct work_pool **out,
			      struct parley_error *err)
{
	*out = NULL;
	if (p->workers < 1 || p->workers > WORK_POOL_WORKERS_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "decode workers must be 1 to %d",
					WORK_POOL_WORKERS_MAX);
	if (p->queue < 0 || p->queue > WORK_POOL_QUEUE_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "the decode queue must be 0 to %d",
					WORK_POOL_QUEUE_MAX);
	struct work_pool *wp = calloc(1, sizeof(*wp));
	if (!wp)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	wp->p = *p;
	wp->cap = p->queue + p->workers;
	wp->ring = calloc((size_t)wp->cap, sizeof(*wp->ring));
	if (!wp->ring) {
		free(wp);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&wp->lock, NULL);
	pthread_cond_init(&wp->ready, NULL);
	for (int i = 0; i < p->workers; i++) {
		if (pthread_create(&wp->threads[i], NULL, worker_main, wp) != 0) {
			work_pool_free(wp);
			return parley_error_set(err, PARLEY_ERR_NOMEM, "cannot start decode worker %d", i + 1);
		}
		wp->nthreads++;
	}
	*out = wp;
	return PARLEY_OK;
}

bool work_pool_submit(struct work_pool *wp, void (*run)(void *ud, double waited), void *ud)
{
	pthread_mutex_lock(&wp->lock);
	/* running and waiting jobs at most workers + queue (the ring's size) */
	bool room = !wp->stopping && wp->count + wp->busy < wp->cap;
	if (room) {
		wp->ring[(wp->head + wp->count) % wp->cap] =
			(struct job){.run = run, .ud = ud, .queued_at = time_mono()};
		wp->count++;
		pthread_cond_signal(&wp->ready);
	}
	pthread_mutex_unlock(&wp->lock);
	return room;
}

int work_pool_pending(struct work_pool *wp)
{
	pthread_mutex_lock(&wp->lock);
	int n = wp->count + wp->busy;
	pthread_mutex_unlock(&wp->lock);
	return n;
}

void work_pool_free(struct work_pool *wp)
{
	if (!wp)
		return;
	pthread_mutex_lock(&wp->lock);
	wp->stopping = true;
	pthread_cond_broadcast(&wp->ready);
	pthread_mutex_unlock(&wp->lock);
	for (int i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	pthread_cond_destroy(&wp->ready);
	pthread_mutex_destroy(&wp->lock);
	free(wp->ring);
	free(wp);
}

/* queue.c — driver choice; see queue.h. */
#include "queue/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *prefix;
	const struct queue_driver *drv;
} queue_schemes[] = {
	{"redis://", &queue_driver_redis},
	{"store", &queue_driver_store},
};

enum parley_err queue_open(const char *target, const char *prefix, struct queue **out,
			   struct parley_error *err)
{
	*out = NULL;
	if (!target || !*target)
		target = "store";
	if (!prefix || !*prefix)
		prefix = "parley:";
	if (strlen(prefix) >= QUEUE_PREFIX_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID, "queue key prefix '%s' is longer than %d bytes",
					prefix, QUEUE_PREFIX_MAX - 1);
	for (size_t i = 0; i < sizeof(queue_schemes) / sizeof(queue_schemes[0]); i++) {
		size_t n = strlen(queue_schemes[i].prefix);
		if (strncmp(target, queue_schemes[i].prefix, n) == 0 &&
		    (queue_schemes[i].drv != &queue_driver_store || target[n] == '\0'))
			return queue_schemes[i].drv->open(target, prefix, out, err);
	}
	return parley_error_set(err, PARLEY_ERR_INVALID,
				"unknown queue '%s' (use 'store' or redis://HOST[:PORT][/DB])", target);
}

void queue_close(struct queue *q)
{
	if (q)
		q->drv->close(q);
}

#define PUSH_CHUNK 512

struct push_ctx {
	struct queue *q;
	int64_t ids[PUSH_CHUNK];
	char stages[PUSH_CHUNK][STORE_STAGE_NAME_MAX];
	const char *stage_ptrs[PUSH_CHUNK];
	int64_t orders[PUSH_CHUNK];
	size_t n;
	enum parley_err rc;
	struct parley_error *err;
};

static enum parley_err push_flush(struct push_ctx *c)
{
	if (c->n == 0 || c->rc)
		return c->rc;
	for (size_t i = 0; i < c->n; i++)
		c->stage_ptrs[i] = c->stages[i];
	c->rc = queue_push(c->q, c->ids, c->stage_ptrs, c->orders, c->n, c->err);
	c->n = 0;
	return c->rc;
}

static int push_one(int64_t id, const char *next_stage, int64_t order, void *ud)
{
	struct push_ctx *c = ud;
	c->orders[c->n] = order;
	c->ids[c->n] = id;
	snprintf(c->stages[c->n++], sizeof(c->stages[0]), "%s", next_stage);
	return c->n == PUSH_CHUNK && push_flush(c) != PARLEY_OK;
}

enum parley_err queue_push_leasable(struct queue *q, struct store *st, struct parley_error *err)
{
	if (q->drv == &queue_driver_store)
		return PARLEY_OK;
	struct push_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory queueing recordings");
	c->q = q;
	c->err = err;
	enum parley_err rc = store_leasable_each(st, 10000000, push_one, c, err);
	if (rc == PARLEY_OK)
		rc = push_flush(c);
	free(c);
	return rc;
}

enum parley_err queue_push_recording(struct queue *q, struct store *st, int64_t rec_id,
				     struct parley_error *err)
{
	if (q->drv == &queue_driver_store)
		return PARLEY_OK;
	struct store_recording rec;
	enum parley_err rc = store_recording_get(st, rec_id, &rec, err);
	if (rc)
		return rc;
	if (rec.status != STORE_PENDING && rec.status != STORE_RUNNING)
		return PARLEY_OK; /* held, done or failed: nothing to take */
	const char *stage = rec.next_stage;
	int64_t order = store_order_key(rec.priority, rec.tag);
	return queue_push(q, &rec.id, &stage, &order, 1, err);
}

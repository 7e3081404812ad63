/*
 * tick.c — six test stages (tick1..tick6, the "noop" pipeline) whose only
 * work is one countable effect: a row in test_effects, written in the
 * stage's commit. A stage committed twice for one recording would show as
 * two rows, so the chaos test can prove "exactly once", and bench-queue
 * measures the engine itself, without speech engines.
 *
 * Faults for tests come from a test-only hook (tick_faults_set, tick.h);
 * the parley binary never sets any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/stage.h"
#include "stages/tick.h"
#include "util/timeutil.h"

struct tick_fault {
	char stage[32], mode[32], prefix[128];
	double seconds;
};

/* The faults tick_faults_set installed (none in the parley binary). */
static struct tick_fault tick_faults[TICK_FAULTS_MAX];
static size_t tick_nfaults;

int tick_faults_set(const char *spec)
{
	tick_nfaults = 0;
	const char *p = spec ? spec : "";
	while (*p && tick_nfaults < TICK_FAULTS_MAX) {
		size_t len = strcspn(p, ";");
		char entry[256];
		snprintf(entry, sizeof(entry), "%.*s", (int)(len < sizeof(entry) ? len : sizeof(entry) - 1), p);
		struct tick_fault f = {.seconds = 0};
		int got = sscanf(entry, " %31s %31s %127s %lf", f.stage, f.mode, f.prefix, &f.seconds);
		if (got >= 3)
			tick_faults[tick_nfaults++] = f;
		else if (len > 0)
			fprintf(stderr, "parley: test faults: ignoring '%s' (want STAGE MODE PREFIX [SECONDS])\n",
				entry);
		p += len;
		if (*p == ';')
			p++;
	}
	return (int)tick_nfaults;
}

static bool fault_applies(const struct tick_fault *f, const struct stage_ctx *ctx)
{
	return strcmp(f->stage, ctx->stage_name) == 0 &&
	       (strcmp(f->prefix, "*") == 0 ||
		strncmp(ctx->rec->name, f->prefix, strlen(f->prefix)) == 0);
}

static enum parley_err tick_fault(const struct tick_fault *f, struct stage_ctx *ctx,
				  struct parley_error *err)
{
	if (strcmp(f->mode, "transient-once") == 0 && ctx->rec->attempts <= 1)
		return parley_error_set(err, PARLEY_ERR_ENGINE, "%s: injected transient failure (attempt %d)",
					ctx->stage_name, ctx->rec->attempts);
	if (strcmp(f->mode, "transient") == 0)
		return parley_error_set(err, PARLEY_ERR_ENGINE, "%s: injected transient failure (attempt %d)",
					ctx->stage_name, ctx->rec->attempts);
	if (strcmp(f->mode, "permanent") == 0)
		return parley_error_set(err, PARLEY_ERR_INVALID, "%s: injected permanent failure",
					ctx->stage_name);
	if (strcmp(f->mode, "crash") == 0 || (strcmp(f->mode, "crash-once") == 0 && ctx->rec->attempts <= 1))
		abort();
	if (strcmp(f->mode, "sleep") == 0) {
		double until = time_mono() + f->seconds;
		while (time_mono() < until) {
			if (ctx->stop && *ctx->stop)
				return parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped during the stage",
							ctx->stage_name);
			time_sleep(0.05);
		}
	}
	return PARLEY_OK;
}

struct tick_effect {
	const char *stage;
	char owner[32]; /* the process that committed ("pid:N") */
};

static enum parley_err tick_save(struct store *st, int64_t rec_id, void *data, struct parley_error *err)
{
	const struct tick_effect *e = data;
	return store_test_effect_add(st, rec_id, e->stage, e->owner, err);
}

static enum parley_err tick_run(struct stage_ctx *ctx, struct parley_error *err)
{
	for (size_t i = 0; i < tick_nfaults; i++) {
		if (!fault_applies(&tick_faults[i], ctx))
			continue;
		enum parley_err rc = tick_fault(&tick_faults[i], ctx, err);
		if (rc)
			return rc;
	}
	struct tick_effect e = {ctx->stage_name, ""};
	snprintf(e.owner, sizeof(e.owner), "pid:%ld", (long)getpid());
	return stage_commit(ctx, tick_save, &e, err);
}

static const char *const tick_tables[] = {"test_effects", NULL};

#define TICK_STAGE(n) \
	const struct stage stage_tick##n = {.name = "tick" #n, \
					    .description = "test stage: one countable effect", \
					    .run = tick_run, .result_tables = tick_tables, \
					    .no_files = true};
TICK_STAGE(1)
TICK_STAGE(2)
TICK_STAGE(3)
TICK_STAGE(4)
TICK_STAGE(5)
TICK_STAGE(6)

/*
 * cmd_status.c — `parley status [BATCH] [--store TARGET]`: per batch, the
 * recordings pending/running/done/failed, the audio hours done, the runs of
 * each stage and a derived batch status; `parley failed [BATCH] [--store TARGET]`:
 * the failed recordings with their error and attempts.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/pipeline.h"
#include "queue/queue.h"
#include "stages/stage.h"
#include "store/store.h"
#include "util/fs.h"

#define STATUS_MAX_STAGES 32

static const char status_usage[] =
	"usage: parley status [BATCH] [--store TARGET]\n"
	"\n"
	"For each batch (or just BATCH): the recordings pending, running, done and\n"
	"failed, the hours of audio done, and for each stage how many recordings\n"
	"have it done, failed or still to do (failed recordings are not counted\n"
	"as still to do for their later stages). The batch status is Pending\n"
	"(nothing started), InProgress, Completed or CompletedWithErrors (done,\n"
	"some recordings failed; see `parley failed`).\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 shown, 1 the store failed, 2 usage error or no such batch.\n";

static const char failed_usage[] =
	"usage: parley failed [BATCH] [--store TARGET]\n"
	"\n"
	"List the failed recordings of every batch (or just BATCH), one a line:\n"
	"batch, recording name, attempts and the error. `parley retry` queues\n"
	"them again.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 listed (even when none failed), 1 the store failed,\n"
	"2 usage error or no such batch.\n";

/* Parse "[BATCH] [--store TARGET]". Returns -1 for --help, 0 ok, 2 usage error. */
static int batch_cmd_parse(const char *who, const char *usage, int argc, char **argv,
			   struct parley_config *cfg, const char **batch)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_engine_opts eo = {0};
	*batch = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'h': fputs(usage, stdout); return -1;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (cli_engine_config(who, &eo, cfg))
		return 2;
	if (argc - optind > 1) {
		fprintf(stderr, "%s: give at most one BATCH\n\n%s", who, usage);
		return 2;
	}
	if (optind < argc)
		*batch = argv[optind];
	return 0;
}

struct batch_walk {
	struct store *st;
	const struct parley_config *cfg;
	const char *only; /* NULL = every batch */
	int found;
	enum parley_err rc;
	struct parley_error err;
};

static const char *batch_state(const struct store_progress *p, bool started)
{
	if (!started)
		return "Pending";
	if (p->pending || p->running)
		return "InProgress";
	return p->failed ? "CompletedWithErrors" : "Completed";
}

static int status_batch(const struct store_batch *b, void *ud)
{
	struct batch_walk *w = ud;
	if (w->only && strcmp(w->only, b->name) != 0)
		return 0;
	w->found++;
	struct store_progress p;
	struct store_stage_count counts[STATUS_MAX_STAGES];
	size_t n = 0;
	if ((w->rc = store_progress_get(w->st, b->id, &p, &w->err)) ||
	    (w->rc = store_stage_counts(w->st, b->id, counts, STATUS_MAX_STAGES, &n, &w->err)))
		return 1;
	bool started = p.running || p.done || p.failed;
	for (size_t i = 0; i < n; i++)
		started = started || counts[i].done || counts[i].failed || counts[i].running;
	printf("batch %s: %s\n", b->name, batch_state(&p, started));
	printf("  recordings: %d pending, %d running, %d done, %d failed (%d in all)\n", p.pending,
	       p.running, p.done, p.failed, p.total);
	if (p.held) /* a batch of `parley batch create` not started yet */
		printf("  held until the batch starts: %d (`parley batch start`)\n", p.held);
	printf("  audio done: %.3f h\n", p.audio_done / 3600.0);
	printf("  %-10s %7s %7s %7s  %s\n", "stage", "done", "failed", "pending", "status");
	struct pipeline pl = pipeline_default();
	char list[STORE_PIPELINE_MAX];
	const struct stage *rows[64];
	if ((w->rc = store_batch_get_pipeline(w->st, b->id, list, sizeof(list), &w->err)))
		return 1;
	if (list[0] && (w->rc = pipeline_parse(list, rows, &pl, &w->err)))
		return 1;
	for (size_t s = 0; s < pl.count; s++) {
		struct store_stage_count z = {.pending = 0};
		const struct store_stage_count *c = &z;
		for (size_t i = 0; i < n; i++)
			if (strcmp(counts[i].stage, pl.stages[s]->name) == 0)
				c = &counts[i];
		int done = c->done + c->skipped;
		/* A failed recording never reaches its later stages: not pending. */
		int gone = c->failed > p.failed ? c->failed : p.failed;
		int pending = p.total - done - gone;
		if (pending < 0)
			pending = 0;
		struct store_progress sp = {.pending = pending, .running = c->running,
					    .done = done, .failed = c->failed};
		printf("  %-10s %7d %7d %7d  %s\n", pl.stages[s]->name, done, c->failed, pending,
		       batch_state(&sp, done || c->failed || c->running));
	}
	return 0;
}

static int failed_recording(const struct store_recording *rec, void *ud)
{
	const char *batch = ud;
	if (rec->status == STORE_FAILED)
		printf("%s\t%s\tattempts %d\t%s\n", batch, rec->name, rec->attempts, rec->error);
	return 0;
}

static int failed_batch(const struct store_batch *b, void *ud)
{
	struct batch_walk *w = ud;
	if (w->only && strcmp(w->only, b->name) != 0)
		return 0;
	w->found++;
	w->rc = store_recording_each(w->st, b->id, failed_recording, (void *)b->name, &w->err);
	return w->rc != PARLEY_OK;
}

/* The queue line of `parley status`: depth and live workers. */
static void status_queue(const struct parley_config *cfg, struct store *st)
{
	struct queue *q = NULL;
	struct queue_stats qs;
	struct parley_error err = {0};
	if (queue_open(cfg->queue, cfg->queue_prefix, &q, &err) ||
	    queue_stats_get(q, st, &qs, &err)) {
		printf("queue %s: unavailable: %s\n", cfg->queue, err.msg);
	} else {
		printf("queue %s: %ld ready, %ld waiting to retry, %ld being processed; %d live worker%s\n",
		       q->target, qs.ready, qs.delayed, qs.processing, qs.workers,
		       qs.workers == 1 ? "" : "s");
	}
	queue_close(q);
}

static int batch_cmd(const char *who, const char *usage, int (*fn)(const struct store_batch *, void *),
		     int argc, char **argv)
{
	const char *batch;
	struct parley_config cfg;
	int prc = batch_cmd_parse(who, usage, argc, argv, &cfg, &batch);
	if (prc)
		return prc < 0 ? 0 : prc;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int orc = cli_store_open(who, &cfg, false, &st, data, sizeof(data));
	if (orc)
		return orc;
	const char *store_path = store_target(st);
	struct batch_walk w = {.st = st, .cfg = &cfg, .only = batch};
	int status = 0;
	enum parley_err rc = store_batch_each(st, fn, &w, &w.err);
	if (rc == PARLEY_OK)
		rc = w.rc;
	if (rc) {
		fprintf(stderr, "%s: %s: %s\n", who, store_path, w.err.msg);
		status = 1;
	} else if (batch && !w.found) {
		fprintf(stderr, "%s: %s: no batch named '%s'\n", who, store_path, batch);
		status = 2;
	} else if (fn == status_batch) {
		status_queue(&cfg, st);
	}
	store_close(st);
	return status;
}

int cmd_status(int argc, char **argv)
{
	return batch_cmd("parley status", status_usage, status_batch, argc, argv);
}


int cmd_failed(int argc, char **argv)
{
	return batch_cmd("parley failed", failed_usage, failed_batch, argc, argv);
}

/*
 * cmd_status.c — `parley status [BATCH] --store PATH`: per batch, the
 * recordings pending/running/done/failed, the audio hours done, the runs of
 * each stage and a derived batch status; `parley failed [BATCH] --store PATH`:
 * the failed recordings with their error and attempts.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/pipeline.h"
#include "stages/stage.h"
#include "store/store.h"
#include "util/fs.h"

#define STATUS_MAX_STAGES 32

static const char status_usage[] =
	"usage: parley status [BATCH] --store PATH\n"
	"\n"
	"For each batch (or just BATCH): the recordings pending, running, done and\n"
	"failed, the hours of audio done, and for each stage how many recordings\n"
	"have it done, failed or still to do (failed recordings are not counted\n"
	"as still to do for their later stages). The batch status is Pending\n"
	"(nothing started), InProgress, Completed or CompletedWithErrors (done,\n"
	"some recordings failed; see `parley failed`).\n"
	"\n"
	"options:\n"
	"      --store PATH   the SQLite store (required; must exist)\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 shown, 1 the store failed, 2 usage error or no such batch.\n";

static const char failed_usage[] =
	"usage: parley failed [BATCH] --store PATH\n"
	"\n"
	"List the failed recordings of every batch (or just BATCH), one a line:\n"
	"batch, recording name, attempts and the error. `parley retry` queues\n"
	"them again.\n"
	"\n"
	"options:\n"
	"      --store PATH   the SQLite store (required; must exist)\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 listed (even when none failed), 1 the store failed,\n"
	"2 usage error or no such batch.\n";

/* Parse "[BATCH] --store PATH". Returns -1 for --help, 0 ok, 2 usage error. */
static int batch_cmd_parse(const char *who, const char *usage, int argc, char **argv,
			   const char **store_path, const char **batch)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*store_path = NULL;
	*batch = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': *store_path = optarg; break;
		case 'h': fputs(usage, stdout); return -1;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!*store_path) {
		fprintf(stderr, "%s: --store PATH is required\n\n%s", who, usage);
		return 2;
	}
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
	printf("  audio done: %.3f h\n", p.audio_done / 3600.0);
	printf("  %-10s %7s %7s %7s\n", "stage", "done", "failed", "pending");
	struct pipeline pl = pipeline_default();
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
		printf("  %-10s %7d %7d %7d\n", pl.stages[s]->name, done, c->failed,
		       pending < 0 ? 0 : pending);
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

static int batch_cmd(const char *who, const char *usage, int (*fn)(const struct store_batch *, void *),
		     int argc, char **argv)
{
	const char *store_path, *batch;
	int prc = batch_cmd_parse(who, usage, argc, argv, &store_path, &batch);
	if (prc)
		return prc < 0 ? 0 : prc;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	if (cli_store_open(who, store_path, false, &st, data, sizeof(data)))
		return 1;
	struct batch_walk w = {.st = st, .only = batch};
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

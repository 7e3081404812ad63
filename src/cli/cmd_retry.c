/*
 * cmd_retry.c — `parley retry RECORDING_NAME|--batch B|--all [--store TARGET]`:
 * put failed recordings back in the queue (attempts reset, error cleared);
 * `parley worker` processes them again.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "store/store.h"
#include "util/fs.h"

static const char retry_usage[] =
	"usage: parley retry RECORDING_NAME [--store TARGET] [--batch B]\n"
	"       parley retry --batch B [--store TARGET]\n"
	"       parley retry --all [--store TARGET]\n"
	"\n"
	"Put failed recordings back in the queue: the recording named\n"
	"RECORDING_NAME (in every batch, or only batch B), every failed recording\n"
	"of batch B, or every failed recording of the store. Their attempts start\n"
	"over and finished stages are kept; run `parley worker` to process them.\n"
	"Prints how many recordings were queued again.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -b, --batch B      only recordings of batch B\n"
	"  -a, --all          every failed recording of every batch\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 queued again, 1 the store failed or no failed recording\n"
	"has that name, 2 usage error or no such batch.\n";

struct retry_ctx {
	struct store *st;
	const char *name; /* NULL = every failed recording */
	const char *only; /* NULL = every batch */
	int requeued, matched;
	enum parley_err rc;
	struct parley_error err;
};

static int retry_recording(const struct store_recording *rec, void *ud)
{
	struct retry_ctx *c = ud;
	if (c->name && strcmp(c->name, rec->name) != 0)
		return 0;
	c->matched++;
	if (rec->status != STORE_FAILED)
		return 0;
	if ((c->rc = store_recording_requeue(c->st, rec->id, &c->err)))
		return 1;
	c->requeued++;
	return 0;
}

static int retry_batch(const struct store_batch *b, void *ud)
{
	struct retry_ctx *c = ud;
	if (c->only && strcmp(c->only, b->name) != 0)
		return 0;
	enum parley_err rc = store_recording_each(c->st, b->id, retry_recording, c, &c->err);
	if (rc)
		c->rc = rc;
	return c->rc != PARLEY_OK;
}

int cmd_retry(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"batch", required_argument, NULL, 'b'},
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *batch = NULL;
	struct cli_engine_opts eo = {0};
	bool all = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:ah", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'b': batch = optarg; break;
		case 'a': all = true; break;
		case 'h': fputs(retry_usage, stdout); return 0;
		default: fputs(retry_usage, stderr); return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "parley retry: give at most one RECORDING_NAME\n\n%s", retry_usage);
		return 2;
	}
	const char *name = optind < argc ? argv[optind] : NULL;
	if (all && (name || batch)) {
		fprintf(stderr, "parley retry: --all takes no RECORDING_NAME or --batch\n\n%s", retry_usage);
		return 2;
	}
	if (!all && !name && !batch) {
		fprintf(stderr, "parley retry: say what to retry: RECORDING_NAME, --batch B or --all\n\n%s",
			retry_usage);
		return 2;
	}
	struct parley_config cfg;
	if (cli_engine_config("parley retry", &eo, &cfg))
		return 2;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = cli_store_open("parley retry", &cfg, false, &st, data, sizeof(data));
	if (status)
		return status;
	status = 1;
	const char *store_path = store_target(st);
	struct retry_ctx ctx = {.st = st, .name = name, .only = batch};
	int64_t batch_id;
	if (batch && store_batch_find(st, batch, &batch_id, &ctx.err)) {
		fprintf(stderr, "parley retry: %s: %s\n", store_path, ctx.err.msg);
		status = ctx.err.code == PARLEY_ERR_NOT_FOUND ? 2 : 1;
		goto out;
	}
	enum parley_err rc = store_batch_each(st, retry_batch, &ctx, &ctx.err);
	if (rc == PARLEY_OK)
		rc = ctx.rc;
	if (rc) {
		fprintf(stderr, "parley retry: %s: %s\n", store_path, ctx.err.msg);
		goto out;
	}
	if (name && ctx.matched == 0) {
		fprintf(stderr, "parley retry: %s: no recording named '%s'%s%s\n", store_path, name,
			batch ? " in batch " : "", batch ? batch : "");
		goto out;
	}
	if (name && ctx.requeued == 0) {
		fprintf(stderr, "parley retry: %s: recording '%s' has not failed\n", store_path, name);
		goto out;
	}
	if (ctx.requeued && cli_queue_push_leasable("parley retry", &cfg, st))
		goto out;
	printf("%d recordings queued again\n", ctx.requeued);
	status = 0;
out:
	store_close(st);
	return status;
}

/*
 * cmd_export.c — `parley export BATCH [--store TARGET] -o OUT`: write the outputs
 * `parley run` writes (OUT/<name>/transcript.*, samples, OUT/summary.csv)
 * for every done recording of a batch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/batch_config.h"
#include "core/config.h"
#include "core/engines_info.h"
#include "core/export.h"
#include "stages/env.h"
#include "store/store.h"
#include "text/lexicon.h"
#include "util/fs.h"

static const char export_usage[] =
	"usage: parley export BATCH [--store TARGET] -o OUT\n"
	"\n"
	"Write the outputs of every done recording of BATCH, the same files\n"
	"`parley run` writes: OUT/<name>/transcript.json, .srt, .vtt, .rttm, .txt,\n"
	"samples/speaker-<n>.wav and OUT/summary.csv. Recordings not done yet are\n"
	"counted and left out. Exporting twice gives identical bytes.\n"
	"The engines and the lexicon (whose thresholds mark target words\n"
	"\"counted\") come from the batch's stored pipeline configuration: the\n"
	"lexicon the words stage used, even if its file changed since.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -o, --out DIR        output folder (required; created if missing)\n"
	"  -h, --help           show this help\n"
	"\n"
	"exit status: 0 written, 1 the store or a write failed, 2 usage error.\n";

struct export_ctx {
	struct store *st;
	const struct export_params *ep;
	int done, failed, other, errors;
};

static int export_one(const struct store_recording *rec, void *ud)
{
	struct export_ctx *c = ud;
	if (rec->status == STORE_FAILED) {
		c->failed++;
	} else if (rec->status != STORE_DONE) {
		c->other++;
	} else {
		struct parley_error err = {0};
		if (export_recording(c->st, c->ep, rec, &err) != PARLEY_OK) {
			fprintf(stderr, "parley export: %s: %s\n", rec->name, err.msg);
			c->errors++;
		} else {
			c->done++;
		}
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"out", required_argument, NULL, 'o'},
		{"lexicon", required_argument, NULL, 'L'},
		{"model", required_argument, NULL, 'D'},
		{"pipeline-config", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	struct cli_engine_opts eo = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'o': out = optarg; break;
		case 'L': case 'D': case 'G':
			fprintf(stderr, "parley export: %s comes from the batch's stored pipeline "
				"configuration (set by `parley submit`; `parley config BATCH` prints it)\n",
				c == 'L' ? "--lexicon" : c == 'D' ? "--model" : "--pipeline-config");
			return 2;
		case 'h': fputs(export_usage, stdout); return 0;
		default: fputs(export_usage, stderr); return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "parley export: -o OUT is required\n\n%s", export_usage);
		return 2;
	}
	if (argc - optind != 1) {
		fprintf(stderr, "parley export: %s\n\n%s",
			optind >= argc ? "no BATCH given" : "give exactly one BATCH", export_usage);
		return 2;
	}
	const char *batch_name = argv[optind];
	struct parley_config pc;
	if (cli_engine_config("parley export", &eo, &pc))
		return 2;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = cli_store_open("parley export", &pc, false, &st, data, sizeof(data));
	if (status)
		return status;
	status = 1;
	char *engines = NULL;
	struct lexicon *lex = NULL;
	struct parley_error err = {0};
	struct pipeline_config cfg;
	pipeline_config_init(&cfg);
	int64_t batch;
	if (store_batch_find(st, batch_name, &batch, &err)) {
		fprintf(stderr, "parley export: %s\n", err.msg);
		status = err.code == PARLEY_ERR_NOT_FOUND ? 2 : 1;
		goto out;
	}
	pipeline_config_release(&cfg);
	if (batch_config_load(st, batch, &cfg, &err) || engines_describe(&cfg, &engines, &err) ||
	    fs_mkdir_p(out, &err) || stage_config_lexicon(&cfg, &lex, &err)) {
		fprintf(stderr, "parley export: %s\n", err.msg);
		goto out;
	}
	struct export_params ep = {out, data, engines, lex};
	struct export_ctx ctx = {st, &ep, 0, 0, 0, 0};
	if (store_recording_each(st, batch, export_one, &ctx, &err) ||
	    export_summary(st, &ep, batch, &err)) {
		fprintf(stderr, "parley export: %s\n", err.msg);
		goto out;
	}
	printf("batch %s: %d recordings exported to %s/ (%d failed, %d not finished)\n", batch_name,
	       ctx.done, out, ctx.failed, ctx.other);
	status = ctx.errors ? 1 : 0;
out:
	free(engines);
	lexicon_free(lex);
	pipeline_config_release(&cfg);
	store_close(st);
	return status;
}

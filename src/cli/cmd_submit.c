/*
 * cmd_submit.c — `parley submit FILES|DIRS [--store TARGET] [--batch NAME]
 * [--pipeline-config FILE] [--speakers N] …`: add recordings to a batch of the
 * store without processing them; `parley worker` processes them later with
 * the batch's pipeline configuration, stored here.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/batch_config.h"
#include "core/call_metadata.h"
#include "core/config.h"
#include "core/pipeline.h"
#include "core/inputs.h"
#include "store/store.h"
#include "util/fs.h"

static const char submit_usage[] =
	"usage: parley submit FILES|DIRS [--store TARGET] [--batch NAME]\n"
	"\n"
	"Add recordings to a batch of the store without processing them (see\n"
	"`parley worker`). Directories are searched recursively; every file is\n"
	"added (a file that is not audio fails alone when a worker reaches it).\n"
	"A file added again is kept as it is unless it changed (then it starts\n"
	"over) or failed (then it is queued again). Prints the batch name and how\n"
	"many recordings were added. Stage data goes to dirname(PATH)/data.\n"
	"The batch's pipeline configuration (engines, speakers, lexicon …) is set\n"
	"here, from --pipeline-config and the flags below, and stored with the\n"
	"batch: every worker, `parley export` and `parley config BATCH` read it.\n"
	"Submitting to an existing batch without these options keeps its\n"
	"configuration; with other values it is refused.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	CLI_PIPELINE_HELP
	"  -b, --batch NAME       the batch to add to (default \"default\")\n"
	"      --pipeline LIST    the batch's stages, in order (comma list, a preset such\n"
	"                         as call, or noop for the six test stages); default:\n"
	"                         the preset's (--preset), else every non-optional stage\n"
	CLI_METADATA_HELP
	CLI_AUDIT_HELP
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 added, 1 the store failed, 2 usage error.\n";

int cmd_submit(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		CLI_PIPELINE_LONGOPTS,
		{"batch", required_argument, NULL, 'b'},
		{"pipeline", required_argument, NULL, 'p'},
		{"metadata", required_argument, NULL, 'M'},
		CLI_AUDIT_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *batch_name = "default", *pipeline_arg = NULL, *metadata_arg = NULL;
	struct cli_engine_opts eo = {0};
	struct cli_pipeline_opts po = {0};
	struct cli_audit_opts ao = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:h", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		CLI_PIPELINE_CASES:
			if (cli_pipeline_opt(&po, c, optarg))
				return 2;
			break;
		case 'b': batch_name = optarg; break;
		case 'p': pipeline_arg = optarg; break;
		case 'M': metadata_arg = optarg; break;
		CLI_AUDIT_CASES: cli_audit_opt(&ao, c, optarg); break;
		case 'h': fputs(submit_usage, stdout); return 0;
		default: fputs(submit_usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "parley submit: no FILES or DIRS given\n\n%s", submit_usage);
		return 2;
	}
	if (batch_name[0] == '\0' || strlen(batch_name) >= STORE_NAME_MAX) {
		fprintf(stderr, "parley submit: --batch wants a name of 1 to %d bytes\n",
			STORE_NAME_MAX - 1);
		return 2;
	}
	/* The batch's pipeline, checked now: a typo fails here, not in every worker. */
	char pipeline[STORE_PIPELINE_MAX] = "";
	if (pipeline_arg) {
		const struct stage *rows[64];
		struct pipeline pl;
		struct parley_error perr = {0};
		if (pipeline_parse(pipeline_arg, rows, &pl, &perr)) {
			fprintf(stderr, "parley submit: --pipeline: %s\n", perr.msg);
			return 2;
		}
		size_t used = 0;
		for (size_t i = 0; i < pl.count && used < sizeof(pipeline); i++)
			used += (size_t)snprintf(pipeline + used, sizeof(pipeline) - used, "%s%s", i ? "," : "",
						 pl.stages[i]->name);
	}
	struct parley_config cfg;
	if (cli_engine_config("parley submit", &eo, &cfg))
		return 2;
	struct pipeline_config pcfg;
	if (cli_pipeline_config("parley submit", &po, &pcfg))
		return 2;
	if (!pipeline_arg) { /* the configuration's preset (--preset, --denoise) */
		struct parley_error perr = {0};
		if (pipeline_from_config(&pcfg, pipeline, sizeof(pipeline), &perr)) {
			fprintf(stderr, "parley submit: %s\n", perr.msg);
			pipeline_config_release(&pcfg);
			return 2;
		}
	}
	struct input_list inputs;
	struct call_metadata *md = NULL;
	struct cli_audit audit = {0};
	if (metadata_arg && cli_metadata_load("parley submit", metadata_arg, &md)) {
		pipeline_config_release(&pcfg);
		return 2;
	}
	if (cli_audit_given(&ao)) { /* checked before anything is stored */
		const struct stage *rows[64];
		struct pipeline pl;
		struct parley_error perr = {0};
		if (!pipeline[0] || pipeline_parse(pipeline, rows, &pl, &perr) ||
		    !pipeline_has(&pl, "verdicts")) {
			fprintf(stderr, "parley submit: --rules needs the verdicts stage (--preset audit, "
					"or --pipeline …,verdicts)\n");
			call_metadata_free(md);
			pipeline_config_release(&pcfg);
			return 2;
		}
		if (cli_audit_load("parley submit", &ao, &audit)) {
			call_metadata_free(md);
			pipeline_config_release(&pcfg);
			return 2;
		}
	}
	if (inputs_collect("parley submit", argv + optind, argc - optind, NULL, &inputs) != 0) {
		inputs_release(&inputs);
		call_metadata_free(md);
		cli_audit_release(&audit);
		pipeline_config_release(&pcfg);
		return 2;
	}
	if (inputs.n == 0) {
		fprintf(stderr, "parley submit: no files found in the given paths\n");
		inputs_release(&inputs);
		call_metadata_free(md);
		cli_audit_release(&audit);
		pipeline_config_release(&pcfg);
		return 2;
	}
	inputs.metadata = md;
	inputs.who = "parley submit";
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = 1;
	int orc = cli_store_open("parley submit", &cfg, true, &st, data, sizeof(data));
	if (orc) {
		status = orc;
	} else {
		struct parley_error err = {0};
		int64_t batch;
		if (store_batch_ensure(st, batch_name, "batch", &batch, &err) ||
		    batch_config_store(st, batch, batch_name, cli_pipeline_given(&po) ? &pcfg : NULL, &err) ||
		    (pipeline[0] && store_batch_set_pipeline(st, batch, pipeline, &err)) ||
		    cli_audit_store(st, batch, &audit, &err) ||
		    inputs_add(st, batch, &inputs, NULL, &err)) {
			fprintf(stderr, "parley submit: %s\n", err.msg);
			if (err.code == PARLEY_ERR_CONFLICT)
				status = 2;
		} else if (cli_queue_push_leasable("parley submit", &cfg, st) == 0) {
			printf("batch %s: %zu recordings added\n", batch_name, inputs.n);
			status = 0;
		}
	}
	store_close(st);
	inputs_release(&inputs);
	call_metadata_free(md);
	cli_audit_release(&audit);
	pipeline_config_release(&pcfg);
	return status;
}

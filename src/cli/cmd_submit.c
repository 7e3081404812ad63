/*
 * cmd_submit.c — `parley submit FILES|DIRS [--store TARGET] [--batch NAME]
 * [--pipeline-config FILE] [--speakers N] …`: add recordings to a batch of the
 * store without processing them; `parley worker` processes them later with
 * the batch's pipeline configuration, stored here.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/batch_config.h"
#include "core/call_metadata.h"
#include "core/webhook.h"
#include "core/config.h"
#include "core/pipeline.h"
#include "core/inputs.h"
#include "store/store.h"
#include "util/fs.h"

static const char submit_usage[] =
	"usage: parley submit FILES|DIRS [--store TARGET] [--batch NAME] [--priority N]\n"
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
	"      --priority N       the batch's priority, -100..100: higher is served first\n"
	"                         (a new batch 0, sessions 50); batches of one priority\n"
	"                         share the workers in turn; changes an existing batch's\n"
	"                         priority (and its recordings')\n"
	"      --pipeline LIST    the batch's stages, in order (comma list, a preset such\n"
	"                         as call, or noop for the six test stages); default:\n"
	"                         the preset's (--preset), else every non-optional stage\n"
	CLI_METADATA_HELP
	CLI_AUDIT_HELP
	"      --webhook URL      call URL (signed per Standard Webhooks, retried for\n"
	"                         hours) when the batch completes; see `parley webhooks`\n"
	"      --webhook-secret-env VAR  the signing secret is in environment variable\n"
	"                         VAR (whsec_<base64> or at least 16 bytes of text);\n"
	"                         kept with the batch's webhook, never printed\n"
	"      --webhook-events LIST  batch (default), file (recording.completed and\n"
	"                         .failed), stage (stage.completed): a comma list\n"
	"      --webhook-schedule LIST  delays before each retry (default\n"
	"                         " WEBHOOK_DEFAULT_SCHEDULE ")\n"
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
		{"webhook", required_argument, NULL, 3100},
		{"webhook-secret-env", required_argument, NULL, 3101},
		{"webhook-events", required_argument, NULL, 3102},
		{"webhook-schedule", required_argument, NULL, 3103},
		{"priority", required_argument, NULL, 3104},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *batch_name = "default", *pipeline_arg = NULL, *metadata_arg = NULL;
	const char *hook_url = NULL, *hook_env = NULL, *hook_events = NULL, *hook_schedule = NULL;
	int priority = 0;
	bool with_priority = false;
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
		case 3100: hook_url = optarg; break;
		case 3101: hook_env = optarg; break;
		case 3102: hook_events = optarg; break;
		case 3103: hook_schedule = optarg; break;
		case 3104:
			if (cli_parse_int("--priority", optarg, STORE_PRIORITY_MIN, STORE_PRIORITY_MAX,
					  &priority))
				return 2;
			with_priority = true;
			break;
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
	/* The webhook, checked now (the secret is read from the environment
	 * and never printed). */
	struct webhook_config hook = webhook_default_config();
	if (hook_url || hook_env || hook_events || hook_schedule) {
		struct parley_error herr = {0};
		const char *secret = hook_env ? getenv(hook_env) : NULL;
		if (!hook_url || !hook_env) {
			fprintf(stderr, "parley submit: --webhook URL and --webhook-secret-env VAR go together\n");
			return 2;
		}
		if (!secret || !*secret) {
			fprintf(stderr, "parley submit: --webhook-secret-env: the variable %s is not set\n",
				hook_env);
			return 2;
		}
		if (strlen(hook_url) >= sizeof(hook.url) || strlen(secret) >= sizeof(hook.secret) ||
		    (hook_schedule && strlen(hook_schedule) >= sizeof(hook.schedule))) {
			fprintf(stderr, "parley submit: the webhook URL, secret or schedule is too long\n");
			return 2;
		}
		snprintf(hook.url, sizeof(hook.url), "%s", hook_url);
		snprintf(hook.secret, sizeof(hook.secret), "%s", secret);
		snprintf(hook.schedule, sizeof(hook.schedule), "%s", hook_schedule ? hook_schedule : "");
		uint8_t key[WEBHOOK_KEY_MAX];
		size_t klen;
		struct webhook_schedule sch;
		if ((hook_events && webhook_events_parse(hook_events, &hook.events, &herr)) ||
		    webhook_url_check(hook.url, &herr) || webhook_secret_key(hook.secret, key, &klen, &herr) ||
		    webhook_schedule_parse(hook.schedule, &sch, &herr)) {
			fprintf(stderr, "parley submit: %s\n", herr.msg);
			return 2;
		}
		memset(key, 0, sizeof(key));
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
		bool known = pipeline[0] && !pipeline_parse(pipeline, rows, &pl, &perr);
		if (cli_audit_check_stages("parley submit", &ao, known ? &pl : NULL) ||
		    cli_audit_load("parley submit", &ao, &pcfg, &audit)) {
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
		    (with_priority && store_batch_set_priority(st, batch, priority, &err)) ||
		    batch_config_store(st, batch, batch_name, cli_pipeline_given(&po) ? &pcfg : NULL, &err) ||
		    (pipeline[0] && store_batch_set_pipeline(st, batch, pipeline, &err)) ||
		    cli_audit_store(st, batch, &audit, &err) ||
		    /* before the recordings: a worker finishing them finds the webhook */
		    (hook.url[0] && webhook_set(st, batch, &hook, &err)) ||
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
	memset(hook.secret, 0, sizeof(hook.secret));
	inputs_release(&inputs);
	call_metadata_free(md);
	cli_audit_release(&audit);
	pipeline_config_release(&pcfg);
	return status;
}

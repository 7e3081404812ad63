/*
 * cmd_config.c — `parley config`: the pipeline configuration
 * (stages/pipeline_config.h). Prints a batch's stored configuration, the
 * defaults or the keys, or checks a file as `parley submit
 * --pipeline-config` would.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/batch_config.h"
#include "core/config.h"
#include "stages/pipeline_config.h"
#include "store/store.h"
#include "util/fs.h"

static const char config_usage[] =
	"usage: parley config BATCH [--store TARGET]   print BATCH's stored configuration\n"
	"       parley config --defaults               print the defaults\n"
	"       parley config --check FILE             check a configuration file\n"
	"       parley config --keys                   list every key\n"
	"\n"
	"The pipeline configuration is one JSON document stored with each batch\n"
	"(given at `parley submit`/`parley run` with --pipeline-config FILE and\n"
	"flags; `parley serve` stores its own with every session). Workers, export\n"
	"and the sessions results read it. It holds no secrets: API keys stay in\n"
	"environment variables that it names. --check prints the file as it would\n"
	"be stored (canonical, the lexicon read into it), or its error as\n"
	"FILE:LINE:COL.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 printed, 1 the store failed, 2 usage error or a bad file.\n";

static int print_config(const struct pipeline_config *c)
{
	char *json = NULL;
	struct parley_error err = {0};
	if (pipeline_config_to_json(c, true, &json, &err)) {
		fprintf(stderr, "parley config: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", json);
	free(json);
	return 0;
}

static int config_batch(const struct cli_engine_opts *eo, const char *name)
{
	struct parley_config pc;
	if (cli_engine_config("parley config", eo, &pc))
		return 2;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = cli_store_open("parley config", &pc, false, &st, data, sizeof(data));
	if (status)
		return status;
	struct parley_error err = {0};
	struct pipeline_config c;
	pipeline_config_init(&c);
	int64_t batch;
	char *stored = NULL;
	if (store_batch_find(st, name, &batch, &err) || store_batch_get_config(st, batch, &stored, &err) ||
	    batch_config_load(st, batch, &c, &err)) {
		fprintf(stderr, "parley config: %s\n", err.msg);
		status = err.code == PARLEY_ERR_NOT_FOUND ? 2 : 1;
		goto out;
	}
	if (stored[0] == '\0' || strcmp(stored, "{}") == 0)
		fprintf(stderr, "parley config: batch %s was stored without a configuration: the defaults\n",
			name);
	status = print_config(&c);
out:
	free(stored);
	pipeline_config_release(&c);
	store_close(st);
	return status;
}

int cmd_config(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"defaults", no_argument, NULL, 'd'},
		{"check", required_argument, NULL, 'c'},
		{"keys", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_engine_opts eo = {0};
	const char *check = NULL;
	bool defaults = false, keys = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 'd': defaults = true; break;
		case 'c': check = optarg; break;
		case 'k': keys = true; break;
		case 'h': fputs(config_usage, stdout); return 0;
		default: fputs(config_usage, stderr); return 2;
		}
	}
	int modes = (optind < argc) + defaults + keys + (check != NULL);
	if (modes != 1 || argc - optind > 1) {
		fprintf(stderr, "parley config: give one of BATCH, --defaults, --check FILE, --keys\n\n%s",
			config_usage);
		return 2;
	}
	if (optind < argc)
		return config_batch(&eo, argv[optind]);
	struct parley_error err = {0};
	if (keys) {
		char *text = NULL;
		if (pipeline_config_keys_text(&text, &err)) {
			fprintf(stderr, "parley config: %s\n", err.msg);
			return 1;
		}
		fputs(text, stdout);
		free(text);
		return 0;
	}
	struct pipeline_config cfg;
	pipeline_config_init(&cfg);
	int status = 2;
	if (check && (pipeline_config_load(check, &cfg, &err) ||
		      pipeline_config_lexicon_resolve(&cfg, &err) || pipeline_config_check(&cfg, &err)))
		fprintf(stderr, "parley config: %s\n", err.msg);
	else
		status = print_config(&cfg);
	pipeline_config_release(&cfg);
	return status;
}

/*
 * main.c — parley's entry point: find the command in the table and run it.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/engines_info.h"
#include "util/json_nomem.h"



static const struct cli_command commands[] = {
	{"run", cmd_run, "process recordings: speakers, words, counts, samples", 0},
	{"submit", cmd_submit, "add recordings to a store's queue without processing them", 0},
	{"worker", cmd_worker, "process queued recordings with N worker processes", 0},
	{"status", cmd_status, "per batch: recordings and stages pending/running/done/failed", 0},
	{"failed", cmd_failed, "list failed recordings with their error and attempts", 0},
	{"retry", cmd_retry, "put failed recordings back in the queue", 0},
	{"batch", cmd_batch, "audit batches: create, add files and metadata, start, status, events, results, retry, reaudit (store or server)", 0},
	{"config", cmd_config, "print a batch's pipeline configuration, the defaults or the keys; check a file", 0},
	{"export", cmd_export, "write a batch's outputs (transcripts, samples, summary.csv)", 0},
	{"eval", cmd_eval, "score a run against ground truth: DER, WER, keyword F1", 0},
	{"lexicon", cmd_lexicon, "print or check a lexicon of target words", 0},
	{"serve", cmd_serve, "serve the sessions API and the page over HTTP (with workers)", 0},
	{"engines", cmd_engines, "list engine forms; check a speech-to-text or LLM server against what parley needs", 0},
	{"webhooks", cmd_webhooks, "list a batch's signed webhook deliveries; send one again", 0},
	{"user", cmd_user, "add or list the users of `parley serve` (prints a new user's token)", 0},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: parley <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!commands[i].hidden)
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`parley <command> --help` documents each command's flags.\n");
}

int main(int argc, char **argv)
{
	json_nomem_install(NULL, NULL); /* out of memory in a JSON load is said as such */
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("parley %s (git %s)\n", PARLEY_VERSION, parley_revision);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "parley: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}

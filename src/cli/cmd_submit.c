/*
 * cmd_submit.c — `parley submit FILES|DIRS --store PATH [--batch NAME]`: add
 * recordings to a batch of the store without processing them; `parley
 * worker` processes them later.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/inputs.h"
#include "store/store.h"
#include "util/fs.h"

static const char submit_usage[] =
	"usage: parley submit FILES|DIRS --store PATH [--batch NAME]\n"
	"\n"
	"Add recordings to a batch of the store without processing them (see\n"
	"`parley worker`). Directories are searched recursively; every file is\n"
	"added (a file that is not audio fails alone when a worker reaches it).\n"
	"A file added again is kept as it is unless it changed (then it starts\n"
	"over) or failed (then it is queued again). Prints the batch name and how\n"
	"many recordings were added. Stage data goes to dirname(PATH)/data.\n"
	"\n"
	"options:\n"
	"      --store PATH   the SQLite store (required; created if missing)\n"
	"  -b, --batch NAME   the batch to add to (default \"default\")\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 added, 1 the store failed, 2 usage error.\n";

int cmd_submit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 'S'},
		{"batch", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *store_path = NULL, *batch_name = "default";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': store_path = optarg; break;
		case 'b': batch_name = optarg; break;
		case 'h': fputs(submit_usage, stdout); return 0;
		default: fputs(submit_usage, stderr); return 2;
		}
	}
	if (!store_path) {
		fprintf(stderr, "parley submit: --store PATH is required\n\n%s", submit_usage);
		return 2;
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
	struct input_list inputs;
	if (inputs_collect("parley submit", argv + optind, argc - optind, NULL, &inputs) != 0) {
		inputs_release(&inputs);
		return 2;
	}
	if (inputs.n == 0) {
		fprintf(stderr, "parley submit: no files found in the given paths\n");
		inputs_release(&inputs);
		return 2;
	}
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = 1;
	if (cli_store_open("parley submit", store_path, true, &st, data, sizeof(data)) == 0) {
		struct parley_error err = {0};
		int64_t batch;
		if (store_batch_ensure(st, batch_name, "batch", &batch, &err) ||
		    inputs_add(st, batch, &inputs, NULL, &err)) {
			fprintf(stderr, "parley submit: %s: %s\n", store_path, err.msg);
		} else {
			printf("batch %s: %zu recordings added\n", batch_name, inputs.n);
			status = 0;
		}
	}
	store_close(st);
	inputs_release(&inputs);
	return status;
}

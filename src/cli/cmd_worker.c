/*
 * cmd_worker.c — `parley worker --store PATH [--jobs N] [--batch NAME]
 * [--wait]`: process the queued recordings of a store with N worker
 * processes until no work is left (or, with --wait, until SIGTERM/SIGINT).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/engines_info.h"
#include "core/supervisor.h"
#include "core/worker.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/log.h"

#define WORKER_MAX_JOBS 64

static const char worker_usage[] =
	"usage: parley worker --store PATH [--jobs N] [--batch NAME] [--wait]\n"
	"\n"
	"Process the recordings queued with `parley submit`: N worker processes\n"
	"each lease a recording, advance it through the pipeline and commit every\n"
	"stage (a crash or kill -9 loses at most the stage in progress). Stops\n"
	"when no work is left, or with --wait keeps polling for new work until\n"
	"SIGTERM or SIGINT; either way the workers finish their stage and give\n"
	"their recording back. Stage data lives in dirname(PATH)/data.\n"
	"\n"
	"options:\n"
	"      --store PATH       the SQLite store (required; must exist)\n"
	"  -j, --jobs N           worker processes (default: number of CPUs, at most 8)\n"
	"  -b, --batch NAME       process only this batch (default: every batch)\n"
	"  -w, --wait             keep waiting for new work until SIGTERM/SIGINT\n"
	"      --lexicon FILE     target words and spelling corrections (default built-in)\n"
	"      --model DIR        pocketsphinx model folder (default the Debian en-us model)\n"
	"  -q, --quiet            print only errors\n"
	"  -v, --verbose          print debugging detail\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 finished or stopped gracefully, 1 the store failed, 2 usage error.\n";

int cmd_worker(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store", required_argument, NULL, 'S'},
		{"jobs", required_argument, NULL, 'j'},
		{"batch", required_argument, NULL, 'b'},
		{"wait", no_argument, NULL, 'w'},
		{"lexicon", required_argument, NULL, 'L'},
		{"model", required_argument, NULL, 'D'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct worker_params wp = worker_default_params();
	const char *store_path = NULL, *batch_name = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int jobs = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:b:wqvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': store_path = optarg; break;
		case 'j':
			if (cli_parse_int("--jobs", optarg, 1, WORKER_MAX_JOBS, &jobs))
				return 2;
			break;
		case 'b': batch_name = optarg; break;
		case 'w': wp.exit_when_idle = false; break;
		case 'L': snprintf(wp.cfg.lexicon_path, sizeof(wp.cfg.lexicon_path), "%s", optarg); break;
		case 'D': snprintf(wp.cfg.model_dir, sizeof(wp.cfg.model_dir), "%s", optarg); break;
		case 'q': log_set_level(LOG_ERROR); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': fputs(worker_usage, stdout); return 0;
		default: fputs(worker_usage, stderr); return 2;
		}
	}
	if (!store_path) {
		fprintf(stderr, "parley worker: --store PATH is required\n\n%s", worker_usage);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "parley worker: unexpected argument '%s'\n\n%s", argv[optind], worker_usage);
		return 2;
	}
	struct parley_error err = {0};
	if (engines_check_config(&wp.cfg, &err) != PARLEY_OK) {
		fprintf(stderr, "parley worker: %s\n", err.msg);
		return 2;
	}
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	if (cli_store_open("parley worker", store_path, false, &st, data, sizeof(data)))
		return 1;
	int status = 1;
	if (batch_name && store_batch_find(st, batch_name, &wp.batch_id, &err)) {
		fprintf(stderr, "parley worker: %s: %s\n", store_path, err.msg);
		status = err.code == PARLEY_ERR_NOT_FOUND ? 2 : 1;
		goto out;
	}
	if (fs_mkdir_p(data, &err)) {
		fprintf(stderr, "parley worker: %s\n", err.msg);
		goto out;
	}
	char host[64];
	worker_host(host, sizeof(host));
	int reclaimed = 0;
	if (store_lease_reclaim_dead(st, host, &reclaimed, &err)) {
		fprintf(stderr, "parley worker: %s: %s\n", store_path, err.msg);
		goto out;
	}
	if (reclaimed)
		log_info("resumed %d recordings left unfinished by an earlier worker", reclaimed);
	snprintf(wp.store_path, sizeof(wp.store_path), "%s", store_path);
	snprintf(wp.data_dir, sizeof(wp.data_dir), "%s", data);

	struct supervisor_params sp = supervisor_default_params();
	sp.worker = &wp;
	sp.jobs = jobs;
	sp.store = st;
	bool interrupted = supervisor_run(&sp);
	log_info("workers %s", interrupted ? "stopped" : "finished: no work left");
	status = 0;
out:
	store_close(st);
	return status;
}

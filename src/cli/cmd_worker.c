/*
 * cmd_worker.c — `parley worker [--store T] [--queue Q] [--jobs N]
 * [--stages LIST] [--batch NAME] [--wait]`: process queued recordings with N
 * worker processes under a supervisor until no work is left (or, with
 * --wait, until SIGTERM/SIGINT).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/supervisor.h"
#include "core/worker.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define WORKER_MAX_JOBS 64

static const char worker_usage[] =
	"usage: parley worker [--store TARGET] [--queue TARGET] [--jobs N] [--stages LIST]\n"
	"                     [--batch NAME] [--wait] [options]\n"
	"\n"
	"Process the recordings queued with `parley submit`: N worker processes\n"
	"each take a recording (leased in the store), advance it through its\n"
	"batch's pipeline and commit every stage with its results (a crash or\n"
	"kill -9 loses at most the stage in progress and the quick stages not yet\n"
	"committed, see --commit-window; another worker resumes it).\n"
	"Stops when no work is left, or with --wait keeps waiting for new work\n"
	"until SIGTERM or SIGINT; either way the workers finish or give back what\n"
	"they hold and exit 0. A store or queue that stops answering is waited\n"
	"for (with backoff), never fatal.\n"
	"\n"
	"options:\n"
	CLI_ENGINE_HELP
	"  -j, --jobs N           worker processes (default: number of CPUs, at most 8)\n"
	"      --stages LIST      run only these stages (comma list); a recording whose\n"
	"                         next stage is another goes back to the queue for a\n"
	"                         worker that runs it\n"
	"      --pipeline LIST    stages for batches submitted without a pipeline\n"
	"                         (default: every real stage)\n"
	"  -b, --batch NAME       process only this batch (store queue only)\n"
	"  -w, --wait             keep waiting for new work until SIGTERM/SIGINT\n"
	"      --lease S          lease length in seconds (default 60)\n"
	"      --max-attempts N   attempts before a recording is dead-lettered (default 3)\n"
	"      --backoff S        first retry delay; then doubled (default 5: 5, 10, 20 s)\n"
	"      --progress-every N progress event every N finished recordings (default 100)\n"
	"      --commit-window S  commit a recording's quick stages together, up to S\n"
	"                         seconds of stage work per commit (default 0.05; 0 =\n"
	"                         every stage commits alone); a crash redoes them\n"
	"Each recording runs with its batch's pipeline configuration (engines,\n"
	"speakers, lexicon …), set by `parley submit` and stored with the batch\n"
	"(`parley config BATCH` prints it).\n"
	"  -q, --quiet            print only errors\n"
	"  -v, --verbose          print debugging detail\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 finished or stopped gracefully, 1 the store failed, 2 usage error.\n";

static volatile sig_atomic_t worker_wait_stop;

static void worker_wait_signal(int sig)
{
	(void)sig;
	worker_wait_stop = 1;
}

/* A worker started while a store server is down waits for it, with backoff,
 * instead of exiting (SIGTERM/SIGINT end the wait). Returns 0 when the store
 * answers (or is not a server), 1 when stopped. */
static int worker_wait_store(const struct parley_config *cfg)
{
	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_wait_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	double wait = 0.5;
	int stopped = 0;
	for (;;) {
		struct store *st = NULL;
		struct parley_error err = {0};
		enum parley_err rc = store_open(cfg->store, &st, &err);
		store_close(st);
		if (rc != PARLEY_ERR_UNAVAILABLE)
			break;
		if (worker_wait_stop) {
			stopped = 1;
			break;
		}
		log_warn("%s (waiting %.1f s for it)", err.msg, wait);
		time_sleep(wait);
		wait = wait * 2 > 10 ? 10 : wait * 2;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return stopped;
}

static int worker_stages(const char *flag, const char *list, const struct stage **rows,
			 struct pipeline *out)
{
	struct parley_error err = {0};
	if (pipeline_parse(list, rows, out, &err) != PARLEY_OK) {
		fprintf(stderr, "parley worker: %s: %s\n", flag, err.msg);
		return 2;
	}
	return 0;
}

int cmd_worker(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ENGINE_LONGOPTS,
		{"jobs", required_argument, NULL, 'j'},
		{"batch", required_argument, NULL, 'b'},
		{"wait", no_argument, NULL, 'w'},
		{"stages", required_argument, NULL, 's'},
		{"pipeline", required_argument, NULL, 'p'},
		{"lease", required_argument, NULL, 1000},
		{"max-attempts", required_argument, NULL, 1001},
		{"backoff", required_argument, NULL, 1002},
		{"progress-every", required_argument, NULL, 1003},
		{"commit-window", required_argument, NULL, 1004},
		/* pipeline options belong to submit: refused here with a pointer there */
		{"lexicon", required_argument, NULL, 3000},
		{"model", required_argument, NULL, 3001},
		{"speakers", required_argument, NULL, 3002},
		{"pipeline-config", required_argument, NULL, 3003},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const numeric_keys[] = {"lease_seconds", "max_attempts", "backoff_base",
						   "progress_every", "commit_window"};
	struct worker_params wp = worker_default_params();
	struct cli_engine_opts eo = {0};
	const char *batch_name = NULL;
	const struct stage *allowed_rows[64], *pipeline_rows[64];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int jobs = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:b:wqvh", longopts, NULL)) != -1) {
		switch (c) {
		CLI_ENGINE_CASES:
			if (cli_engine_opt(&eo, c, NULL, optarg))
				return 2;
			break;
		case 1000: case 1001: case 1002: case 1003: case 1004:
			if (cli_engine_opt(&eo, c, numeric_keys[c - 1000], optarg))
				return 2;
			break;
		case 'j':
			if (cli_parse_int("--jobs", optarg, 1, WORKER_MAX_JOBS, &jobs))
				return 2;
			break;
		case 'b': batch_name = optarg; break;
		case 'w': wp.exit_when_idle = false; break;
		case 's':
			if (worker_stages("--stages", optarg, allowed_rows, &wp.allowed))
				return 2;
			break;
		case 'p':
			if (worker_stages("--pipeline", optarg, pipeline_rows, &wp.pipeline))
				return 2;
			break;
		case 3000: case 3001: case 3002: case 3003: {
			static const char *const names[] = {"--lexicon", "--model", "--speakers",
							    "--pipeline-config"};
			fprintf(stderr, "parley worker: %s is set when the batch is submitted (`parley submit "
				"%s …`): a worker uses each batch's stored configuration\n", names[c - 3000],
				names[c - 3000]);
			return 2;
		}
		case 'q': log_set_level(LOG_ERROR); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': fputs(worker_usage, stdout); return 0;
		default: fputs(worker_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "parley worker: unexpected argument '%s'\n\n%s", argv[optind], worker_usage);
		return 2;
	}
	struct parley_config cfg;
	if (cli_engine_config("parley worker", &eo, &cfg))
		return 2;
	struct parley_error err = {0};
	/* Usage errors first: waiting for a server is no answer to a missing --data. */
	if (cli_store_usage("parley worker", &cfg))
		return 2;
	if (*cfg.store && strstr(cfg.store, "://") && worker_wait_store(&cfg))
		return 0;
	struct store *st = NULL;
	char data[PARLEY_PATH_MAX];
	int status = cli_store_open("parley worker", &cfg, false, &st, data, sizeof(data));
	if (status)
		return status;
	status = 1;
	if (batch_name && store_batch_find(st, batch_name, &wp.batch_id, &err)) {
		fprintf(stderr, "parley worker: %s\n", err.msg);
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
		fprintf(stderr, "parley worker: %s\n", err.msg);
		goto out;
	}
	if (reclaimed)
		log_info("resumed %d recordings left unfinished by an earlier worker", reclaimed);
	wp.config = cfg;
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

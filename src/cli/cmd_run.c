/*
 * cmd_run.c — `parley run FILES|DIRS -o OUT`: the main job on the embedded
 * default. Adds every input to the store OUT/parley.db, runs N worker
 * processes over them (each leases a recording, advances it through the
 * pipeline, commits every stage), then writes the outputs. Running the same
 * command again skips finished stages; after a crash or kill -9 it resumes.
 */
#include <errno.h>
#include <fts.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "core/engines_info.h"
#include "core/export.h"
#include "core/worker.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RUN_MAX_INPUTS 1000000
#define RUN_MAX_JOBS 64

static const char run_usage[] =
	"usage: parley run FILES|DIRS -o OUT [options]\n"
	"\n"
	"Find the speakers, transcribe, correct spellings, count target words per\n"
	"speaker and cut a voice sample per speaker, for every recording given.\n"
	"Directories are searched recursively; every file is tried (the format is\n"
	"found from the content, not the extension) and a file that is not audio\n"
	"fails alone with a clear message.\n"
	"\n"
	"For each recording OUT/<name>/ holds transcript.json, transcript.srt,\n"
	"transcript.vtt, transcript.rttm, transcript.txt and samples/speaker-<n>.wav;\n"
	"OUT/summary.csv has one row per recording x speaker x target word. The\n"
	"store OUT/parley.db records every finished stage: running the same command\n"
	"again (after an interruption, a crash or kill -9) skips finished work.\n"
	"\n"
	"options:\n"
	"  -o, --out DIR          output folder (required; created if missing)\n"
	"  -j, --jobs N           worker processes (default: number of CPUs, at most 8)\n"
	"      --lexicon FILE     target words and spelling corrections\n"
	"                         (default: the built-in Singlish lexicon; see `parley lexicon`)\n"
	"      --speakers N       the number of speakers, when known (default: estimate)\n"
	"      --min-speakers N   at least N speakers (default 1)\n"
	"      --max-speakers N   at most N speakers (default 8)\n"
	"      --model DIR        pocketsphinx model folder holding en-us/, en-us.lm.bin and\n"
	"                         cmudict-en-us.dict (default /usr/share/pocketsphinx/model/en-us)\n"
	"      --stages LIST      run only these stages, comma-separated, in pipeline order\n"
	"                         (decode,vad,diarize,stt,words,samples; default all)\n"
	"      --no-progress      plain progress lines even on a terminal\n"
	"  -q, --quiet            print only errors and the final summary\n"
	"  -v, --verbose          print debugging detail\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 all recordings done, 1 some failed (listed at the end),\n"
	"2 usage error, 130 interrupted (run again to resume).\n";

struct run_opts {
	const char *out;
	int jobs;
	bool progress;
	bool quiet;
	struct stage_config cfg;
	const char *stages;
	char **inputs;
	int ninputs;
};

struct input_list {
	char **paths;
	size_t n, cap;
	char out_real[PATH_MAX];
};

static int input_add(struct input_list *l, const char *path)
{
	if (l->n >= RUN_MAX_INPUTS)
		return -1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **np = realloc(l->paths, cap * sizeof(*np));
		if (!np)
			return -1;
		l->paths = np;
		l->cap = cap;
	}
	l->paths[l->n] = strdup(path);
	return l->paths[l->n] ? (int)(l->n++, 0) : -1;
}

/* Every regular file under dir, skipping hidden entries and OUT itself. */
static int inputs_walk(struct input_list *l, const char *dir)
{
	char *roots[] = {(char *)dir, NULL};
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	if (!fts)
		return -1;
	int rc = 0;
	FTSENT *e;
	while (rc == 0 && (e = fts_read(fts)) != NULL) {
		bool hidden = e->fts_level > 0 && e->fts_name[0] == '.';
		if (e->fts_info == FTS_D) {
			char real[PATH_MAX];
			if (hidden || (l->out_real[0] && realpath(e->fts_path, real) &&
				       strcmp(real, l->out_real) == 0))
				fts_set(fts, e, FTS_SKIP); /* never read our own outputs */
		} else if (e->fts_info == FTS_F && !hidden) {
			rc = input_add(l, e->fts_path);
		} else if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR) {
			fprintf(stderr, "parley run: cannot read %s: %s\n", e->fts_path,
				strerror(e->fts_errno));
			rc = -1;
		}
	}
	fts_close(fts);
	return rc;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int inputs_collect(const struct run_opts *o, struct input_list *l)
{
	memset(l, 0, sizeof(*l));
	if (!realpath(o->out, l->out_real))
		l->out_real[0] = '\0';
	for (int i = 0; i < o->ninputs; i++) {
		struct stat st;
		if (stat(o->inputs[i], &st) != 0) {
			fprintf(stderr, "parley run: %s: %s\n", o->inputs[i], strerror(errno));
			return -1;
		}
		size_t before = l->n;
		if (S_ISDIR(st.st_mode)) {
			if (inputs_walk(l, o->inputs[i]) != 0)
				return -1;
		} else if (input_add(l, o->inputs[i]) != 0) {
			fprintf(stderr, "parley run: too many inputs\n");
			return -1;
		}
		qsort(l->paths + before, l->n - before, sizeof(char *), path_cmp);
	}
	return 0;
}

static void inputs_free(struct input_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

/* A recording name: the file's stem, made safe as a folder name and unique. */
static void input_name(const char *path, char **taken, size_t ntaken, char *out, size_t size)
{
	char stem[STORE_NAME_MAX - 8];
	fs_stem(path, stem, sizeof(stem));
	for (char *c = stem; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '/' || *c == '\\')
			*c = '_';
	if (stem[0] == '\0' || strcmp(stem, ".") == 0 || strcmp(stem, "..") == 0)
		snprintf(stem, sizeof(stem), "recording");
	for (int k = 1;; k++) {
		if (k == 1)
			snprintf(out, size, "%s", stem);
		else
			snprintf(out, size, "%s-%d", stem, k);
		bool clash = strcmp(out, "samples") == 0;
		for (size_t i = 0; i < ntaken && !clash; i++)
			clash = strcmp(taken[i], out) == 0;
		if (!clash)
			return;
	}
}

static void input_fingerprint(const char *path, char *out, size_t size)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(out, size, "missing");
		return;
	}
	snprintf(out, size, "%lld:%lld.%09ld", (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
}

static volatile sig_atomic_t run_stop;

static void on_signal(int sig)
{
	(void)sig;
	run_stop = 1;
}

static pid_t spawn_worker(const struct worker_params *wp, int index)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* child */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct worker_params p = *wp;
	char host[64];
	worker_host(host, sizeof(host));
	snprintf(p.owner, sizeof(p.owner), "%s:%ld", host, (long)getpid());
	p.stop = &run_stop;
	struct worker_stats stats;
	struct parley_error err = {0};
	enum parley_err rc = worker_run(&p, &stats, &err);
	if (rc != PARLEY_OK)
		fprintf(stderr, "parley: worker %d: %s\n", index, err.msg);
	fflush(NULL);
	_exit(rc == PARLEY_OK ? 0 : 1);
}

struct report_ctx {
	struct store *st;
	const struct export_params *ep;
	int done, failed, unfinished;
	bool quiet;
};

static int report_recording(const struct store_recording *rec, void *ud)
{
	struct report_ctx *c = ud;
	if (rec->status == STORE_DONE) {
		struct parley_error err = {0};
		if (export_recording(c->st, c->ep, rec, &err) != PARLEY_OK) {
			fprintf(stderr, "  %s: %s\n", rec->source, err.msg);
			c->failed++;
		} else {
			c->done++;
		}
	} else if (rec->status == STORE_FAILED) {
		c->failed++;
	} else {
		c->unfinished++;
	}
	return 0;
}

static int list_failure(const struct store_recording *rec, void *ud)
{
	(void)ud;
	if (rec->status != STORE_FAILED)
		return 0;
	/* Decoder messages already start with the file's path. */
	if (strncmp(rec->error, rec->source, strlen(rec->source)) == 0)
		fprintf(stderr, "  %s\n", rec->error);
	else
		fprintf(stderr, "  %s: %s\n", rec->source, rec->error);
	return 0;
}

static int run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"jobs", required_argument, NULL, 'j'},
		{"lexicon", required_argument, NULL, 'L'},
		{"speakers", required_argument, NULL, 'S'},
		{"min-speakers", required_argument, NULL, 'm'},
		{"max-speakers", required_argument, NULL, 'M'},
		{"model", required_argument, NULL, 'D'},
		{"stages", required_argument, NULL, 's'},
		{"no-progress", no_argument, NULL, 'P'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->cfg = stage_default_config();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o->jobs = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu;
	o->progress = true;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:j:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'j':
			if (cli_parse_int("--jobs", optarg, 1, RUN_MAX_JOBS, &o->jobs))
				return 2;
			break;
		case 'L': snprintf(o->cfg.lexicon_path, sizeof(o->cfg.lexicon_path), "%s", optarg); break;
		case 'D': snprintf(o->cfg.model_dir, sizeof(o->cfg.model_dir), "%s", optarg); break;
		case 'S':
			if (cli_parse_int("--speakers", optarg, 1, 32, &o->cfg.num_speakers))
				return 2;
			break;
		case 'm':
			if (cli_parse_int("--min-speakers", optarg, 1, 32, &o->cfg.min_speakers))
				return 2;
			break;
		case 'M':
			if (cli_parse_int("--max-speakers", optarg, 1, 32, &o->cfg.max_speakers))
				return 2;
			break;
		case 's': o->stages = optarg; break;
		case 'P': o->progress = false; break;
		case 'q': o->quiet = true; log_set_level(LOG_ERROR); break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': fputs(run_usage, stdout); return 1;
		default: fputs(run_usage, stderr); return 2;
		}
	}
	if (!o->out) {
		fprintf(stderr, "parley run: -o OUT is required\n\n%s", run_usage);
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "parley run: no FILES or DIRS given\n\n%s", run_usage);
		return 2;
	}
	if (o->cfg.min_speakers > o->cfg.max_speakers) {
		fprintf(stderr, "parley run: --min-speakers %d is more than --max-speakers %d\n",
			o->cfg.min_speakers, o->cfg.max_speakers);
		return 2;
	}
	if (o->cfg.num_speakers && (o->cfg.num_speakers < o->cfg.min_speakers ||
				    o->cfg.num_speakers > o->cfg.max_speakers)) {
		fprintf(stderr, "parley run: --speakers %d is outside --min-speakers %d .. --max-speakers %d\n",
			o->cfg.num_speakers, o->cfg.min_speakers, o->cfg.max_speakers);
		return 2;
	}
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return 0;
}

/* A recording finished by an earlier run with fewer stages (--stages) goes
 * back to the queue when this run's pipeline has a stage it has not done. */
static enum parley_err run_requeue_if_needed(struct store *st, const struct pipeline *pl,
					     int64_t rec, struct parley_error *err)
{
	for (size_t i = 0; i < pl->count; i++) {
		enum store_status status;
		enum parley_err rc = store_stage_status(st, rec, pl->stages[i]->name, &status, err);
		if (rc)
			return rc;
		if (status != STORE_DONE && status != STORE_SKIPPED)
			return store_recording_requeue(st, rec, err);
	}
	return PARLEY_OK;
}

/* Check options that need files (lexicon) before any work starts. */
static int run_check(const struct run_opts *o)
{
	struct parley_error err = {0};
	if (engines_check_config(&o->cfg, &err) != PARLEY_OK) {
		fprintf(stderr, "parley run: %s\n", err.msg);
		return 2;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int prc = run_parse(argc, argv, &o);
	if (prc)
		return prc == 1 ? 0 : prc;
	if (run_check(&o))
		return 2;

	struct worker_params wp = worker_default_params();
	const struct stage *stage_rows[64];
	struct parley_error err = {0};
	if (o.stages && pipeline_parse(o.stages, stage_rows, &wp.pipeline, &err) != PARLEY_OK) {
		fprintf(stderr, "parley run: --stages: %s\n", err.msg);
		return 2;
	}
	if (fs_mkdir_p(o.out, &err) != PARLEY_OK) {
		fprintf(stderr, "parley run: %s\n", err.msg);
		return 2;
	}
	struct input_list inputs;
	if (inputs_collect(&o, &inputs) != 0) {
		inputs_free(&inputs);
		return 2;
	}
	if (inputs.n == 0) {
		fprintf(stderr, "parley run: no files found in the given paths\n");
		inputs_free(&inputs);
		return 2;
	}

	int status = 1;
	struct store *st = NULL;
	char db[PARLEY_PATH_MAX], data[PARLEY_PATH_MAX];
	char *engines = NULL;
	char **names = calloc(inputs.n, sizeof(char *));
	pid_t *pids = calloc((size_t)o.jobs, sizeof(pid_t));
	int64_t batch = 0;
	if (!names || !pids) {
		fprintf(stderr, "parley run: out of memory\n");
		goto out;
	}
	if (fs_path_join(db, sizeof(db), o.out, "parley.db", &err) ||
	    fs_path_join(data, sizeof(data), o.out, "data", &err) || fs_mkdir_p(data, &err) ||
	    store_open(db, &st, &err) || store_batch_ensure(st, "default", "run", &batch, &err))
		goto fail;
	for (size_t i = 0; i < inputs.n; i++) {
		char name[STORE_NAME_MAX], fp[96], abs[PATH_MAX];
		input_name(inputs.paths[i], names, i, name, sizeof(name));
		names[i] = strdup(name);
		input_fingerprint(inputs.paths[i], fp, sizeof(fp));
		const char *source = realpath(inputs.paths[i], abs) ? abs : inputs.paths[i];
		int64_t rec;
		if (!names[i] || store_recording_add(st, batch, name, source, fp, &rec, &err) ||
		    run_requeue_if_needed(st, &wp.pipeline, rec, &err))
			goto fail;
	}
	char host[64];
	worker_host(host, sizeof(host));
	int reclaimed = 0;
	if (store_lease_reclaim_dead(st, host, &reclaimed, &err))
		goto fail;
	if (reclaimed)
		log_info("resumed %d recordings left unfinished by an earlier run", reclaimed);

	snprintf(wp.store_path, sizeof(wp.store_path), "%s", db);
	snprintf(wp.data_dir, sizeof(wp.data_dir), "%s", data);
	wp.batch_id = batch;
	wp.cfg = o.cfg;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct progress prog;
	progress_init(&prog, o.progress && isatty(STDERR_FILENO), o.quiet);
	int running = 0, restarts = 0;
	for (int i = 0; i < o.jobs; i++) {
		pids[i] = spawn_worker(&wp, i);
		if (pids[i] > 0)
			running++;
	}
	bool forwarded = false;
	while (running > 0) {
		time_sleep(0.2);
		if (run_stop && !forwarded) {
			for (int i = 0; i < o.jobs; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			forwarded = true;
		}
		struct store_progress sp;
		if (store_progress_get(st, batch, &sp, &err) == PARLEY_OK)
			progress_update(&prog, &sp);
		int wstatus;
		pid_t pid;
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
			for (int i = 0; i < o.jobs; i++) {
				if (pids[i] != pid)
					continue;
				pids[i] = 0;
				running--;
				bool crashed = WIFSIGNALED(wstatus) || WEXITSTATUS(wstatus) != 0;
				if (!crashed || run_stop)
					break;
				log_warn("worker %d (pid %ld) %s %d; its recording goes back to the queue", i,
					 (long)pid, WIFSIGNALED(wstatus) ? "was killed by signal" : "exited with status",
					 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
				store_lease_reclaim_dead(st, host, &reclaimed, &err);
				if (restarts++ < 4 * o.jobs) {
					pids[i] = spawn_worker(&wp, i);
					if (pids[i] > 0)
						running++;
				}
				break;
			}
		}
	}
	struct store_progress sp;
	if (store_progress_get(st, batch, &sp, &err) == PARLEY_OK)
		progress_update(&prog, &sp);
	progress_finish(&prog);

	if (engines_describe(&o.cfg, &engines, &err))
		goto fail;
	struct export_params ep = {o.out, data, engines};
	struct report_ctx rc = {st, &ep, 0, 0, 0, o.quiet};
	if (store_recording_each(st, batch, report_recording, &rc, &err) ||
	    export_summary(st, &ep, batch, &err))
		goto fail;
	if (rc.failed) {
		fprintf(stderr, "parley: %d of %zu recordings failed:\n", rc.failed, inputs.n);
		store_recording_each(st, batch, list_failure, NULL, &err);
	}
	if (run_stop) {
		fprintf(stderr, "parley: interrupted: %d of %zu recordings done; run the same command again to resume\n",
			rc.done, inputs.n);
		status = 130;
		goto out;
	}
	fprintf(stderr, "parley: %d of %zu recordings done; results in %s/ (summary.csv, <name>/transcript.json)\n",
		rc.done, inputs.n, o.out);
	status = (rc.failed || rc.unfinished) ? 1 : 0;
	goto out;
fail:
	fprintf(stderr, "parley run: %s\n", err.msg);
	status = 1;
out:
	for (size_t i = 0; names && i < inputs.n; i++)
		free(names[i]);
	free(names);
	free(pids);
	free(engines);
	store_close(st);
	inputs_free(&inputs);
	return status;
}

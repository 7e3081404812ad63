/*
 * cmd_run.c — `parley run FILES|DIRS -o OUT`: the main job on the embedded
 * default. Adds every input to the store OUT/parley.db, runs N worker
 * processes over them (each leases a recording, advances it through the
 * pipeline, commits every stage), then writes the outputs. Running the same
 * command again skips finished stages; after a crash or kill -9 it resumes.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "core/batch_config.h"
#include "core/call_metadata.h"
#include "core/engines_info.h"
#include "core/export.h"
#include "core/inputs.h"
#include "core/supervisor.h"
#include "core/worker.h"
#include "stages/env.h"
#include "store/store.h"
#include "text/lexicon.h"
#include "util/fs.h"
#include "util/log.h"

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
	"OUT/summary.csv has one row per recording x speaker x target word. A file\n"
	"that holds less audio than its header promises (a WAV cut short) is\n"
	"processed and reported at the end, in OUT/warnings.csv and in its\n"
	"transcript.json \"warnings\". The store OUT/parley.db records every finished stage: running the same command\n"
	"again (after an interruption, a crash or kill -9) skips finished work.\n"
	"The pipeline configuration (the options below) is stored with the run's\n"
	"batch; running again in OUT with other values is refused.\n"
	"\n"
	"options:\n"
	"  -o, --out DIR          output folder (required; created if missing)\n"
	"  -j, --jobs N           worker processes (default: number of CPUs, at most 8)\n"
	CLI_PIPELINE_HELP
	"      --stages LIST      run only these stages, comma-separated, in pipeline order\n"
	"                         (decode,vad,diarize,stt,words,samples; the optional\n"
	"                         call stages ivr, denoise, lid, metrics run only when\n"
	"                         named; or a preset: call)\n"
	CLI_METADATA_HELP
	CLI_AUDIT_HELP
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
	struct cli_pipeline_opts po;
	const char *stages;
	const char *metadata;
	struct cli_audit_opts ao;
	char **inputs;
	int ninputs;
};

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

/* The recordings processed with warnings (store_warning_each), listed
 * once under a heading. */
struct warn_list {
	struct store *st;
	const char *out;
	int n;
};

static int print_warning(const struct store_event *e, void *ud)
{
	struct warn_list *w = ud;
	if (w->n++ == 0)
		fprintf(stderr, "parley: processed with warnings (also in %s/warnings.csv and each "
			"transcript.json):\n", w->out);
	fprintf(stderr, "  %s\n", e->message);
	return 0;
}

static int list_warnings(const struct store_recording *rec, void *ud)
{
	struct warn_list *w = ud;
	struct parley_error err = {0};
	if (store_warning_each(w->st, rec->batch_id, rec->id, print_warning, w, &err))
		fprintf(stderr, "  %s: %s\n", rec->source, err.msg);
	return 0;
}

static int run_parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"jobs", required_argument, NULL, 'j'},
		CLI_PIPELINE_LONGOPTS,
		{"stages", required_argument, NULL, 's'},
		{"metadata", required_argument, NULL, 'M'},
		CLI_AUDIT_LONGOPTS,
		{"no-progress", no_argument, NULL, 'P'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
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
		CLI_PIPELINE_CASES:
			if (cli_pipeline_opt(&o->po, c, optarg))
				return 2;
			break;
		case 's': o->stages = optarg; break;
		case 'M': o->metadata = optarg; break;
		CLI_AUDIT_CASES: cli_audit_opt(&o->ao, c, optarg); break;
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
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	return 0;
}

static void run_progress(const struct store_progress *sp, void *user_data)
{
	progress_update(user_data, sp);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int prc = run_parse(argc, argv, &o);
	if (prc)
		return prc == 1 ? 0 : prc;
	/* The configuration (lexicon read, engines checked) before any work starts. */
	struct pipeline_config pcfg, stored;
	if (cli_pipeline_config("parley run", &o.po, &pcfg))
		return 2;
	pipeline_config_init(&stored);

	struct worker_params wp = worker_default_params();
	const struct stage *stage_rows[64];
	struct parley_error err = {0};
	/* The stages: --stages, else the configuration's preset (--preset, --denoise). */
	char preset_list[STORE_PIPELINE_MAX];
	const char *stages = o.stages;
	if (!stages) {
		if (pipeline_from_config(&pcfg, preset_list, sizeof(preset_list), &err)) {
			fprintf(stderr, "parley run: %s\n", err.msg);
			pipeline_config_release(&pcfg);
			return 2;
		}
		stages = preset_list[0] ? preset_list : NULL;
	}
	if (stages && pipeline_parse(stages, stage_rows, &wp.pipeline, &err) != PARLEY_OK) {
		fprintf(stderr, "parley run: --stages: %s\n", err.msg);
		pipeline_config_release(&pcfg);
		return 2;
	}
	struct input_list inputs = {0};
	struct call_metadata *md = NULL;
	struct cli_audit audit = {0};
	int status = 2;
	if (o.metadata && cli_metadata_load("parley run", o.metadata, &md))
		goto out_usage;
	if (cli_audit_check_stages("parley run", &o.ao, &wp.pipeline) ||
	    cli_audit_load("parley run", &o.ao, &pcfg, &audit))
		goto out_usage;
	if (fs_mkdir_p(o.out, &err) != PARLEY_OK) {
		fprintf(stderr, "parley run: %s\n", err.msg);
		goto out_usage;
	}
	if (inputs_collect("parley run", o.inputs, o.ninputs, o.out, &inputs) != 0)
		goto out_usage;
	if (inputs.n == 0) {
		fprintf(stderr, "parley run: no files found in the given paths\n");
		goto out_usage;
	}

	status = 1;
	struct store *st = NULL;
	char db[PARLEY_PATH_MAX], data[PARLEY_PATH_MAX];
	char *engines = NULL;
	struct lexicon *lex = NULL;
	int64_t batch = 0;
	if (fs_path_join(db, sizeof(db), o.out, "parley.db", &err) ||
	    fs_path_join(data, sizeof(data), o.out, "data", &err) || fs_mkdir_p(data, &err) ||
	    store_open(db, &st, &err) || store_batch_ensure(st, "default", "run", &batch, &err))
		goto fail;
	if (batch_config_store(st, batch, "default", &pcfg, &err)) {
		if (err.code == PARLEY_ERR_CONFLICT) {
			fprintf(stderr, "parley run: %s: %s (or use another -o OUT)\n", db, err.msg);
			status = 2;
			goto out;
		}
		goto fail;
	}
	if (cli_audit_store(st, batch, &audit, &err)) {
		if (err.code == PARLEY_ERR_CONFLICT) {
			fprintf(stderr, "parley run: %s: %s (or use another -o OUT)\n", db, err.msg);
			status = 2;
			goto out;
		}
		goto fail;
	}
	inputs.metadata = md;
	inputs.who = "parley run";
	if (inputs_add(st, batch, &inputs, &wp.pipeline, &err))
		goto fail;
	char host[64];
	worker_host(host, sizeof(host));
	int reclaimed = 0;
	if (store_lease_reclaim_dead(st, host, &reclaimed, &err))
		goto fail;
	if (reclaimed)
		log_info("resumed %d recordings left unfinished by an earlier run", reclaimed);

	snprintf(wp.config.store, sizeof(wp.config.store), "%s", db);
	snprintf(wp.data_dir, sizeof(wp.data_dir), "%s", data);
	wp.batch_id = batch;

	struct progress prog;
	progress_init(&prog, o.progress && isatty(STDERR_FILENO), o.quiet);
	struct supervisor_params sp = supervisor_default_params();
	sp.worker = &wp;
	sp.jobs = o.jobs;
	sp.store = st;
	sp.batch_id = batch;
	sp.on_progress = run_progress;
	sp.user_data = &prog;
	bool interrupted = supervisor_run(&sp);
	progress_finish(&prog);

	/* The outputs from the stored configuration, exactly as `parley export`. */
	pipeline_config_release(&stored);
	if (batch_config_load(st, batch, &stored, &err) || engines_describe(&stored, &engines, &err) ||
	    stage_config_lexicon(&stored, &lex, &err))
		goto fail;
	struct export_params ep = {o.out, data, engines, lex};
	struct report_ctx rc = {st, &ep, 0, 0, 0, o.quiet};
	if (store_recording_each(st, batch, report_recording, &rc, &err) ||
	    export_summary(st, &ep, batch, &err))
		goto fail;
	struct warn_list wl = {st, o.out, 0};
	store_recording_each(st, batch, list_warnings, &wl, &err);
	if (rc.failed) {
		fprintf(stderr, "parley: %d of %zu recordings failed:\n", rc.failed, inputs.n);
		store_recording_each(st, batch, list_failure, NULL, &err);
	}
	if (interrupted) {
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
	free(engines);
	lexicon_free(lex);
	store_close(st);
out_usage:
	inputs_release(&inputs);
	call_metadata_free(md);
	cli_audit_release(&audit);
	pipeline_config_release(&pcfg);
	pipeline_config_release(&stored);
	return status;
}

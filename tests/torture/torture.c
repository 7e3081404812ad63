/*
 * torture.c — make torture: run each scenario once counting the fail points
 * it passes (util/fail.h: file I/O in util/fs.c and, this binary being
 * linked with FAIL_ALLOC_WRAP, every allocation of parley's code and of
 * jansson; for the store scenario SQLite's own allocations too,
 * support/fail_alloc.h), then once per point with exactly that point
 * failing, each time in a fresh folder. After every run:
 *   - it returned (no crash, no hang: a watchdog stops a worker after 30 s)
 *     with PARLEY_OK or an error carrying a message;
 *   - no leak (LeakSanitizer, in the ASan build make torture uses);
 *   - the store is not corrupt: SQLite's integrity_check says ok, and with
 *     no more failures the same scenario finishes on it (failed recordings
 *     requeued, as `parley retry` does, leases left by the failure expired)
 *     and ends right: a transcript.json whose duration is the input's, or
 *     (store) every recording done once with its words and warning.
 *
 *   build-san/tests/torture [--scenario NAME] [--from K] [--every S] [-v]
 *
 * Prints per scenario the points counted, the runs, what failed cleanly
 * and every finding; exits 1 on any finding.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#else
#define HAVE_LSAN 0
#endif

#include "audio/pcm.h"
#include "audio/wav.h"
#include "core/export.h"
#include "core/inputs.h"
#include "core/pipeline.h"
#include "core/worker.h"
#include "stages/stage.h"
#include "store/store.h"
#include "support/fail_alloc.h"
#include "util/fail.h"
#include "util/fs.h"
#include "util/json_nomem.h"

#define SIGNAL_SECONDS 2.0
#define WATCHDOG_SECONDS 30.0

/* ---- the hook: count every point; fail exactly the fail_at-th ---- */

static atomic_long seen;
static long fail_at; /* 0 = count only */
static char failed_point[32];
static bool with_sqlite; /* the scenario's points include SQLite's allocations */

static bool torture_hook(const char *point, void *user_data)
{
	(void)user_data;
	if (!with_sqlite && strcmp(point, "sqlite.alloc") == 0)
		return false;
	long n = atomic_fetch_add(&seen, 1) + 1;
	if (n != fail_at)
		return false;
	snprintf(failed_point, sizeof(failed_point), "%s", point);
	return true;
}

/* ---- scenarios ---- */

struct run {
	char dir[256];        /* fresh folder of this run */
	bool cut;             /* the input is cut in half: a decode warning */
	char input[300];      /* the input WAV (written before the hook is on) */
	enum parley_err rc;   /* what the scenario returned */
	struct parley_error err;
};

/* 2 s at 16 kHz: a 440 Hz tone with a pause, so vad finds speech-like energy. */
static struct pcm signal_pcm(void)
{
	struct pcm p = {0};
	p.rate = PCM_RATE;
	p.n = (size_t)(SIGNAL_SECONDS * PCM_RATE);
	p.samples = calloc(p.n, sizeof(int16_t));
	for (size_t i = 0; p.samples && i < p.n; i++) {
		double t = (double)i / PCM_RATE;
		bool on = fmod(t, 0.5) < 0.35;
		p.samples[i] = on ? (int16_t)(8000 * sin(2 * M_PI * 440 * t)) : 0;
	}
	return p;
}

/* wav: write the signal and read it back. */
static enum parley_err scenario_wav(struct run *r, struct parley_error *err)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/out.wav", r->dir);
	struct pcm in = signal_pcm(), back = {0};
	enum parley_err rc = in.samples ? PARLEY_OK
					: parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = wav_write(path, &in, err);
	if (!rc && !(rc = wav_read(path, &back, err)) &&
	    (back.n != in.n || memcmp(back.samples, in.samples, in.n * 2) != 0))
		rc = parley_error_set(err, PARLEY_ERR_INTERNAL, "%s: read back differs", path);
	pcm_release(&in);
	pcm_release(&back);
	return rc;
}

static volatile sig_atomic_t stop_flag;

static void *watchdog(void *arg)
{
	(void)arg;
	for (int i = 0; i < (int)(WATCHDOG_SECONDS * 10) && !stop_flag; i++)
		usleep(100000);
	stop_flag = 2;
	return NULL;
}

/* One `parley run` in-process: the store, the input added, a worker until
 * idle (one attempt, no backoff), then the export. */
static enum parley_err run_pipeline(struct run *r, const char *stages, struct parley_error *err)
{
	char db[300], data[300], out[300];
	snprintf(db, sizeof(db), "%s/parley.db", r->dir);
	snprintf(data, sizeof(data), "%s/data", r->dir);
	snprintf(out, sizeof(out), "%s/out", r->dir);
	struct store *st = NULL;
	int64_t batch = 0;
	struct worker_params wp = worker_default_params();
	const struct stage *rows[16];
	char *paths[1] = {r->input};
	struct input_list inputs = {.paths = paths, .n = 1, .who = "torture"};
	enum parley_err rc;
	if ((rc = fs_mkdir_p(data, err)) || (rc = fs_mkdir_p(out, err)) ||
	    (rc = pipeline_parse(stages, rows, &wp.pipeline, err)) || (rc = store_open(db, &st, err)) ||
	    (rc = store_batch_ensure(st, "default", "run", &batch, err)) ||
	    (rc = inputs_add(st, batch, &inputs, &wp.pipeline, err)))
		goto out;
	snprintf(wp.config.store, sizeof(wp.config.store), "%s", db);
	snprintf(wp.data_dir, sizeof(wp.data_dir), "%s", data);
	wp.batch_id = batch;
	wp.exit_when_idle = true;
	wp.idle_poll = 0.01;
	wp.config.max_attempts = 1;
	wp.config.backoff_base = 0.01;
	wp.config.lease_seconds = 1;
	wp.stop = &stop_flag;
	stop_flag = 0;
	pthread_t dog;
	pthread_create(&dog, NULL, watchdog, NULL);
	struct worker_stats stats = {0};
	rc = worker_run(&wp, &stats, err);
	bool hung = stop_flag == 2;
	stop_flag = 1;
	pthread_join(dog, NULL);
	if (hung && !rc)
		rc = parley_error_set(err, PARLEY_ERR_INTERNAL, "the worker did not finish in %.0f s",
				      WATCHDOG_SECONDS);
	if (rc)
		goto out;
	struct export_params ep = {out, data, NULL, NULL};
	struct store_recording rec;
	if ((rc = store_recording_get(st, 1, &rec, err)))
		goto out;
	if (rec.status == STORE_DONE)
		rc = export_recording(st, &ep, &rec, err);
	else if (rec.status == STORE_FAILED)
		rc = parley_error_set(err, PARLEY_ERR_INTERNAL, "the recording failed: %s", rec.error);
	if (!rc)
		rc = export_summary(st, &ep, batch, err);
out:
	store_close(st);
	return rc;
}

static enum parley_err scenario_run(struct run *r, struct parley_error *err)
{
	return run_pipeline(r, "decode,vad,diarize", err);
}

/* store: the store's API as a worker and the HTTP views use it, on SQLite,
 * with SQLite's own allocations in the count: open (every migration), a
 * batch with two recordings, each leased, its stage's words, warning and
 * done mark and the lease advance in one transaction, then finished; then
 * the views' reads (warnings, the execution log, progress). Run again on
 * its own store it ends the same: each recording done once. */
#define STORE_OWNER "torture:1"
#define STORE_RECORDINGS 2
#define STORE_WARNING "in.wav: the WAV header promises 2.0 s of audio but the file holds 1.0 s"

static enum parley_err store_one(struct store *st, int64_t batch, int64_t rec,
				 struct parley_error *err)
{
	const char *msgs[] = {STORE_WARNING};
	struct store_word w[2] = {{0.1, 0.4, 0.9f, 1, "hello", false},
				  {0.5, 0.7, 0.5f, 2, "lah", true}};
	enum parley_err rc;
	if ((rc = store_stage_start(st, rec, "decode", err)) || (rc = store_begin(st, err)))
		return rc;
	if ((rc = store_words_put(st, rec, "words", w, 2, err)) ||
	    (rc = store_warnings_set(st, batch, rec, "decode", msgs, 1, err)) ||
	    (rc = store_stage_done(st, rec, "decode", 0.01, 0.01, err)) ||
	    (rc = store_lease_advance(st, rec, STORE_OWNER, 60, NULL, err)) ||
	    (rc = store_commit(st, err))) {
		store_rollback(st);
		return rc;
	}
	return store_recording_finish(st, rec, STORE_OWNER, STORE_DONE, NULL, NULL, err);
}

static int count_event(const struct store_event *e, void *ud)
{
	(void)e;
	(*(int *)ud)++;
	return 0;
}

static enum parley_err scenario_store(struct run *r, struct parley_error *err)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/parley.db", r->dir);
	struct store *st = NULL;
	int64_t batch = 0;
	const char *tables[64];
	stage_result_tables(tables, sizeof(tables) / sizeof(tables[0]));
	enum parley_err rc;
	if ((rc = store_open(db, &st, err)) ||
	    (rc = store_batch_ensure(st, "default", "run", &batch, err)) ||
	    (rc = store_batch_set_pipeline(st, batch, "decode", err)))
		goto out;
	for (int i = 0; i < STORE_RECORDINGS && !rc; i++) {
		char name[16], fp[16];
		int64_t id = 0;
		snprintf(name, sizeof(name), "rec%d", i);
		snprintf(fp, sizeof(fp), "fp%d", i);
		rc = store_recording_add(st, batch, name, r->input, fp, tables, &id, err);
	}
	for (int i = 0; i < STORE_RECORDINGS && !rc; i++) {
		struct store_recording got;
		bool found = false;
		if ((rc = store_lease_next(st, batch, STORE_OWNER, 60, NULL, &got, &found, err)) ||
		    !found)
			break;
		rc = store_one(st, batch, got.id, err);
	}
	/* what the recording view and the results read */
	int warnings = 0, events = 0;
	struct store_progress p;
	if (!rc)
		rc = store_warning_each(st, batch, 1, count_event, &warnings, err);
	if (!rc)
		rc = store_event_page(st, batch, 0, 0, count_event, &events, err);
	if (!rc)
		rc = store_progress_get(st, batch, &p, err);
out:
	store_close(st);
	return rc;
}

/* The store scenario's end: both recordings done, each with its two words,
 * its one warning and its decode run. */
static bool store_right(const struct run *r, char *why, size_t size)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/parley.db", r->dir);
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	bool ok = false;
	const char *sql =
		"SELECT (SELECT count(*) FROM recordings WHERE status = 'done'),"
		" (SELECT count(*) FROM words), (SELECT count(*) FROM events WHERE type = 'file_warning'"
		"  AND message = '" STORE_WARNING "'),"
		" (SELECT count(*) FROM stage_runs WHERE stage = 'decode' AND status = 'done')";
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		int done = sqlite3_column_int(s, 0), words = sqlite3_column_int(s, 1),
		    warns = sqlite3_column_int(s, 2), runs = sqlite3_column_int(s, 3);
		ok = done == STORE_RECORDINGS && words == 2 * STORE_RECORDINGS &&
		     warns == STORE_RECORDINGS && runs == STORE_RECORDINGS;
		snprintf(why, size, "%s: %d done, %d words, %d warnings, %d decode runs", db, done,
			 words, warns, runs);
	} else {
		snprintf(why, size, "%s: %s", db, h ? sqlite3_errmsg(h) : "cannot open");
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	return ok;
}

/* After a failed run: requeue what failed and let leases expire, as an
 * operator would with `parley retry`. */
static enum parley_err requeue_all(struct run *r, struct parley_error *err)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/parley.db", r->dir);
	if (access(db, F_OK) != 0)
		return PARLEY_OK;
	struct store *st = NULL;
	enum parley_err rc = store_open(db, &st, err);
	struct store_recording rec;
	if (!rc && store_recording_get(st, 1, &rec, err) == PARLEY_OK && rec.status == STORE_FAILED)
		rc = store_recording_requeue(st, rec.id, err);
	store_close(st);
	/* A lease the failure left behind expires (its expiry moved to the
	 * past: what waiting lease_seconds would do). */
	sqlite3 *h = NULL;
	if (!rc && sqlite3_open(db, &h) == SQLITE_OK &&
	    sqlite3_exec(h, "UPDATE recordings SET lease_expires = 0 WHERE lease_owner IS NOT NULL",
			 NULL, NULL, NULL) != SQLITE_OK)
		rc = parley_error_set(err, PARLEY_ERR_STORE, "%s: %s", db, sqlite3_errmsg(h));
	sqlite3_close(h);
	return rc;
}

static bool export_right(const struct run *r, char *why, size_t size);

struct scenario {
	const char *name;
	enum parley_err (*fn)(struct run *r, struct parley_error *err);
	/* its end is right (after a clean run, and after a recovery); NULL:
	 * no store to check or recover */
	bool (*right)(const struct run *r, char *why, size_t size);
	bool cut;    /* its input WAV holds half of what its header says */
	bool sqlite; /* SQLite's own allocations are points too */
	bool made;   /* its store is made (migrated) before the points count */
};

static const struct scenario scenarios[] = {
	{"wav", scenario_wav, NULL, false, false, false},
	{"run", scenario_run, export_right, false, false, false},
	/* the same with the input cut in half: the warning's path (the decode
	 * stage's store_warnings_set, transcript.json, warnings.csv) */
	{"run-cut", scenario_run, export_right, true, false, false},
	/* the store's own operations on a store already made (the migrations'
	 * thousands of SQLite allocations are store-open's) */
	{"store", scenario_store, store_right, false, true, true},
	{"store-open", scenario_store, store_right, false, true, false},
};

/* ---- checks ---- */

static bool store_intact(const char *dir, char *why, size_t size)
{
	char db[300];
	snprintf(db, sizeof(db), "%s/parley.db", dir);
	if (access(db, F_OK) != 0)
		return true; /* failed before it existed */
	sqlite3 *h = NULL;
	bool ok = false;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *s = NULL;
		if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
		    sqlite3_step(s) == SQLITE_ROW) {
			const char *res = (const char *)sqlite3_column_text(s, 0);
			ok = res && strcmp(res, "ok") == 0;
			snprintf(why, size, "integrity_check: %s", res ? res : "(null)");
		}
		sqlite3_finalize(s);
	} else {
		snprintf(why, size, "cannot open: %s", sqlite3_errmsg(h));
	}
	sqlite3_close(h);
	return ok;
}

static bool export_right(const struct run *r, char *why, size_t size)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/out/in/transcript.json", r->dir);
	json_error_t je;
	json_t *t = json_load_file(path, 0, &je);
	double d = json_real_value(json_object_get(t, "duration"));
	double want = r->cut ? SIGNAL_SECONDS / 2 : SIGNAL_SECONDS;
	bool ok = t && fabs(d - want) < 0.01 &&
		  json_array_size(json_object_get(t, "warnings")) == (r->cut ? 1u : 0u);
	if (!ok)
		snprintf(why, size, "%s: %s", path, t ? "wrong duration or fields" : je.text);
	json_decref(t);
	return ok;
}

static int silence_stderr(void)
{
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int null = open("/dev/null", O_WRONLY);
	dup2(null, STDERR_FILENO);
	close(null);
	return saved;
}

static void restore_stderr(int saved)
{
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

static void fresh_run(struct run *r, const struct scenario *sc, long k)
{
	const char *name = sc->name;
	bool cut = sc->cut;
	memset(r, 0, sizeof(*r));
	r->cut = cut;
	const char *tmp = getenv("TMPDIR");
	snprintf(r->dir, sizeof(r->dir), "%s/parley-torture-%ld-%s-%ld", tmp && *tmp ? tmp : "/tmp",
		 (long)getpid(), name, k);
	struct parley_error err = {0};
	fs_remove_tree(r->dir, &err);
	fs_mkdir_p(r->dir, &err);
	snprintf(r->input, sizeof(r->input), "%s/in.wav", r->dir);
	struct pcm p = signal_pcm();
	wav_write(r->input, &p, &err);
	pcm_release(&p);
	if (cut && truncate(r->input, (off_t)(44 + SIGNAL_SECONDS * PCM_RATE)) != 0)
		fprintf(stderr, "torture: cannot cut %s\n", r->input);
	if (sc->made) {
		char db[300];
		struct store *st = NULL;
		snprintf(db, sizeof(db), "%s/parley.db", r->dir);
		if (store_open(db, &st, &err))
			fprintf(stderr, "torture: cannot make %s: %s\n", db, err.msg);
		store_close(st);
	}
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	long from = 1, every = 1;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--scenario") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--every") == 0 && i + 1 < argc)
			every = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else {
			fprintf(stderr, "usage: torture [--scenario NAME] [--from K] [--every S] [-v]\n");
			return 2;
		}
	}
	if (from < 1 || every < 1)
		return 2;
	json_nomem_install(NULL, NULL); /* jansson's allocations through the seam too */
	if (fail_alloc_sqlite_install() != SQLITE_OK) { /* and SQLite's, where a scenario asks */
		fprintf(stderr, "torture: SQLite's allocator cannot be replaced\n");
		return 2;
	}
	int findings = 0;
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
		const struct scenario *sc = &scenarios[s];
		if (only && strcmp(only, sc->name) != 0)
			continue;
		struct run r;
		char why[512];
		with_sqlite = sc->sqlite;
		/* 1. count the points of a clean run (which must succeed) */
		fresh_run(&r, sc, 0);
		fail_at = 0;
		atomic_store(&seen, 0);
		fail_hook_set(torture_hook, NULL);
		int saved = silence_stderr();
		r.rc = sc->fn(&r, &r.err);
		restore_stderr(saved);
		fail_hook_set(NULL, NULL);
		long points = atomic_load(&seen);
		if (r.rc || (sc->right && !sc->right(&r, why, sizeof(why)))) {
			printf("not ok - %s: the clean run fails: %s\n", sc->name, r.rc ? r.err.msg : why);
			findings++;
			continue;
		}
		fs_remove_tree(r.dir, &r.err);
		printf("# %s: %ld fail points in a clean run\n", sc->name, points);
		fflush(stdout);
		/* 2. fail each point in turn */
		long runs = 0, clean = 0, ok_anyway = 0, found = 0;
		for (long k = from; k <= points; k += every) {
			fresh_run(&r, sc, k);
			fail_at = k;
			failed_point[0] = '\0';
			atomic_store(&seen, 0);
			saved = silence_stderr();
			fail_hook_set(torture_hook, NULL);
			r.rc = sc->fn(&r, &r.err);
			fail_hook_set(NULL, NULL);
			restore_stderr(saved);
			runs++;
			const char *problem = NULL;
			why[0] = '\0';
			if (r.rc && !r.err.msg[0])
				problem = "an error without a message";
#if HAVE_LSAN
			if (!problem && __lsan_do_recoverable_leak_check())
				problem = "a leak (LeakSanitizer report above)";
#endif
			if (!problem && sc->right && !store_intact(r.dir, why, sizeof(why)))
				problem = "a corrupt store";
			if (!problem && sc->right) {
				/* recovery: no more failures, the same work on the same store */
				struct parley_error e2 = {0};
				saved = silence_stderr();
				enum parley_err rc2 = requeue_all(&r, &e2);
				if (!rc2)
					rc2 = sc->fn(&r, &e2);
				restore_stderr(saved);
				if (rc2) {
					snprintf(why, sizeof(why), "%s", e2.msg);
					problem = "no recovery on the same store";
				} else if (!sc->right(&r, why, sizeof(why))) {
					problem = "a wrong end after recovery";
				}
			}
			if (problem) {
				found++;
				printf("not ok - %s: point %ld (%s) failed: %s %s — %s (%s)\n", sc->name, k,
				       failed_point[0] ? failed_point : "not reached",
				       parley_err_name(r.rc), r.rc ? r.err.msg : "returned OK", problem, why);
			} else if (r.rc) {
				clean++;
				if (verbose)
					printf("ok - %s: point %ld (%s): %s\n", sc->name, k, failed_point, r.err.msg);
			} else {
				ok_anyway++;
			}
			fflush(stdout);
			fs_remove_tree(r.dir, &r.err);
		}
		printf("%s - %s: %ld points, %ld runs with one failing: %ld clean errors, %ld handled "
		       "(finished anyway), %ld findings\n",
		       found ? "not ok" : "ok", sc->name, points, runs, clean, ok_anyway, found);
		findings += (int)found;
	}
	return findings ? 1 : 0;
}

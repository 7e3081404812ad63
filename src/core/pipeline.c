/* pipeline.c — see pipeline.h. */
#include "core/pipeline.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "stages/stage_commit.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/scrub.h"
#include "util/timeutil.h"

/* The registry's rows without the optional ones, in order: stage_table is
 * constant, so the list is built once for every caller and thread. */
static const struct stage *default_rows[64];
static size_t default_count;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void pipeline_default_build(void)
{
	for (size_t i = 0; i < stage_count && default_count < 64; i++)
		if (!stage_table[i]->optional)
			default_rows[default_count++] = stage_table[i];
}

struct pipeline pipeline_default(void)
{
	pthread_once(&default_once, pipeline_default_build);
	struct pipeline pl = {default_rows, default_count};
	return pl;
}

/* Mark the stages of a comma list in want[]; a name may be a named pipeline
 * (alias or preset: "call,denoise"), expanded once. */
static enum parley_err pipeline_want(const char *list, bool *want, bool expand,
				     struct parley_error *err)
{
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char name[64];
		if (len == 0 || len >= sizeof(name))
			return parley_error_set(err, PARLEY_ERR_INVALID, "bad stage list '%s'", list);
		memcpy(name, p, len);
		name[len] = '\0';
		size_t i;
		for (i = 0; i < stage_count_all; i++)
			if (strcmp(stage_at(i)->name, name) == 0)
				break;
		const char *alias = i == stage_count_all && expand ? stage_pipeline_alias(name) : NULL;
		enum parley_err rc;
		if (alias && (rc = pipeline_want(alias, want, false, err)))
			return rc;
		if (i == stage_count_all && !alias) {
			char known[256] = "";
			size_t used = 0;
			for (size_t k = 0; k < stage_count && used < sizeof(known); k++)
				used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
							 k ? ", " : "", stage_at(k)->name);
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"unknown stage '%s' (known stages: %s; the presets: %s; "
						"or the test pipeline 'noop')",
						name, known, stage_preset_names());
		}
		if (i < stage_count_all)
			want[i] = true;
		p += len;
		if (*p == ',')
			p++;
	}
	return PARLEY_OK;
}

enum parley_err pipeline_parse(const char *list, const struct stage **out_stages,
			       struct pipeline *out, struct parley_error *err)
{
	bool want[64] = {false};
	enum parley_err rc = pipeline_want(list, want, true, err);
	if (rc)
		return rc;
	size_t n = 0;
	for (size_t i = 0; i < stage_count_all; i++)
		if (want[i])
			out_stages[n++] = stage_at(i);
	out->stages = out_stages;
	out->count = n;
	return PARLEY_OK;
}

enum parley_err pipeline_from_config(const struct pipeline_config *cfg, char *out, size_t size,
				     struct parley_error *err)
{
	out[0] = '\0';
	if (!cfg->preset[0] && !cfg->denoise.enabled)
		return PARLEY_OK;
	const struct stage_preset *ps = cfg->preset[0] ? stage_preset_find(cfg->preset) : NULL;
	if (cfg->preset[0] && !ps)
		return parley_error_set(err, PARLEY_ERR_INVALID, "unknown preset '%s' (known: %s)",
					cfg->preset, stage_preset_names());
	size_t used = 0;
	if (ps) {
		used = (size_t)snprintf(out, size, "%s", ps->stages);
	} else {
		struct pipeline def = pipeline_default();
		for (size_t i = 0; i < def.count && used < size; i++)
			used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "",
						 def.stages[i]->name);
	}
	if (cfg->denoise.enabled && used < size)
		used += (size_t)snprintf(out + used, size - used, ",denoise");
	if (used >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "stage list longer than %zu bytes",
					size - 1);
	/* in registry order, names only: what a batch stores */
	const struct stage *rows[64];
	struct pipeline pl;
	enum parley_err rc = pipeline_parse(out, rows, &pl, err);
	used = 0;
	for (size_t i = 0; !rc && i < pl.count && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "," : "",
					 pl.stages[i]->name);
	return rc;
}

bool pipeline_has(const struct pipeline *pl, const char *name)
{
	for (size_t i = 0; i < pl->count; i++)
		if (strcmp(pl->stages[i]->name, name) == 0)
			return true;
	return false;
}

enum parley_err pipeline_recording_dir(const char *data_dir, int64_t rec_id, char *out,
				       size_t size, struct parley_error *err)
{
	int n = snprintf(out, size, "%s/recordings/%lld", data_dir, (long long)rec_id);
	if (n < 0 || (size_t)n >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "data directory path too long: %s",
					data_dir);
	return fs_mkdir_p(out, err);
}

struct stage_states {
	const struct pipeline *pl;
	enum store_status status[64]; /* by position in pl */
};

static void stage_state_set(const char *stage, enum store_status status, void *ud)
{
	struct stage_states *s = ud;
	for (size_t i = 0; i < s->pl->count && i < 64; i++)
		if (strcmp(s->pl->stages[i]->name, stage) == 0)
			s->status[i] = status;
}

/* "decode,vad" (a lease's stages_done) → those stages done. */
static void stages_done_set(const char *list, struct stage_states *s)
{
	while (list && *list) {
		size_t len = strcspn(list, ",");
		char name[STORE_STAGE_NAME_MAX];
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, list, len);
			name[len] = '\0';
			stage_state_set(name, STORE_DONE, s);
		}
		list += len;
		if (*list == ',')
			list++;
	}
}

void pipeline_public_error(const char *data_dir, const struct store_recording *rec,
			   const char *stage, enum parley_err code, const char *msg, char *out,
			   size_t size)
{
	static const enum parley_err server[] = {PARLEY_ERR_NOMEM, PARLEY_ERR_STORE, PARLEY_ERR_BUSY,
						 PARLEY_ERR_INTERNAL, PARLEY_ERR_UNAVAILABLE};
	for (size_t i = 0; i < sizeof(server) / sizeof(server[0]); i++) {
		if (code != server[i])
			continue;
		snprintf(out, size, "%s: stage %s failed on the server (%s; the details are in the "
			 "worker's log)", rec->name, stage && *stage ? stage : "?", parley_err_name(code));
		return;
	}
	char real[PATH_MAX];
	struct scrub_names n;
	scrub_names_recording(&n, rec->source, rec->name, data_dir, real);
	scrub_text(msg, &n, out, size);
}

/* The wall time of stage s the last time it ran in this worker; < 0 when unknown. */
static double clock_get(const struct pipeline_clock *c, const struct stage *s)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (c->stage[i] == s)
			return c->wall[i];
	return -1;
}

static void clock_set(struct pipeline_clock *c, const struct stage *s, double wall)
{
	if (!c)
		return;
	size_t i = 0;
	while (i < c->n && c->stage[i] != s)
		i++;
	if (i == c->n) {
		if (c->n == PIPELINE_CLOCK_MAX)
			return;
		c->stage[c->n++] = s;
	}
	c->wall[i] = wall;
}

/* The recording's directory (data_dir/recordings/<id>) into out: created
 * when a stage still to run uses files, else only named (a run of test
 * stages, stage.no_files, makes no directory per recording). */
static enum parley_err pipeline_dir_for(const struct pipeline_run *run, const struct pipeline *pl,
					const struct stage_states *states,
					const struct store_recording *rec, char *out, size_t size,
					struct parley_error *err)
{
	for (size_t i = 0; i < pl->count && i < 64; i++)
		if (states->status[i] != STORE_DONE && states->status[i] != STORE_SKIPPED &&
		    !pl->stages[i]->no_files)
			return pipeline_recording_dir(run->data_dir, rec->id, out, size, err);
	int n = snprintf(out, size, "%s/recordings/%lld", run->data_dir, (long long)rec->id);
	if (n < 0 || (size_t)n >= size)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "data directory path too long: %s",
					run->data_dir);
	return PARLEY_OK;
}

/* The transaction that came in with earlier recordings' work (run->carry)
 * has ended: committed or rolled back. */
static void pipeline_carry_end(struct pipeline_run *run, bool *carrying, bool committed)
{
	if (!*carrying)
		return;
	*carrying = false;
	if (committed)
		run->carry_done = true;
	else
		run->carry_lost = true;
}

/* Commit the held stages (if any). A failed commit has rolled them back. */
static enum parley_err pipeline_flush(struct pipeline_run *run, struct stage_commit *c,
				      bool *carrying, struct parley_error *err)
{
	if (!c->open)
		return PARLEY_OK;
	c->open = false;
	enum parley_err rc = store_commit(run->store, err);
	pipeline_carry_end(run, carrying, rc == PARLEY_OK);
	return rc;
}

enum parley_err pipeline_advance(struct pipeline_run *run, const struct pipeline *pl,
				 const struct store_recording *rec, struct parley_error *err)
{
	run->failed_stage = NULL;
	run->open = false;
	run->carry_done = run->carry_lost = false;
	bool carrying = run->carry; /* the open transaction holds earlier recordings' work */
	struct stage_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	ctx.store = run->store;
	ctx.rec = rec;
	ctx.cfg = run->cfg;
	ctx.env = run->env;
	ctx.stop = run->stop;
	enum parley_err rc;
	/* Which stages are done: known from the lease (store_lease_many / _ids
	 * return them), else one query for the recording, not one per stage. */
	struct stage_states states = {pl, {0}};
	if (rec->stages_known)
		stages_done_set(rec->stages_done, &states);
	else if ((rc = store_stage_each(run->store, rec->id, stage_state_set, &states, err)))
		return rc;
	if ((rc = pipeline_dir_for(run, pl, &states, rec, ctx.rec_dir, sizeof(ctx.rec_dir), err)))
		return rc;
	run->handoff_stage = NULL;
	size_t last_todo = pl->count; /* the last stage not done yet */
	for (size_t i = 0; i < pl->count && i < 64; i++)
		if (states.status[i] != STORE_DONE && states.status[i] != STORE_SKIPPED)
			last_todo = i;
	bool coalesce = run->commit_window > 0 && run->clock;
	double held = carrying ? run->held : 0; /* wall seconds of the work held in the open transaction */
	const char *held_last = NULL; /* the last of this recording's held stages */
	struct stage_commit commit = {.owner = run->owner, .lease_seconds = run->lease_seconds,
				      .open = carrying};
	ctx.commit = &commit;
	for (size_t i = 0; i < pl->count; i++) {
		const struct stage *stage = pl->stages[i];
		enum store_status status = states.status[i];
		if (status == STORE_DONE || status == STORE_SKIPPED)
			continue;
		if (run->allowed && !pipeline_has(run->allowed, stage->name)) {
			run->handoff_stage = stage->name;
			/* into the held transaction (if any), committed before the hand-off */
			rc = store_recording_set_next_stage(run->store, rec->id, stage->name, err);
			if (rc) {
				store_rollback(run->store);
				pipeline_carry_end(run, &carrying, false);
			} else {
				rc = pipeline_flush(run, &commit, &carrying, err);
			}
			commit.open = false;
			if (rc)
				run->failed_stage = held_last;
			return rc;
		}
		/* Commit the held stages unless this one is known to fit the window. */
		double expect = clock_get(run->clock, stage);
		if (commit.open && (expect < 0 || held + expect > run->commit_window ||
				    (run->stop && *run->stop))) {
			if ((rc = pipeline_flush(run, &commit, &carrying, err))) {
				run->failed_stage = held_last;
				return rc;
			}
			held = 0;
		}
		if (run->stop && *run->stop)
			return parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped before stage %s",
						rec->name, stage->name);
		if (run->on_stage_start)
			run->on_stage_start(run->ud, rec, stage->name);
		/* No "running" row is written before the stage: that would be one
		 * more commit (an fsync on PostgreSQL) per stage. The recording's
		 * lease says it is running; the stage's row appears with its verdict. */
		ctx.stage_name = stage->name;
		ctx.pipeline = pl->stages;
		ctx.pipeline_count = pl->count;
		commit.next_stage = i + 1 < pl->count ? pl->stages[i + 1]->name : "";
		commit.hold = coalesce || (run->finish_open && i == last_todo);
		commit.cpu_start = time_thread_cpu();
		commit.wall_start = time_mono();
		commit.committed = false;
		rc = stage->run(&ctx, err);
		double wall = time_mono() - commit.wall_start;
		/* the stage's commit (or its failure, which rolls back) ended the
		 * carried transaction unless it held it open */
		if (!commit.open)
			pipeline_carry_end(run, &carrying, commit.committed);
		clock_set(run->clock, stage, wall);
		/* A stage must commit its done mark; not doing so is a bug. */
		if (rc == PARLEY_OK && !commit.committed)
			rc = parley_error_set(err, PARLEY_ERR_INTERNAL, "stage %s returned without committing",
					      stage->name);
		if (rc != PARLEY_OK) {
			run->failed_stage = stage->name;
			/* the stages held before this one stay done (a failed commit
			 * of this stage has rolled them back already) */
			struct parley_error ignored = {0};
			if (pipeline_flush(run, &commit, &carrying, &ignored) != PARLEY_OK)
				log_warn("%s: %s", rec->name, ignored.msg);
			char pub[PARLEY_ERROR_MSG_MAX];
			pipeline_public_error(run->data_dir, rec, stage->name, rc, err ? err->msg : "",
					      pub, sizeof(pub));
			store_stage_fail(run->store, rec->id, stage->name, run->owner, pub, &ignored);
			return rc;
		}
		if (!commit.open)
			continue;
		held += wall;
		held_last = stage->name;
		if (held > run->commit_window && !(run->finish_open && i == last_todo)) {
			if ((rc = pipeline_flush(run, &commit, &carrying, err))) {
				run->failed_stage = held_last;
				return rc;
			}
			held = 0;
		}
	}
	if (commit.open && run->finish_open) {
		run->open = true; /* the caller's finish commits it */
		run->held = held;
		return PARLEY_OK;
	}
	if ((rc = pipeline_flush(run, &commit, &carrying, err)))
		run->failed_stage = held_last;
	return rc;
}

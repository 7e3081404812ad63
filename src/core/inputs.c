/* inputs.c — see inputs.h. */
#include "core/inputs.h"

#include <errno.h>
#include <fts.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/call_metadata.h"
#include "stages/stage.h"
#include "store/store_call.h"
#include "util/fs.h"

static int input_add(struct input_list *l, const char *path)
{
	if (l->n >= INPUTS_MAX)
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

/* Every regular file under dir, skipping hidden entries and skip_real. */
static int inputs_walk(const char *who, struct input_list *l, const char *dir)
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
			if (hidden || (l->skip_real[0] && realpath(e->fts_path, real) &&
				       strcmp(real, l->skip_real) == 0))
				fts_set(fts, e, FTS_SKIP); /* never read our own outputs */
		} else if (e->fts_info == FTS_F && !hidden) {
			rc = input_add(l, e->fts_path);
		} else if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR) {
			fprintf(stderr, "%s: cannot read %s: %s\n", who, e->fts_path,
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

int inputs_collect(const char *who, char *const *args, int nargs, const char *skip_dir,
		   struct input_list *l)
{
	memset(l, 0, sizeof(*l));
	if (!skip_dir || !realpath(skip_dir, l->skip_real))
		l->skip_real[0] = '\0';
	for (int i = 0; i < nargs; i++) {
		struct stat st;
		if (stat(args[i], &st) != 0) {
			fprintf(stderr, "%s: %s: %s\n", who, args[i], strerror(errno));
			return -1;
		}
		size_t before = l->n;
		if (S_ISDIR(st.st_mode)) {
			if (inputs_walk(who, l, args[i]) != 0)
				return -1;
		} else if (input_add(l, args[i]) != 0) {
			fprintf(stderr, "%s: too many inputs\n", who);
			return -1;
		}
		qsort(l->paths + before, l->n - before, sizeof(char *), path_cmp);
	}
	return 0;
}

void inputs_release(struct input_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	l->paths = NULL;
	l->n = l->cap = 0;
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

/* A recording finished by an earlier run with fewer stages (--stages) goes
 * back to the queue when this pipeline has a stage it has not done. */
static enum parley_err requeue_if_needed(struct store *st, const struct pipeline *pl, int64_t rec,
					 struct parley_error *err)
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

#define INPUTS_CHUNK 500

/* Store the input's metadata row ("{}" and a warning when it has none). */
static enum parley_err input_metadata(struct store *st, const struct input_list *l, size_t i,
				      int64_t rec, bool *used, struct parley_error *err)
{
	const struct call_metadata *md = l->metadata;
	long row = call_metadata_find(md, l->paths[i]);
	if (row < 0) {
		fprintf(stderr, "%s: warning: %s: no row in %s\n", l->who ? l->who : "parley",
			l->paths[i], call_metadata_name(md));
		return store_recording_metadata_put(st, rec, "{}", err);
	}
	used[row] = true;
	json_t *o = call_metadata_row_json(md, (size_t)row);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory storing metadata");
	enum parley_err rc = store_recording_metadata_put(st, rec, text, err);
	free(text);
	return rc;
}

static void metadata_unused(const struct input_list *l, const bool *used)
{
	const struct call_metadata *md = l->metadata;
	for (size_t r = 0; r < call_metadata_row_count(md); r++)
		if (!used[r])
			fprintf(stderr, "%s: warning: %s:%zu: file \"%s\" is not among the inputs\n",
				l->who ? l->who : "parley", call_metadata_name(md),
				call_metadata_row_line(md, r), call_metadata_row_file(md, r));
}

enum parley_err inputs_add(struct store *st, int64_t batch_id, const struct input_list *l,
			   const struct pipeline *pl, struct parley_error *err)
{
	enum parley_err rc = PARLEY_OK;
	char **names = calloc(l->n ? l->n : 1, sizeof(char *));
	size_t nrows = l->metadata ? call_metadata_row_count(l->metadata) : 0;
	bool *used = calloc(nrows ? nrows : 1, sizeof(bool));
	if (!names || !used) {
		free(names);
		free(used);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
	}
	/* A changed input loses the rows of every stage's result tables. */
	const char *tables[64];
	stage_result_tables(tables, sizeof(tables) / sizeof(tables[0]));
	/* One transaction per chunk of files: one commit (fsync) per chunk. */
	bool in_tx = false;
	for (size_t i = 0; i < l->n; i++) {
		if (!in_tx) {
			if ((rc = store_begin(st, err)))
				break;
			in_tx = true;
		}
		char name[STORE_NAME_MAX], fp[96], abs[PATH_MAX];
		input_name(l->paths[i], names, i, name, sizeof(name));
		names[i] = strdup(name);
		if (!names[i]) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory");
			break;
		}
		input_fingerprint(l->paths[i], fp, sizeof(fp));
		const char *source = realpath(l->paths[i], abs) ? abs : l->paths[i];
		int64_t rec;
		if ((rc = store_recording_add(st, batch_id, name, source, fp, tables, &rec, err)))
			break;
		if (pl && (rc = requeue_if_needed(st, pl, rec, err)))
			break;
		if (l->metadata && (rc = input_metadata(st, l, i, rec, used, err)))
			break;
		if ((i + 1) % INPUTS_CHUNK == 0 || i + 1 == l->n) {
			if ((rc = store_commit(st, err)))
				break;
			in_tx = false;
		}
	}
	if (rc && in_tx)
		store_rollback(st);
	if (!rc && l->metadata)
		metadata_unused(l, used);
	for (size_t i = 0; i < l->n; i++)
		free(names[i]);
	free(names);
	free(used);
	return rc;
}

/*
 * inputs.h — turn the FILES|DIRS of the command line into recordings in the
 * store (shared by `parley run` and `parley submit`).
 *
 *   struct input_list l;
 *   if (inputs_collect("parley run", argv, argc, out_dir, &l)) ...;  // prints its errors
 *   inputs_add(st, batch, &l, &pipeline, &err);
 *   inputs_release(&l);
 *
 * Directories are walked recursively (hidden entries and skip_dir are left
 * out), each argument's files in path order. A recording is named after the
 * file's stem, made unique among the inputs of one call.
 */
#ifndef PARLEY_CORE_INPUTS_H
#define PARLEY_CORE_INPUTS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pipeline.h"
#include "store/store.h"
#include "util/error.h"

#define INPUTS_MAX 1000000

struct call_metadata;

struct input_list {
	char **paths;
	size_t n, cap;
	char skip_real[PATH_MAX]; /* realpath of the folder never read ("" = none) */
	/* Per-file metadata (`--metadata FILE.csv`; NULL = none, not owned):
	 * inputs_add stores each input's row (core/call_metadata.h says which
	 * row is whose) as its recording's metadata, "{}" when it has none.
	 * Inputs without a row and rows matching no input are warnings on
	 * stderr starting with who, naming the file and the CSV's line. */
	const struct call_metadata *metadata;
	const char *who;
};

/* Fill l from args[0..nargs). skip_dir (or NULL) is a folder never walked
 * into (the output folder). Returns 0, or -1 after printing an error that
 * starts with `who`. Call inputs_release(l) in both cases. */
int inputs_collect(const char *who, char *const *args, int nargs, const char *skip_dir,
		   struct input_list *l);
void inputs_release(struct input_list *l);

/*
 * Add every input to the batch (store_recording_add: a changed file starts
 * over, a failed one goes back to the queue). When pl is not NULL, a
 * recording finished without one of pl's stages is queued again.
 */
enum parley_err inputs_add(struct store *st, int64_t batch_id, const struct input_list *l,
			   const struct pipeline *pl, struct parley_error *err);

#endif

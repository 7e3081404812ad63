/*
 * rttm.h — strict parser of RTTM files from outside (references, other
 * systems' output).
 *
 *   struct rttm r;
 *   if (rttm_load_file("conv.rttm", &r, &err) != PARLEY_OK)
 *       fprintf(stderr, "%s\n", err.msg);    // "conv.rttm:7: duration -1 is negative"
 *   for (size_t i = 0; i < r.nsegs; i++)
 *       use(r.files[r.segs[i].file], r.speakers[r.segs[i].speaker], r.segs[i].start);
 *   rttm_release(&r);
 *
 * Only SPEAKER lines are read:
 *   SPEAKER <file> <channel> <start> <duration> <ortho> <stype> <name> <conf> [<slat>]
 * (9 or 10 white-space separated fields). Other record types, blank lines and
 * ";;" comments are skipped. Lines are at most RTTM_MAX_LINE bytes, a file at
 * most RTTM_MAX_LINES lines and RTTM_MAX_BYTES bytes. File and speaker names
 * must be valid UTF-8 of at most RTTM_MAX_NAME bytes with no control bytes.
 * Errors name "<name>:<line>: what is wrong". Thread-safe; no global state.
 */
#ifndef PARLEY_EVAL_RTTM_H
#define PARLEY_EVAL_RTTM_H

#include <stddef.h>

#include "util/error.h"

#define RTTM_MAX_LINE 4096
#define RTTM_MAX_LINES 2000000u
#define RTTM_MAX_BYTES (256u << 20)
#define RTTM_MAX_NAME 255
#define RTTM_MAX_NAMES 4096 /* distinct file ids, and distinct speakers */

struct rttm_segment {
	size_t file;    /* index in rttm.files */
	size_t speaker; /* index in rttm.speakers */
	double start, end;
	size_t line;    /* 1-based line of the file */
};

struct rttm {
	char **files;    /* distinct file ids, in order of first appearance (owned) */
	size_t nfiles;
	char **speakers; /* distinct speaker names, in order of first appearance (owned) */
	size_t nspeakers;
	struct rttm_segment *segs; /* in file order (owned) */
	size_t nsegs;
};

/* Parse len bytes of data (need not be NUL-terminated); name is used in
 * messages. On failure *out is empty (nothing to release). INVALID for bad
 * content, TOO_LARGE past a limit, NOMEM. */
enum parley_err rttm_parse(const char *data, size_t len, const char *name, struct rttm *out,
			   struct parley_error *err);

/* Read and parse a file (IO error naming it when unreadable). */
enum parley_err rttm_load_file(const char *path, struct rttm *out, struct parley_error *err);

/* Free everything; the struct is left empty. Accepts NULL. */
void rttm_release(struct rttm *r);

/*
 * NIST UEM scoring regions (the time `parley eval` scores, e.g. AMI's):
 *   <file> <channel> <start> <end>
 * one region per line, seconds; blank lines and ";;" comments skipped. Only
 * lines whose file field equals `file` are kept (NULL: all). Same limits as
 * RTTM. *regions (malloc'd, caller frees; NULL when none) gets the *n kept
 * regions in file order. INVALID for a line without exactly 4 fields, a
 * time that is not a number, start < 0 or end < start (message
 * "<name>:<line>: ..."), TOO_LARGE, NOMEM.
 */
struct der_region;
enum parley_err uem_parse(const char *data, size_t len, const char *name, const char *file,
			  struct der_region **regions, size_t *n, struct parley_error *err);

#endif

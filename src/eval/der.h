/*
 * der.h — diarization error rate on in-memory segment lists (pure: no I/O).
 *
 *   struct der_params p = der_default_params();      // collar 0.25 s
 *   struct der_result r;
 *   if (der_compute(ref, nref, 2, hyp, nhyp, 3, &p, &r, &err) == PARLEY_OK) {
 *       printf("DER %.3f\n", r.der);                  // NaN when no reference speech
 *       der_result_release(&r);
 *   }
 *
 * Scoring is exact on segment boundaries: the time line is cut at every
 * reference, hypothesis and collar boundary and each piece is scored as a
 * whole. In a piece of length d with R reference and H hypothesis speakers
 * active, reference speech is d*R (overlap counts each speaker), missed speech
 * d*max(0,R-H), false alarm d*max(0,H-R), and confusion d*min(R,H) minus the
 * time of correctly mapped pairs. Hypothesis speakers are mapped one-to-one
 * to reference speakers so as to maximise the mapped co-occurring time
 * (Hungarian algorithm), which minimises confusion. Pieces within ±collar of
 * any reference segment start or end are not scored. With scoring regions
 * (a NIST UEM file's), only time inside a region is scored: segments are
 * cut at the region edges, and the collars stay around the reference
 * boundaries only (as md-eval does). Thread-safe.
 */
#ifndef PARLEY_EVAL_DER_H
#define PARLEY_EVAL_DER_H

#include <stddef.h>

#include "util/error.h"

#define DER_MAX_SPEAKERS 1024     /* per side and recording */
#define DER_MAX_SEGMENTS 4000000u /* per side and recording */

struct der_segment {
	double start, end; /* seconds; end >= start */
	int speaker;       /* 0 .. nspeakers-1 of its side */
};

struct der_region {
	double start, end; /* seconds; end >= start */
};

struct der_params {
	double collar; /* no-score zone, seconds either side of a reference boundary */
	/* Scoring regions (may overlap, any order), or NULL: score all time.
	 * Non-NULL with nregions 0 scores nothing. */
	const struct der_region *regions;
	size_t nregions;
};

struct der_params der_default_params(void);

struct der_result {
	double scored;      /* scored reference speech, speaker-seconds */
	double missed;      /* seconds */
	double false_alarm; /* seconds */
	double confusion;   /* seconds */
	double der;         /* (missed + false_alarm + confusion) / scored; NaN if scored == 0 */
	size_t nref, nhyp;  /* speaker counts passed in */
	int *hyp_to_ref;    /* owned, nhyp entries: mapped reference speaker or -1 */
};

/*
 * Score hyp against ref. Speaker indexes must be in [0, nref) / [0, nhyp).
 * Zero-length segments are ignored. Returns PARLEY_ERR_INVALID for a bad
 * segment or region (end < start, non-finite, speaker out of range), TOO_LARGE past the
 * limits above, NOMEM. On success *out owns hyp_to_ref (der_result_release).
 */
enum parley_err der_compute(const struct der_segment *ref, size_t nref_segs, size_t nref,
			    const struct der_segment *hyp, size_t nhyp_segs, size_t nhyp,
			    const struct der_params *params, struct der_result *out,
			    struct parley_error *err);

/* Free hyp_to_ref; accepts NULL and a zeroed result. */
void der_result_release(struct der_result *r);

/*
 * Maximum-weight one-to-one assignment (Hungarian algorithm) on the rows x
 * cols matrix w (row-major, w[r*cols+c] >= 0). Fills row_to_col[rows] with
 * the column of each row or -1. Returns NOMEM or OK. Exposed for tests.
 */
enum parley_err der_assign_max(const double *w, size_t rows, size_t cols, int *row_to_col,
			       struct parley_error *err);

#endif

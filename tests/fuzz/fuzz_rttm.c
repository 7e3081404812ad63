/*
 * fuzz_rttm.c — libFuzzer target for rttm_parse() (reference and hypothesis
 * RTTM files from outside). Checks the contract: failure gives INVALID,
 * TOO_LARGE or NOMEM with a message naming the input and an empty result;
 * success gives segments with finite 0 <= start <= end, valid indexes and
 * lines in order. Parsed segments are then scored against themselves with
 * der_compute(), which must give DER 0 (or NaN with no speech). The same
 * bytes also go through uem_parse() (NIST UEM scoring regions, same
 * tokenising): same failure contract, regions with 0 <= start <= end, and
 * self-scoring within them must give DER 0 too.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/der.h"
#include "eval/rttm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_self_der(const struct rttm *r, const struct der_region *reg, size_t nreg)
{
	struct der_segment *s = malloc((r->nsegs ? r->nsegs : 1) * sizeof(*s));
	if (!s)
		return;
	for (size_t i = 0; i < r->nsegs; i++)
		s[i] = (struct der_segment){r->segs[i].start, r->segs[i].end, (int)r->segs[i].speaker};
	struct der_params p = der_default_params();
	p.regions = reg;
	p.nregions = nreg;
	struct der_result d;
	struct parley_error err = {0};
	if (der_compute(s, r->nsegs, r->nspeakers, s, r->nsegs, r->nspeakers, &p, &d, &err) !=
	    PARLEY_OK)
		__builtin_trap();
	if (!(isnan(d.der) || d.der < 1e-9))
		__builtin_trap();
	der_result_release(&d);
	free(s);
}

/* The input as UEM: regions or a clean failure. */
static void check_uem(const uint8_t *data, size_t size, struct der_region **reg, size_t *n)
{
	struct parley_error err = {0};
	enum parley_err rc = uem_parse((const char *)data, size, "fuzz", NULL, reg, n, &err);
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || strncmp(err.msg, "fuzz", 4) != 0 || *reg || *n)
			__builtin_trap();
		return;
	}
	for (size_t i = 0; i < *n; i++)
		if (!(isfinite((*reg)[i].start) && (*reg)[i].start >= 0 &&
		      (*reg)[i].end >= (*reg)[i].start))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct der_region *reg = NULL;
	size_t nreg = 0;
	check_uem(data, size, &reg, &nreg);
	free(reg);
	struct rttm r;
	struct parley_error err = {0};
	enum parley_err rc = rttm_parse((const char *)data, size, "fuzz", &r, &err);
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || strncmp(err.msg, "fuzz", 4) != 0 || r.segs || r.nsegs)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < r.nsegs; i++) {
		const struct rttm_segment *s = &r.segs[i];
		if (!(isfinite(s->start) && isfinite(s->end) && s->start >= 0 && s->end >= s->start))
			__builtin_trap();
		if (s->file >= r.nfiles || s->speaker >= r.nspeakers)
			__builtin_trap();
		if (i > 0 && s->line <= r.segs[i - 1].line)
			__builtin_trap();
	}
	if (r.nspeakers <= DER_MAX_SPEAKERS) {
		check_self_der(&r, NULL, 0);
		/* scored again within the segments' own spans as regions */
		struct der_region *own = malloc((r.nsegs ? r.nsegs : 1) * sizeof(*own));
		if (own) {
			for (size_t i = 0; i < r.nsegs; i++)
				own[i] = (struct der_region){r.segs[i].start, r.segs[i].end};
			check_self_der(&r, own, r.nsegs);
			free(own);
		}
	}
	rttm_release(&r);
	return 0;
}

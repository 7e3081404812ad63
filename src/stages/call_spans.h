/*
 * call_spans.h — the parts of a call that are not talk, for the stages after
 * ivr (issue 13): the spans of the call events the ivr stage found (IVR
 * prompts, queue and hold music, ringback and other tones, beeps, DTMF).
 *
 *   struct call_span *s; size_t n;
 *   call_nontalk_spans(ctx->store, ctx->rec->id, -1, &s, &n, &err);
 *   call_spans_subtract(&regions, &nregions, s, n, 0.2, &err);  // vad does this
 *
 * The spans exist only when the ivr stage is done for the recording (it
 * runs before vad when the pipeline names it); otherwise there are none and
 * later stages behave as without ivr. vad removes speech inside the spans,
 * so hold music is not transcribed and an IVR prompt is no one's talk time;
 * metrics can count hold and IVR time from the kinds.
 */
#ifndef PARLEY_STAGES_CALL_SPANS_H
#define PARLEY_STAGES_CALL_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/vad.h"
#include "store/store.h"
#include "store/store_call.h"
#include "util/error.h"

struct call_span {
	double start, end;
	int channel; /* -1 = the mix */
	char kind[STORE_CALL_NAME_MAX];
};

/* The recording's non-talk spans, by start: every call event when the ivr
 * stage is done, else none. channel >= 0: the events of that channel and
 * of the mix; -1: all. *out malloc'd (caller frees; NULL, 0 when none).
 * Store errors, NOMEM. */
enum parley_err call_nontalk_spans(struct store *st, int64_t rec_id, int channel,
				   struct call_span **out, size_t *n, struct parley_error *err);

/* Remove the spans from the regions (by start, not overlapping; realloc'd
 * in place: a region may split in two); pieces shorter than min_keep
 * seconds go. NOMEM (the regions are then unchanged). */
enum parley_err call_spans_subtract(struct vad_region **regions, size_t *n,
				    const struct call_span *spans, size_t nspans, double min_keep,
				    struct parley_error *err);

#endif

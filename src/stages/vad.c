/*
 * vad.c — stage "vad": speech regions (WebRTC VAD with hangover smoothing),
 * saved as segments of kind "speech". A recording without speech is not an
 * error: it ends with no speakers and no words. When the ivr stage ran for
 * the recording, speech inside its call events (IVR prompts, hold music,
 * tones; stages/call_spans.h) is removed: nobody's talk, not transcribed.
 */
#include <stdlib.h>

#include "audio/pcm.h"
#include "dsp/vad.h"
#include "stages/call_spans.h"
#include "stages/stage.h"

struct vad_result {
	struct store_segment *segs;
	size_t n;
};

static enum parley_err vad_save(struct store *st, int64_t rec_id, void *data,
				struct parley_error *err)
{
	const struct vad_result *r = data;
	return store_segments_put(st, rec_id, "speech", r->segs, r->n, err);
}

static enum parley_err vad_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct pcm pcm = {0};
	struct vad_region *regions = NULL;
	size_t n = 0;
	struct vad_result r = {0};
	struct call_span *spans = NULL;
	size_t nspans = 0;
	struct vad_params p = vad_default_params();
	enum parley_err rc = stage_load_audio(ctx, &pcm, err);
	if (rc || (rc = vad_detect(&pcm, &p, &regions, &n, err)) ||
	    (rc = call_nontalk_spans(ctx->store, ctx->rec->id, -1, &spans, &nspans, err)) ||
	    (rc = call_spans_subtract(&regions, &n, spans, nspans, p.min_speech, err)))
		goto out;
	r.segs = calloc(n ? n : 1, sizeof(*r.segs));
	if (!r.segs) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in vad");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		r.segs[i] = (struct store_segment){regions[i].start, regions[i].end, -1};
	r.n = n;
	rc = stage_commit(ctx, vad_save, &r, err);
out:
	free(spans);
	free(r.segs);
	free(regions);
	pcm_release(&pcm);
	return rc;
}

static const char *const vad_tables[] = {"segments", NULL};

const struct stage stage_vad = {
	.name = "vad", .description = "speech regions (WebRTC VAD, smoothed)", .run = vad_run,
	.result_tables = vad_tables,
};

/*
 * diarize.c — stage "diarize": who spoke when. Runs the built-in diarizer
 * (src/dsp/diarize.c) over the speech regions with the speaker-count hints,
 * and saves speaker turns (segments of kind "turn") and per-speaker totals.
 * With diarize.engine "exec:COMMAND" the command diarizes the decoded audio
 * instead (engines/diarize_exec.h: it prints RTTM).
 */
#include <stdlib.h>
#include <string.h>

#include "audio/pcm.h"
#include "dsp/diarize.h"
#include "engines/diarize_exec.h"
#include "dsp/vad.h"
#include "stages/stage.h"

struct diarize_result {
	struct store_segment *turns;
	size_t nturns;
	struct store_segment *overlaps; /* overlapped speech (--overlap), kind "overlap" */
	size_t noverlaps;
	struct store_speaker *spk;
	size_t nspk;
};

static enum parley_err diarize_save(struct store *st, int64_t rec_id, void *data,
				    struct parley_error *err)
{
	const struct diarize_result *r = data;
	enum parley_err rc = store_segments_put(st, rec_id, "turn", r->turns, r->nturns, err);
	if (!rc)
		rc = store_segments_put(st, rec_id, "overlap", r->overlaps, r->noverlaps, err);
	if (!rc)
		rc = store_speakers_put(st, rec_id, r->spk, r->nspk, err);
	return rc;
}

static enum parley_err diarize_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct pcm pcm = {0};
	struct store_segment *speech = NULL;
	size_t nspeech = 0;
	struct vad_region *regions = NULL;
	struct diar_turn *turns = NULL;
	size_t nturns = 0;
	int nspeakers = 0;
	struct diarize_result r = {0};
	enum parley_err rc = stage_load_audio(ctx, &pcm, err);
	if (rc || (rc = store_segments_get(ctx->store, ctx->rec->id, "speech", &speech, &nspeech, err)))
		goto out;
	regions = calloc(nspeech + 1, sizeof(*regions));
	if (!regions) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in diarize");
		goto out;
	}
	for (size_t i = 0; i < nspeech; i++) {
		regions[i].start = speech[i].start;
		regions[i].end = speech[i].end;
	}
	struct diar_params p = diar_default_params();
	p.num_speakers = ctx->cfg->diarize.speakers;
	p.min_speakers = ctx->cfg->diarize.min_speakers;
	p.max_speakers = ctx->cfg->diarize.max_speakers;
	p.method = ctx->cfg->diarize.method == PC_METHOD_SPECTRAL ? DIAR_SPECTRAL : DIAR_WARD;
	p.overlap = ctx->cfg->diarize.overlap;
	if (strncmp(ctx->cfg->diarize.engine, "exec:", 5) == 0) {
		/* an external diarizer (engines/diarize_exec.h) on the decoded audio */
		char audio[STAGE_PATH_MAX];
		struct diarize_exec_params xp = diarize_exec_default_params();
		xp.command = ctx->cfg->diarize.engine + 5;
		xp.num_speakers = p.num_speakers;
		xp.min_speakers = p.min_speakers;
		xp.max_speakers = p.max_speakers;
		if ((rc = stage_path(ctx, STAGE_AUDIO_FILE, audio, err)) ||
		    (rc = diarize_exec_run(&xp, audio, &turns, &nturns, &nspeakers, err)))
			goto out;
	} else if ((rc = diar_run(&pcm, regions, nspeech, &p, &turns, &nturns, &nspeakers, err))) {
		goto out;
	}
	r.turns = calloc(nturns + 1, sizeof(*r.turns));
	r.overlaps = calloc(nturns + 1, sizeof(*r.overlaps));
	r.spk = calloc((size_t)nspeakers + 1, sizeof(*r.spk));
	if (!r.turns || !r.overlaps || !r.spk) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in diarize");
		goto out;
	}
	for (int s = 0; s < nspeakers; s++)
		r.spk[s].speaker = s;
	r.nspk = (size_t)nspeakers;
	/* Overlap turns are kept apart: stt, words and samples read only the
	 * main turns, which never overlap; export adds these to RTTM and JSON. */
	for (size_t i = 0; i < nturns; i++) {
		struct store_segment seg = {turns[i].start, turns[i].end, turns[i].speaker};
		if (turns[i].overlap) {
			r.overlaps[r.noverlaps++] = seg;
			continue;
		}
		r.turns[r.nturns++] = seg;
		if (turns[i].speaker >= 0 && turns[i].speaker < nspeakers) {
			r.spk[turns[i].speaker].talk_time += turns[i].end - turns[i].start;
			r.spk[turns[i].speaker].turns++;
		}
	}
	rc = stage_commit(ctx, diarize_save, &r, err);
out:
	free(r.turns);
	free(r.overlaps);
	free(r.spk);
	free(turns);
	free(regions);
	free(speech);
	pcm_release(&pcm);
	return rc;
}

static const char *const diarize_tables[] = {"segments", "speakers", NULL};

const struct stage stage_diarize = {
	.name = "diarize", .description = "who spoke when (MFCC statistics, clustering)",
	.run = diarize_run, .result_tables = diarize_tables, .options = "diarize",
};

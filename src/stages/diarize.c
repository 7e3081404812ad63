/*
 * diarize.c — stage "diarize": who spoke when. Runs the built-in diarizer
 * (src/dsp/diarize.c) over the speech regions with the speaker-count hints,
 * and saves speaker turns (segments of kind "turn") and per-speaker totals.
 * With diarize.engine "exec:COMMAND" the command diarizes the decoded audio
 * instead (engines/diarize_exec.h: it prints RTTM).
 *
 * Calls (configuration section "channels"): with channels.mode "separate"
 * and a source of two or more channels (audio.ch0.wav, …), each channel is
 * a speaker (speaker = channel index): dsp/channel_diarize.h finds each
 * channel's speech inside the vad stage's regions, with crosstalk and echo
 * left out. Each channel's talk becomes its turns, so here (only here) turns
 * of different speakers may overlap in time: two people talking at once
 * are both in the turns, and later stages give each turn its own channel's
 * audio (stt, samples) and its own words (export). No "overlap" segments are
 * written. Its role comes from the recording's metadata when that says
 * (`--metadata`, core/call_metadata.h: roles, else agent_channel; source
 * "metadata": per file wins over the batch), else channels.roles' entry for
 * that channel (source "channel"). A mono
 * source (or mode "mix") goes through the diarizer; with channels.mono_roles
 * "first_after_ivr" the speaker of the first turn after the IVR (the ivr
 * stage's events, when it ran: core/call_metrics.h call_ivr_end) gets the
 * first role and every other speaker the second (source "first_after_ivr");
 * "none" writes no roles. Roles go to speaker_roles (store_call.h).
 */
#include <stdlib.h>
#include <string.h>

#include "audio/pcm.h"
#include "core/call_metadata.h"
#include "core/call_metrics.h"
#include "dsp/channel_diarize.h"
#include "dsp/diarize.h"
#include "engines/diarize_exec.h"
#include "dsp/vad.h"
#include "stages/stage.h"
#include "store/store_call.h"

struct diarize_result {
	struct store_segment *turns;
	size_t nturns;
	struct store_segment *overlaps; /* overlapped speech (--overlap), kind "overlap" */
	size_t noverlaps;
	struct store_speaker *spk;
	size_t nspk;
	struct store_speaker_role *roles;
	size_t nroles;
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
	if (!rc)
		rc = store_speaker_roles_put(st, rec_id, r->roles, r->nroles, err);
	return rc;
}

/* Each channel of a multi-channel source is a speaker (see the top). */
static enum parley_err diarize_channels(struct stage_ctx *ctx, int nch,
					const struct vad_region *regions, size_t nregions,
					struct diar_turn **turns, size_t *nturns,
					struct parley_error *err)
{
	struct pcm ch[STAGE_CHANNELS_MAX] = {0};
	struct chdiar_turn *ct = NULL;
	size_t n = 0;
	enum parley_err rc = PARLEY_OK;
	for (int c = 0; c < nch && !rc; c++)
		rc = stage_load_channel(ctx, c, &ch[c], err);
	struct chdiar_params p = chdiar_default_params();
	p.margin_db = ctx->cfg->channels.margin;
	/* no speech regions at all: nobody spoke (0 regions would mean "anywhere") */
	if (!rc && nregions > 0)
		rc = chdiar_run(ch, nch, regions, nregions, &p, &ct, &n, err);
	if (!rc) {
		*turns = calloc(n + 1, sizeof(**turns));
		if (!*turns)
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in diarize");
	}
	/* a channel's main and overlap turns (sorted by start) joined into its
	 * talk: one turn per run */
	size_t k = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		size_t j = k;
		while (j > 0 && (*turns)[j - 1].speaker != ct[i].channel)
			j--;
		struct diar_turn *last = j > 0 ? &(*turns)[j - 1] : NULL;
		if (last && ct[i].start <= last->end + 1e-9) {
			if (ct[i].end > last->end)
				last->end = ct[i].end;
			continue;
		}
		(*turns)[k++] = (struct diar_turn){ct[i].start, ct[i].end, ct[i].channel, false};
	}
	if (!rc)
		*nturns = k;
	free(ct);
	for (int c = 0; c < STAGE_CHANNELS_MAX; c++)
		pcm_release(&ch[c]);
	return rc;
}

/* Roles (see the top); nch > 0: speakers are channels. */
static enum parley_err diarize_roles(struct stage_ctx *ctx, int nch, struct diarize_result *r,
				     struct parley_error *err)
{
	const struct pc_channels *cc = &ctx->cfg->channels;
	r->roles = calloc(r->nspk + 1, sizeof(*r->roles));
	if (!r->roles)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in diarize");
	if (nch > 0) {
		char *text = NULL;
		enum parley_err rc = store_recording_metadata_get(ctx->store, ctx->rec->id, &text, err);
		if (rc)
			return rc;
		json_t *md = json_loads(text, 0, NULL);
		free(text);
		for (size_t s = 0; s < r->nspk; s++) {
			struct store_speaker_role *ro = &r->roles[r->nroles];
			call_metadata_role(md, (int)s, ro->role, sizeof(ro->role));
			snprintf(ro->source, sizeof(ro->source), "metadata");
			if (!ro->role[0]) {
				pipeline_config_role(cc->roles, (int)s, ro->role, sizeof(ro->role));
				snprintf(ro->source, sizeof(ro->source), "channel");
			}
			if (!ro->role[0])
				continue; /* more channels than roles */
			ro->speaker = (int)s;
			ro->channel = (int)s;
			r->nroles++;
		}
		json_decref(md);
		return PARLEY_OK;
	}
	if (cc->mono_roles != PC_MONO_ROLES_FIRST_AFTER_IVR || r->nturns == 0)
		return PARLEY_OK;
	struct store_call_event *ev = NULL;
	size_t nev = 0;
	enum parley_err rc = store_call_events_get(ctx->store, ctx->rec->id, &ev, &nev, err);
	if (rc)
		return rc;
	int first = call_first_speaker_after(r->turns, r->nturns, call_ivr_end(ev, nev));
	free(ev);
	for (size_t s = 0; s < r->nspk; s++) {
		struct store_speaker_role *ro = &r->roles[r->nroles++];
		ro->speaker = (int)s;
		ro->channel = -1;
		pipeline_config_role(cc->roles, (int)s == first ? 0 : 1, ro->role, sizeof(ro->role));
		if (!ro->role[0])
			snprintf(ro->role, sizeof(ro->role), "%s", (int)s == first ? "agent" : "customer");
		snprintf(ro->source, sizeof(ro->source), "first_after_ivr");
	}
	return PARLEY_OK;
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
	int nch = 0;
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
	nch = ctx->cfg->channels.mode == PC_CHANNELS_SEPARATE ? stage_channel_count(ctx) : 0;
	if (nch >= 2) {
		if ((rc = diarize_channels(ctx, nch, regions, nspeech, &turns, &nturns, err)))
			goto out;
		nspeakers = nch;
	} else if (strncmp(ctx->cfg->diarize.engine, "exec:", 5) == 0) {
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
	if (!(rc = diarize_roles(ctx, nch >= 2 ? nch : 0, &r, err)))
		rc = stage_commit(ctx, diarize_save, &r, err);
out:
	free(r.roles);
	free(r.turns);
	free(r.overlaps);
	free(r.spk);
	free(turns);
	free(regions);
	free(speech);
	pcm_release(&pcm);
	return rc;
}

static const char *const diarize_tables[] = {"segments", "speakers", "speaker_roles", NULL};

const struct stage stage_diarize = {
	.name = "diarize", .description = "who spoke when (MFCC statistics, clustering)",
	.run = diarize_run, .result_tables = diarize_tables, .options = "diarize channels",
};

/*
 * samples.c — stage "samples": for each speaker, the longest clean
 * single-speaker stretch, cut to sample_min..sample_max seconds (3–10 s) and
 * written as samples/speaker-<n>.wav in the recording's data directory.
 *
 * A stretch is a run of that speaker's turns with pauses under 0.5 s between
 * them and no other speaker inside (overlapped speech found by `run --overlap`,
 * segments of kind "overlap", and other speakers' turns overlapping it, are
 * cut out: the longest clear part of the run counts). A speaker that is a
 * channel of a call with channels.mode "separate" is cut from its own
 * channel's audio, where the other side is only a faint leak: there only
 * "overlap" segments are cut out. Longer than sample_max: the sample_max
 * window with the most energy is kept (people want to hear the voice, not a
 * pause). When a speaker never talks for sample_min seconds at a stretch, the
 * longest stretch there is becomes the sample (shorter than 3 s).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/pcm.h"
#include "audio/wav.h"
#include "stages/stage.h"
#include "util/fs.h"

#define SAMPLE_JOIN_GAP 0.5

struct samples_result {
	struct store_speaker *spk;
	size_t n;
};

static enum parley_err samples_save(struct store *st, int64_t rec_id, void *data,
				    struct parley_error *err)
{
	const struct samples_result *r = data;
	return store_speaker_samples_put(st, rec_id, r->spk, r->n, err);
}

/* The longest part of [*start, *end) that no overlap segment (sorted by
 * start) touches; unchanged when none does. */
static void clear_of_overlap(const struct store_segment *ov, size_t nov, double *start, double *end)
{
	double cur = *start, best_a = *start, best_b = *start;
	for (size_t i = 0; i < nov && ov[i].start < *end; i++) {
		if (ov[i].end <= cur)
			continue;
		if (ov[i].start > cur && ov[i].start - cur > best_b - best_a) {
			best_a = cur;
			best_b = ov[i].start;
		}
		cur = ov[i].end;
	}
	if (*end > cur && *end - cur > best_b - best_a) {
		best_a = cur;
		best_b = *end;
	}
	*start = best_a;
	*end = best_b;
}

/* The loudest window of `len` seconds inside [start, end). */
static double loudest_window(const struct pcm *pcm, double start, double end, double len)
{
	size_t a = (size_t)(start * pcm->rate), b = (size_t)(end * pcm->rate);
	size_t w = (size_t)(len * pcm->rate);
	if (b > pcm->n)
		b = pcm->n;
	if (b <= a || b - a <= w)
		return start;
	size_t step = (size_t)pcm->rate / 10; /* 100 ms */
	double energy = 0;
	for (size_t i = a; i < a + w; i++)
		energy += (double)pcm->samples[i] * pcm->samples[i];
	double best = energy;
	size_t best_at = a;
	for (size_t at = a + step; at + w <= b; at += step) {
		for (size_t i = at - step; i < at; i++)
			energy -= (double)pcm->samples[i] * pcm->samples[i];
		for (size_t i = at + w - step; i < at + w; i++)
			energy += (double)pcm->samples[i] * pcm->samples[i];
		if (energy > best) {
			best = energy;
			best_at = at;
		}
	}
	return (double)best_at / pcm->rate;
}

static enum parley_err samples_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct pcm pcm = {0}, chpcm = {0};
	struct store_segment *turns = NULL, *ovl = NULL, *others = NULL;
	size_t nturns = 0, novl = 0;
	struct samples_result r = {0};
	char dir[STAGE_PATH_MAX];
	enum parley_err rc = stage_load_audio(ctx, &pcm, err);
	if (rc || (rc = store_segments_get(ctx->store, ctx->rec->id, "turn", &turns, &nturns, err)) ||
	    (rc = store_segments_get(ctx->store, ctx->rec->id, "overlap", &ovl, &novl, err)) ||
	    (rc = store_speakers_get(ctx->store, ctx->rec->id, &r.spk, &r.n, err)) ||
	    (rc = stage_path(ctx, "samples", dir, err)))
		goto out;
	fs_remove_tree(dir, NULL); /* a re-run replaces the old samples */
	if ((rc = fs_mkdir_p(dir, err)))
		goto out;
	others = calloc(nturns + 1, sizeof(*others));
	if (!others) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in samples");
		goto out;
	}
	int nch = ctx->cfg->channels.mode == PC_CHANNELS_SEPARATE ? stage_channel_count(ctx) : 0;
	for (size_t s = 0; s < r.n; s++) {
		int who = r.spk[s].speaker;
		double best_start = 0, best_end = 0;
		size_t nothers = 0;
		for (size_t i = 0; i < nturns; i++)
			if (turns[i].speaker != who)
				others[nothers++] = turns[i];
		const struct pcm *src = &pcm;
		if (who >= 0 && who < nch) {
			pcm_release(&chpcm);
			if ((rc = stage_load_channel(ctx, who, &chpcm, err)))
				goto out;
			src = &chpcm;
		}
		for (size_t i = 0; i < nturns; i++) {
			if (turns[i].speaker != who)
				continue;
			double start = turns[i].start, end = turns[i].end;
			size_t j = i + 1;
			while (j < nturns && turns[j].speaker == who &&
			       turns[j].start - turns[j - 1].end < SAMPLE_JOIN_GAP)
				end = turns[j++].end;
			clear_of_overlap(ovl, novl, &start, &end);
			if (src == &pcm) /* from its own channel, others are not in it */
				clear_of_overlap(others, nothers, &start, &end);
			if (end - start > best_end - best_start) {
				best_start = start;
				best_end = end;
			}
			i = j - 1;
		}
		if (best_end - best_start > ctx->cfg->samples.max) {
			best_start = loudest_window(src, best_start, best_end, ctx->cfg->samples.max);
			best_end = best_start + ctx->cfg->samples.max;
		}
		r.spk[s].sample_start = best_start;
		r.spk[s].sample_end = best_end;
		if (best_end <= best_start)
			continue;
		char file[64], path[STAGE_PATH_MAX];
		snprintf(file, sizeof(file), "samples/speaker-%d.wav", who + 1);
		size_t from = (size_t)llround(best_start * src->rate);
		size_t to = (size_t)llround(best_end * src->rate);
		if (to > src->n)
			to = src->n;
		if ((rc = stage_path(ctx, file, path, err)) ||
		    (rc = wav_write_range(path, src, from, to, err)))
			goto out;
	}
	rc = stage_commit(ctx, samples_save, &r, err);
out:
	free(turns);
	free(others);
	free(ovl);
	free(r.spk);
	pcm_release(&chpcm);
	pcm_release(&pcm);
	return rc;
}

/* OUT/<name>/samples/speaker-<n>.wav: a copy of each speaker's sample (the
 * folder is made afresh, so a speaker without a sample leaves no file). */
static enum parley_err samples_export(const struct stage_export *x, struct parley_error *err)
{
	char samples[STAGE_PATH_MAX];
	enum parley_err rc = fs_path_join(samples, sizeof(samples), x->out_dir, "samples", err);
	if (rc)
		return rc;
	fs_remove_tree(samples, NULL);
	if ((rc = fs_mkdir_p(samples, err)))
		return rc;
	struct store_speaker *spk = NULL;
	size_t n = 0;
	if ((rc = store_speakers_get(x->store, x->rec->id, &spk, &n, err)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		if (spk[i].sample_end <= spk[i].sample_start)
			continue;
		char file[64], rel[80], from[STAGE_PATH_MAX], to[STAGE_PATH_MAX];
		snprintf(file, sizeof(file), "speaker-%d.wav", spk[i].speaker + 1);
		snprintf(rel, sizeof(rel), "samples/%s", file);
		if (!(rc = fs_path_join(from, sizeof(from), x->rec_dir, rel, err)) &&
		    !(rc = fs_path_join(to, sizeof(to), samples, file, err)))
			rc = fs_copy_file(from, to, err);
	}
	free(spk);
	return rc;
}

static const char *const samples_tables[] = {"speakers", NULL};

const struct stage stage_samples = {
	.name = "samples", .description = "a 3-10 s voice sample per speaker", .run = samples_run,
	.result_tables = samples_tables, .options = "samples channels", .export = samples_export,
};

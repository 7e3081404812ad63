/*
 * stt.c — stage "stt": speech to text, one utterance per speaker turn.
 *
 * Each diarized turn is decoded on its own (so a speaker's words get that
 * speaker, and the recogniser's per-utterance normalisation sees one voice).
 * Turns longer than STT_PIECE_MAX are cut at the quietest 100 ms between
 * STT_PIECE_MIN and STT_PIECE_MAX. Word times are recording times. Between
 * pieces the stop flag is checked, so SIGTERM stops a long recording quickly
 * (the stage is then redone from its start by the next attempt).
 */
#include <stdlib.h>
#include <string.h>

#include "audio/pcm.h"
#include "engines/asr.h"
#include "stages/env.h"
#include "stages/stage.h"

#define STT_PIECE_MIN 20.0
#define STT_PIECE_MAX 30.0

struct stt_result {
	struct store_word *words;
	size_t n, cap;
};

static enum parley_err stt_save(struct store *st, int64_t rec_id, void *data,
				struct parley_error *err)
{
	const struct stt_result *r = data;
	return store_words_put(st, rec_id, "stt_words", r->words, r->n, err);
}

static enum parley_err result_add(struct stt_result *r, const struct asr_word *w, size_t n,
				  int speaker, struct parley_error *err)
{
	if (r->n + n > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->n + n)
			cap *= 2;
		struct store_word *nw = realloc(r->words, cap * sizeof(*nw));
		if (!nw)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in stt");
		r->words = nw;
		r->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_word *o = &r->words[r->n++];
		memset(o, 0, sizeof(*o));
		o->start = w[i].start;
		o->end = w[i].end;
		o->confidence = w[i].confidence;
		o->speaker = speaker;
		memcpy(o->text, w[i].text, sizeof(o->text));
		o->text[sizeof(o->text) - 1] = '\0';
	}
	return PARLEY_OK;
}

/* End sample of the piece starting at `from` in [from, to): cut long spans at
 * the quietest 100 ms window between PIECE_MIN and PIECE_MAX seconds. */
static size_t piece_end(const struct pcm *pcm, size_t from, size_t to)
{
	size_t max = (size_t)(STT_PIECE_MAX * pcm->rate);
	if (to - from <= max)
		return to;
	size_t win = (size_t)pcm->rate / 10;
	size_t best = from + max;
	double best_e = -1;
	for (size_t at = from + (size_t)(STT_PIECE_MIN * pcm->rate); at + win <= from + max; at += win) {
		double e = 0;
		for (size_t i = at; i < at + win; i++)
			e += (double)pcm->samples[i] * pcm->samples[i];
		if (best_e < 0 || e < best_e) {
			best_e = e;
			best = at + win / 2;
		}
	}
	return best;
}

static enum parley_err stt_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct pcm pcm = {0};
	struct store_segment *turns = NULL;
	size_t nturns = 0;
	struct stt_result r = {0};
	struct asr_engine *eng;
	enum parley_err rc = stage_env_stt(ctx->env, ctx->cfg, &eng, err);
	if (rc || (rc = stage_load_audio(ctx, &pcm, err)) ||
	    (rc = store_segments_get(ctx->store, ctx->rec->id, "turn", &turns, &nturns, err)))
		goto out;
	for (size_t t = 0; t < nturns; t++) {
		size_t from = (size_t)(turns[t].start * pcm.rate);
		size_t to = (size_t)(turns[t].end * pcm.rate);
		if (to > pcm.n)
			to = pcm.n;
		while (from < to) {
			if (ctx->stop && *ctx->stop) {
				rc = parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped during stt",
						      ctx->rec->name);
				goto out;
			}
			size_t end = piece_end(&pcm, from, to);
			struct asr_word *w = NULL;
			size_t nw = 0;
			rc = asr_engine_transcribe(eng, pcm.samples + from, end - from, pcm.rate,
						   (double)from / pcm.rate, &w, &nw, err);
			if (!rc)
				rc = result_add(&r, w, nw, turns[t].speaker, err);
			free(w);
			if (rc)
				goto out;
			from = end;
		}
	}
	rc = stage_commit(ctx, stt_save, &r, err);
out:
	free(r.words);
	free(turns);
	pcm_release(&pcm);
	return rc;
}

static const char *const stt_tables[] = {"stt_words", NULL};

const struct stage stage_stt = {
	.name = "stt", .description = "speech to text (pocketsphinx, keyword LM)", .run = stt_run,
	.result_tables = stt_tables, .options = "stt lexicon",
};

/*
 * words.c — stage "words": spelling corrections over the recogniser's words
 * ("la" → "lah", "wah lau" → "walao"), saved as the final words, and the
 * count of every target word for every speaker (zeros included, so the
 * summary has one row per speaker × target).
 *
 * Confidence filter: a target word whose confidence is below its lexicon
 * threshold (lexicon_counts(); "threshold" lines, see text/lexicon.h) is not
 * counted, but it stays in the saved words, so the transcript still shows
 * what the recogniser heard, with its confidence. A merged phrase ("wah
 * lau" -> walao) has the lowest confidence of its words. A candidate the
 * recogniser's acoustic verification rejected (engines/ps_verify.h) comes
 * with confidence 0 and is likewise kept and not counted.
 * A "phrase_final" particle (text/lexicon.h) not followed by a pause, by
 * another speaker or by nothing (it sits inside a phrase, where its English
 * homophones do) is likewise kept and not counted.
 *
 * The lexicon's "background" test (lexicon_supported()) then looks at the
 * recording as a whole: when its countable targets are no more than the
 * recogniser's false-alarm rate on English explains (per hour, and as a
 * share of the target words it heard there), none is counted (they stay in
 * the transcript). The share test is skipped for a recording the stt stage
 * recognised denoised (its STAGE_STT_DENOISED_KIND segment, stages/stage.h):
 * the share was measured on clean English only.
 *
 * A word is approximate (its times spread over a segment, see
 * engines/asr.h) if any recogniser word it came from is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/env.h"
#include "stages/stage.h"
#include "text/lexicon.h"
#include "util/log.h"

struct words_result {
	struct store_word *words;
	size_t nwords;
	struct store_count *counts;
	size_t ncounts;
};

static enum parley_err words_save(struct store *st, int64_t rec_id, void *data,
				  struct parley_error *err)
{
	const struct words_result *r = data;
	enum parley_err rc = store_words_put(st, rec_id, "words", r->words, r->nwords, err);
	if (!rc)
		rc = store_counts_put(st, rec_id, r->counts, r->ncounts, err);
	return rc;
}

/* The pause after word i of the final words (time order), for the lexicon's
 * "phrase_final" particles. */
static double words_pause_after(const struct store_word *w, size_t n, size_t i)
{
	return lexicon_pause_after(w[i].end, w[i].speaker, i + 1 < n ? w[i + 1].start : 0.0,
				   i + 1 < n ? w[i + 1].speaker : -1);
}

/* The recording's duration in seconds, for the background test. The decode
 * stage stores it after the lease read ctx->rec, so when the stages run in
 * one go ctx->rec still says 0 (which made the per-hour test pass every
 * recording): read the stored value then. */
static enum parley_err words_duration(struct stage_ctx *ctx, double *seconds,
				      struct parley_error *err)
{
	*seconds = ctx->rec->duration;
	if (*seconds > 0.0)
		return PARLEY_OK;
	struct store_recording *rec = malloc(sizeof(*rec));
	if (!rec)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory counting words");
	enum parley_err rc = store_recording_get(ctx->store, ctx->rec->id, rec, err);
	if (!rc)
		*seconds = rec->duration;
	free(rec);
	return rc;
}

static enum parley_err words_run(struct stage_ctx *ctx, struct parley_error *err)
{
	const struct lexicon *lex;
	struct store_word *raw = NULL;
	size_t nraw = 0;
	struct store_speaker *spk = NULL;
	size_t nspk = 0;
	struct store_segment *heard_denoised = NULL;
	size_t ndenoised = 0;
	struct lex_token *toks = NULL;
	size_t *origin = NULL;
	bool *countable = NULL;
	struct words_result r = {0};
	enum parley_err rc = stage_env_lexicon(ctx->env, ctx->cfg, &lex, err);
	if (rc || (rc = store_words_get(ctx->store, ctx->rec->id, "stt_words", &raw, &nraw, err)) ||
	    (rc = store_speakers_get(ctx->store, ctx->rec->id, &spk, &nspk, err)) ||
	    (rc = store_segments_get(ctx->store, ctx->rec->id, STAGE_STT_DENOISED_KIND,
				     &heard_denoised, &ndenoised, err)))
		goto out;
	size_t ntargets = lexicon_target_count(lex);
	toks = calloc(nraw ? nraw : 1, sizeof(*toks));
	origin = calloc(nraw ? nraw : 1, sizeof(*origin));
	r.words = calloc(nraw ? nraw : 1, sizeof(*r.words));
	r.counts = calloc(nspk * ntargets + 1, sizeof(*r.counts));
	countable = calloc(nraw ? nraw : 1, sizeof(*countable));
	if (!toks || !origin || !r.words || !r.counts || !countable) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory counting words");
		goto out;
	}
	for (size_t i = 0; i < nraw; i++) {
		snprintf(toks[i].text, sizeof(toks[i].text), "%s", raw[i].text);
		toks[i].start = raw[i].start;
		toks[i].end = raw[i].end;
		toks[i].conf = raw[i].confidence;
		toks[i].speaker = raw[i].speaker;
	}
	r.nwords = lexicon_apply(lex, toks, nraw, origin);
	for (size_t i = 0; i < r.nwords; i++) {
		struct store_word *w = &r.words[i];
		snprintf(w->text, sizeof(w->text), "%s", toks[i].text);
		w->start = toks[i].start;
		w->end = toks[i].end;
		w->confidence = toks[i].conf;
		w->speaker = toks[i].speaker;
		size_t last = i + 1 < r.nwords ? origin[i + 1] : nraw;
		for (size_t k = origin[i]; k < last; k++)
			w->approximate = w->approximate || raw[k].approximate;
	}
	size_t ncountable = 0, ncandidates = 0;
	for (size_t i = 0; i < r.nwords; i++) {
		countable[i] = lexicon_counts(lex, r.words[i].text, r.words[i].confidence,
					      words_pause_after(r.words, r.nwords, i));
		ncountable += countable[i];
		ncandidates += lexicon_is_target(lex, r.words[i].text);
	}
	double seconds = 0.0;
	if ((rc = words_duration(ctx, &seconds, err)))
		goto out;
	bool supported = lexicon_supported(lex, ncountable, ncandidates, seconds, ndenoised == 0);
	if (ncountable && !supported)
		log_info("words: %s: %zu target word%s of %zu heard in %.0f s of audio, no more "
			 "than the lexicon's background explains: none counted",
			 ctx->rec->name, ncountable, ncountable == 1 ? "" : "s", ncandidates,
			 seconds);
	for (size_t s = 0; s < nspk; s++) {
		for (size_t t = 0; t < ntargets; t++) {
			struct store_count *c = &r.counts[r.ncounts++];
			const struct lex_target *target = lexicon_target_at(lex, t);
			c->speaker = spk[s].speaker;
			snprintf(c->word, sizeof(c->word), "%s", target->word);
			for (size_t i = 0; supported && i < r.nwords; i++)
				if (countable[i] && r.words[i].speaker == c->speaker &&
				    strcmp(r.words[i].text, c->word) == 0)
					c->count++;
		}
	}
	rc = stage_commit(ctx, words_save, &r, err);
out:
	free(raw);
	free(spk);
	free(heard_denoised);
	free(toks);
	free(origin);
	free(countable);
	free(r.words);
	free(r.counts);
	return rc;
}

static const char *const words_tables[] = {"words", "word_counts", NULL};

const struct stage stage_words = {
	.name = "words", .description = "spelling corrections and target-word counts",
	.run = words_run, .result_tables = words_tables, .options = "lexicon",
};

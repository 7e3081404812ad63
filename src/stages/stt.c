/*
 * stt.c — stage "stt": speech to text with the configured engine
 * (cfg->stt, engines/engines.h), in one of two units:
 *
 *   turn (default): each diarized turn is decoded on its own (so a
 *     speaker's words get that speaker, and the recogniser's per-utterance
 *     normalisation sees one voice). Turns longer than STT_PIECE_MAX are cut
 *     at the quietest 100 ms between STT_PIECE_MIN and STT_PIECE_MAX.
 *   file: the recording is sent once (in pieces of at most STT_FILE_PIECE_MAX
 *     for servers and commands, STT_PIECE_MAX for the embedded engine), and
 *     each word goes to the speaker whose turn holds its middle, else the
 *     nearest turn (as WhisperX does: more context, fewer requests).
 *
 * Calls with channels.mode "separate" (stages/diarize.c: a speaker per
 * channel, turns of different speakers may overlap): in the turn unit each
 * turn is decoded from its speaker's own channel (audio.chN.wav), so two
 * people talking at once are both transcribed, each without the other;
 * the words are then put in time order.
 *
 * Noisy recordings (stt.denoise_below, dB; 0 = never): when the denoise
 * stage is not in the pipeline and the recording's blind SNR estimate
 * (dsp/snr.h, on the mix) is below stt.denoise_below, the recogniser gets
 * speexdsp-denoised audio (dsp/denoise.h, denoise.suppress dB; the mix and
 * every channel file), denoised here in memory; the other stages still
 * read the original. README Accuracy, "Noisy recordings". Either way (this
 * or the denoise stage) the stage saves one segment of kind
 * STAGE_STT_DENOISED_KIND spanning the recording when the recogniser heard
 * denoised audio, none when it heard the original: the words stage skips
 * the lexicon's pass-share test then (text/lexicon.h, "background").
 *
 * All pieces go to asr_engine_transcribe_many at once, so a remote engine
 * keeps several requests in flight. The prompt is the lexicon's target words
 * (or cfg->stt.prompt), the language cfg->stt.language (when "": the lid
 * stage's, when it ran). Word times are
 * recording times. The stop flag is polled (between pieces, and every 100 ms
 * while waiting on a server), so SIGTERM stops a long recording quickly (the
 * stage is then redone from its start by the next attempt).
 */
#include <stdlib.h>
#include <string.h>

#include "audio/pcm.h"
#include "dsp/denoise.h"
#include "dsp/snr.h"
#include "engines/asr.h"
#include "engines/engines.h"
#include "stages/env.h"
#include "stages/stage.h"
#include "store/store_call.h"
#include "util/log.h"

#define STT_PIECE_MIN 20.0
#define STT_PIECE_MAX 30.0
#define STT_FILE_PIECE_MIN 540.0
#define STT_FILE_PIECE_MAX 600.0

struct stt_result {
	struct store_word *words;
	size_t n, cap;
	struct store_segment heard_denoised; /* the recording, when it was recognised denoised */
	bool denoised;
};

static enum parley_err stt_save(struct store *st, int64_t rec_id, void *data,
				struct parley_error *err)
{
	const struct stt_result *r = data;
	enum parley_err rc = store_words_put(st, rec_id, "stt_words", r->words, r->n, err);
	if (!rc)
		rc = store_segments_put(st, rec_id, STAGE_STT_DENOISED_KIND, &r->heard_denoised,
					r->denoised ? 1 : 0, err);
	return rc;
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
		o->approximate = w[i].approximate;
		memcpy(o->text, w[i].text, sizeof(o->text));
		o->text[sizeof(o->text) - 1] = '\0';
	}
	return PARLEY_OK;
}

/* End sample of the piece starting at `from` in [from, to): cut long spans at
 * the quietest 100 ms window between min_s and max_s seconds. */
static size_t piece_end(const struct pcm *pcm, size_t from, size_t to, double min_s, double max_s)
{
	size_t max = (size_t)(max_s * pcm->rate);
	if (to - from <= max)
		return to;
	size_t win = (size_t)pcm->rate / 10;
	size_t best = from + max;
	double best_e = -1;
	for (size_t at = from + (size_t)(min_s * pcm->rate); at + win <= from + max; at += win) {
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

struct pieces {
	struct asr_segment *seg;
	int *speaker; /* turn unit: the turn's speaker; file unit: -1 */
	size_t n, cap;
};

static enum parley_err piece_add(struct pieces *p, const struct pcm *pcm, size_t from,
				 size_t to, int speaker, struct parley_error *err)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct asr_segment *ns = realloc(p->seg, cap * sizeof(*ns));
		if (!ns)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in stt");
		p->seg = ns;
		int *sp = realloc(p->speaker, cap * sizeof(*sp));
		if (!sp)
			return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in stt");
		p->speaker = sp;
		p->cap = cap;
	}
	memset(&p->seg[p->n], 0, sizeof(p->seg[p->n]));
	p->seg[p->n].samples = pcm->samples + from;
	p->seg[p->n].n = to - from;
	p->seg[p->n].offset = (double)from / pcm->rate;
	p->speaker[p->n++] = speaker;
	return PARLEY_OK;
}

/* Cut [from, to) into pieces. */
static enum parley_err span_add(struct pieces *p, const struct pcm *pcm, size_t from, size_t to,
				int speaker, double min_s, double max_s, struct parley_error *err)
{
	if (to > pcm->n)
		to = pcm->n;
	while (from < to) {
		size_t end = piece_end(pcm, from, to, min_s, max_s);
		enum parley_err rc = piece_add(p, pcm, from, end, speaker, err);
		if (rc)
			return rc;
		from = end;
	}
	return PARLEY_OK;
}

/* File unit: the speaker of the turn holding the word's middle, else of the
 * nearest turn. */
static int speaker_at(const struct store_segment *turns, size_t nturns, double t)
{
	int best = turns[0].speaker;
	double best_d = -1;
	for (size_t i = 0; i < nturns; i++) {
		if (t >= turns[i].start && t < turns[i].end)
			return turns[i].speaker;
		double d = t < turns[i].start ? turns[i].start - t : t - turns[i].end;
		if (best_d < 0 || d < best_d) {
			best_d = d;
			best = turns[i].speaker;
		}
	}
	return best;
}

static int cmp_word(const void *a, const void *b)
{
	const struct store_word *x = a, *y = b;
	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return x->speaker - y->speaker;
}

static bool stt_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

/* stt.denoise_below: is the recording noisy enough to recognise it
 * denoised? The SNR is logged either way. */
static enum parley_err stt_noisy(const struct stage_ctx *ctx, const struct pcm *pcm, bool *noisy,
				 struct parley_error *err)
{
	*noisy = false;
	double below = ctx->cfg->stt.denoise_below;
	if (below <= 0 || stage_in_pipeline(ctx, "denoise"))
		return PARLEY_OK;
	struct snr_params sp = snr_default_params();
	double snr;
	enum parley_err rc = snr_estimate(pcm, &sp, &snr, err);
	if (rc)
		return rc;
	*noisy = snr < below;
	log_info("stt: %s: SNR estimate %.1f dB%s", ctx->rec->name, snr,
		 *noisy ? ", below stt.denoise_below: recognising denoised audio" : "");
	return PARLEY_OK;
}

static enum parley_err stt_denoise(const struct stage_ctx *ctx, struct pcm *pcm,
				   struct parley_error *err)
{
	struct denoise_params p = denoise_default_params();
	p.suppress_db = ctx->cfg->denoise.suppress;
	enum parley_err rc = denoise_pcm(pcm, &p, err);
	if (rc)
		parley_error_prefix(err, "%s", ctx->rec->name);
	return rc;
}

static enum parley_err stt_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct pcm pcm = {0};
	struct pcm ch[STAGE_CHANNELS_MAX] = {0};
	int nch = 0;
	struct store_segment *turns = NULL;
	size_t nturns = 0;
	struct stt_result r = {0};
	struct pieces p = {0};
	struct asr_engine *eng;
	struct asr_params ap;
	enum parley_err rc = stage_env_stt(ctx->env, ctx->cfg, &eng, &ap, err);
	if (rc || (rc = stage_load_audio(ctx, &pcm, err)) ||
	    (rc = store_segments_get(ctx->store, ctx->rec->id, "turn", &turns, &nturns, err)))
		goto out;
	/* stt.language "": the lid stage's language, when it found one */
	struct store_call_language lang;
	bool found = false;
	if (!ap.language && stage_in_pipeline(ctx, "lid") &&
	    (rc = store_call_language_get(ctx->store, ctx->rec->id, &lang, &found, err)))
		goto out;
	if (found && strcmp(lang.code, "und") != 0)
		ap.language = lang.code;
	ap.abort = stt_abort;
	ap.user_data = ctx;
	ap.label = ctx->rec->name; /* names it in the engine's verify / spot lines */
	bool file_unit = ctx->cfg->stt.unit == PC_UNIT_FILE;
	if (!file_unit && ctx->cfg->channels.mode == PC_CHANNELS_SEPARATE)
		nch = stage_channel_count(ctx);
	for (int c = 0; c < nch; c++)
		if ((rc = stage_load_channel(ctx, c, &ch[c], err)))
			goto out;
	bool noisy;
	if ((rc = stt_noisy(ctx, &pcm, &noisy, err)))
		goto out;
	r.denoised = noisy || stage_in_pipeline(ctx, "denoise");
	r.heard_denoised = (struct store_segment){0.0, pcm.rate ? (double)pcm.n / pcm.rate : 0.0, -1};
	for (int c = -1; noisy && c < nch; c++)
		if ((rc = stt_denoise(ctx, c < 0 ? &pcm : &ch[c], err)))
			goto out;
	if (file_unit && nturns) {
		bool external = asr_engine_is_external(ctx->cfg->stt.engine);
		rc = span_add(&p, &pcm, 0, pcm.n, -1, external ? STT_FILE_PIECE_MIN : STT_PIECE_MIN,
			      external ? STT_FILE_PIECE_MAX : STT_PIECE_MAX, err);
	}
	for (size_t t = 0; !file_unit && !rc && t < nturns; t++) {
		int s = turns[t].speaker;
		const struct pcm *src = s >= 0 && s < nch ? &ch[s] : &pcm;
		rc = span_add(&p, src, (size_t)(turns[t].start * src->rate),
			      (size_t)(turns[t].end * src->rate), s, STT_PIECE_MIN, STT_PIECE_MAX, err);
	}
	if (rc)
		goto out;
	if (stt_abort(ctx)) {
		rc = parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped during stt", ctx->rec->name);
		goto out;
	}
	if ((rc = asr_engine_transcribe_many(eng, &ap, p.seg, p.n, pcm.rate, err))) {
		if (rc == PARLEY_ERR_ABORTED)
			parley_error_set(err, rc, "%s: stopped during stt", ctx->rec->name);
		goto out;
	}
	for (size_t i = 0; i < p.n && !rc; i++) {
		for (size_t k = 0; k < p.seg[i].nwords && !rc; k++) {
			const struct asr_word *w = &p.seg[i].words[k];
			int spk = p.speaker[i] >= 0 ? p.speaker[i]
						    : speaker_at(turns, nturns, (w->start + w->end) / 2);
			rc = result_add(&r, w, 1, spk, err);
		}
	}
	if (!rc && nch > 0 && r.n > 1)
		qsort(r.words, r.n, sizeof(*r.words), cmp_word);
	if (!rc)
		rc = stage_commit(ctx, stt_save, &r, err);
out:
	for (int c = 0; c < STAGE_CHANNELS_MAX; c++)
		pcm_release(&ch[c]);
	asr_segments_clear(p.seg, p.n);
	free(p.seg);
	free(p.speaker);
	free(r.words);
	free(turns);
	pcm_release(&pcm);
	return rc;
}

static const char *const stt_tables[] = {"stt_words", "segments", NULL};

const struct stage stage_stt = {
	.name = "stt", .description = "speech to text (pocketsphinx, a server or a command)",
	.run = stt_run, .result_tables = stt_tables, .options = "stt lexicon channels denoise",
};

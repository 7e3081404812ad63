/*
 * lid.c — stage "lid" (optional; the call preset runs it): the language of
 * the conversation, written to call_language (store_call.h).
 *
 *   metadata: the file's metadata row says `language` → source
 *     "metadata", confidence 1 (see the end of this comment);
 *   declared: lid.language ("en") → source "config", confidence 1;
 *   detected: otherwise the engine lid.engine ("" = stt.engine) is sent up
 *     to lid.seconds of the recording's speech — the diarized turns (else
 *     the vad's speech regions) with every call event span removed (IVR
 *     prompts, hold music, tones: the ivr stage's call_events), joined —
 *     once, with no language hint. Whisper-family servers (openai+…,
 *     whispercpp+…, speaches) report the language of what they heard →
 *     source "engine", confidence the probability the server gave
 *     (whisper.cpp's detected_language_probability, faster-whisper's
 *     language_probability), 0 when it gave none (OpenAI's API).
 *   An engine that reports no language (pocketsphinx; exec: commands that
 *     print none) is not asked; the recogniser's configured language
 *     stt.language stands, source "config". Nothing to go by (no speech, or
 *     stt.language "" too): code "und" (ISO 639-2 "undetermined").
 *
 * A language outside lid.expected ("en,ms"; "" = any) is flagged
 * (expected = false), never failed: the call goes on. The comparison is by
 * primary subtag, case-insensitive ("en-GB" is "en"). The stt stage uses
 * the code as its language hint when stt.language is "".
 * Per-file metadata comes first: the recording's metadata `language`
 * (`--metadata`, core/call_metadata.h) → source "metadata", confidence 1,
 * before lid.language and the engine (a file's own row is more specific
 * than the batch's configuration).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/pcm.h"
#include "core/call_metadata.h"
#include "engines/asr.h"
#include "engines/engines.h"
#include "stages/env.h"
#include "stages/stage.h"
#include "store/store_call.h"

static enum parley_err lid_save(struct store *st, int64_t rec_id, void *data,
				struct parley_error *err)
{
	return store_call_language_put(st, rec_id, data, err);
}

static int span_cmp(const void *x, const void *y)
{
	const struct store_segment *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* The first `seconds` of speech outside every event span, joined, into out. */
static enum parley_err lid_speech(const struct pcm *pcm, struct store_segment *regs, size_t nregs,
				  const struct store_call_event *ev, size_t nev, double seconds,
				  struct pcm *out, struct parley_error *err)
{
	size_t cap = (size_t)(seconds * pcm->rate), n = 0;
	out->rate = pcm->rate;
	out->n = 0;
	out->samples = malloc((cap ? cap : 1) * sizeof(*out->samples));
	if (!out->samples)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in lid");
	qsort(regs, nregs, sizeof(*regs), span_cmp);
	double done_to = 0; /* overlapping turns are taken once */
	for (size_t i = 0; i < nregs && n < cap; i++) {
		double a = regs[i].start > done_to ? regs[i].start : done_to, b = regs[i].end;
		while (a < b && n < cap) {
			/* the piece from a to the next event start inside [a, b) */
			double end = b;
			bool inside = false;
			for (size_t k = 0; k < nev; k++) {
				if (ev[k].start <= a && ev[k].end > a) {
					a = ev[k].end; /* a lies in an event: skip it */
					inside = true;
					break;
				}
				if (ev[k].start > a && ev[k].start < end)
					end = ev[k].start;
			}
			if (inside)
				continue;
			size_t from = (size_t)(a * pcm->rate), to = (size_t)(end * pcm->rate);
			if (to > pcm->n)
				to = pcm->n;
			if (from < to) {
				size_t take = to - from < cap - n ? to - from : cap - n;
				memcpy(out->samples + n, pcm->samples + from, take * sizeof(*out->samples));
				n += take;
			}
			a = end;
		}
		if (b > done_to)
			done_to = b;
	}
	out->n = n;
	return PARLEY_OK;
}

static bool lid_abort(void *ud)
{
	const struct stage_ctx *ctx = ud;
	return ctx->stop && *ctx->stop;
}

/* Ask the engine which language the speech is in; lang->code "" when it
 * does not say. */
static enum parley_err lid_detect(struct stage_ctx *ctx, struct store_call_language *lang,
				  struct parley_error *err)
{
	const struct pipeline_config *cfg = ctx->cfg;
	struct pcm pcm = {0}, speech = {0};
	struct store_segment *regs = NULL;
	struct store_call_event *ev = NULL;
	size_t nregs = 0, nev = 0;
	struct asr_engine own = {0}, *eng = NULL;
	struct asr_params ap = asr_default_params();
	struct asr_segment seg = {0};
	enum parley_err rc;
	if ((rc = stage_load_audio(ctx, &pcm, err)) ||
	    (rc = store_segments_get(ctx->store, ctx->rec->id, "turn", &regs, &nregs, err)) ||
	    (!nregs && (rc = store_segments_get(ctx->store, ctx->rec->id, "speech", &regs, &nregs,
						err))) ||
	    (rc = store_call_events_get(ctx->store, ctx->rec->id, &ev, &nev, err)) ||
	    (rc = lid_speech(&pcm, regs, nregs, ev, nev, cfg->lid.seconds, &speech, err)))
		goto out;
	if (speech.n < (size_t)speech.rate / 2) {
		snprintf(lang->code, sizeof(lang->code), "und");
		goto out;
	}
	if (cfg->lid.engine[0]) {
		struct asr_open_params p = asr_open_default_params();
		p.engine = cfg->lid.engine;
		p.model = cfg->stt.model;
		p.api_key_env = cfg->stt.api_key_env;
		p.timeout = cfg->stt.timeout;
		p.connect_timeout = cfg->stt.connect_timeout;
		if ((rc = asr_open(&p, &own, err)))
			goto out;
		eng = &own;
	} else {
		if ((rc = stage_env_stt(ctx->env, cfg, &eng, &ap, err)))
			goto out;
		ap = asr_default_params();
	}
	ap.abort = lid_abort;
	ap.user_data = ctx;
	seg.samples = speech.samples;
	seg.n = speech.n;
	if ((rc = asr_engine_transcribe_many(eng, &ap, &seg, 1, speech.rate, err))) {
		parley_error_prefix(err, "%s: lid", ctx->rec->name);
		goto out;
	}
	snprintf(lang->code, sizeof(lang->code), "%s", seg.language);
	lang->confidence = seg.language[0] && seg.language_prob >= 0 ? seg.language_prob : 0;
	snprintf(lang->source, sizeof(lang->source), "engine");
out:
	asr_segments_clear(&seg, 1);
	asr_engine_close(&own);
	free(ev);
	free(regs);
	pcm_release(&speech);
	pcm_release(&pcm);
	return rc;
}

/* Is code (primary subtag) one of the comma list? "" = any. */
static bool lid_expected(const char *list, const char *code)
{
	if (!*list)
		return true;
	size_t cn = strcspn(code, "-_");
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		size_t pn = strcspn(p, "-_,");
		if (pn == cn && strncasecmp(p, code, cn) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static enum parley_err lid_run(struct stage_ctx *ctx, struct parley_error *err)
{
	const struct pipeline_config *cfg = ctx->cfg;
	struct store_call_language lang = {.confidence = 0};
	enum parley_err rc = PARLEY_OK;
	const char *engine = cfg->lid.engine[0] ? cfg->lid.engine : cfg->stt.engine;
	char *text = NULL;
	if ((rc = store_recording_metadata_get(ctx->store, ctx->rec->id, &text, err)))
		return rc;
	json_t *md = json_loads(text, 0, NULL);
	free(text);
	const char *md_lang = call_metadata_language(md);
	if (md_lang) {
		snprintf(lang.code, sizeof(lang.code), "%s", md_lang);
		snprintf(lang.source, sizeof(lang.source), "metadata");
		lang.confidence = 1;
	}
	json_decref(md);
	if (!lang.code[0] && cfg->lid.language[0]) {
		snprintf(lang.code, sizeof(lang.code), "%s", cfg->lid.language);
		snprintf(lang.source, sizeof(lang.source), "config");
		lang.confidence = 1;
	} else if (!lang.code[0] && asr_engine_is_external(engine) &&
		   (rc = lid_detect(ctx, &lang, err))) {
		return rc;
	}
	if (!lang.code[0] && cfg->stt.language[0]) {
		snprintf(lang.code, sizeof(lang.code), "%s", cfg->stt.language);
		snprintf(lang.source, sizeof(lang.source), "config");
		lang.confidence = 1;
	}
	if (!lang.code[0])
		snprintf(lang.code, sizeof(lang.code), "und");
	if (!lang.source[0])
		snprintf(lang.source, sizeof(lang.source), "engine");
	lang.expected = lid_expected(cfg->lid.expected, lang.code);
	return stage_commit(ctx, lid_save, &lang, err);
}

static enum parley_err lid_export(const struct stage_export *x, struct parley_error *err)
{
	if (!x->done)
		return PARLEY_OK;
	struct store_call_language lang;
	bool found = false;
	enum parley_err rc = store_call_language_get(x->store, x->rec->id, &lang, &found, err);
	if (rc || !found)
		return rc;
	json_t *o = json_pack("{s:s, s:s, s:f, s:b}", "code", lang.code, "source", lang.source,
			      "confidence", lang.confidence, "expected", lang.expected);
	if (!o || json_object_set_new(x->transcript, "language", o))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting the language");
	return PARLEY_OK;
}

static const char *const lid_tables[] = {"call_language", NULL};

const struct stage stage_lid = {
	.name = "lid",
	.description = "the conversation's language (declared, or a Whisper-family engine)",
	.run = lid_run,
	.result_tables = lid_tables,
	.options = "lid stt",
	.export = lid_export,
	.optional = true,
};

/*
 * metrics.c — stage "metrics" (optional: runs when a stage list or the call
 * preset names it): the call's figures per role and per call
 * (core/call_metrics.h has every definition) from the diarize stage's turns
 * and roles, the recognised words, the ivr stage's events (none when it did
 * not run) and the EBU R128 loudness of each speaker's talk (dsp/loudness.h:
 * its own channel when speakers are channels, else the mix) and of the mix.
 * Talk is measured tighter than the turns: the vad stage pads its regions by
 * 0.1 s on both sides (for recognition) and the diarizer's turns keep that
 * padding, which would count about 0.2 s of silence per turn as talk (+8-10%
 * on generated calls). So when speakers are not channels (a diarized mix),
 * the turns are clipped to the mix's speech found again without padding;
 * channel turns (dsp/channel_diarize.h) are unpadded already.
 * Saves call_metrics and call_spans (store_call.h). Its export adds
 * "metrics" to transcript.json: {"call": {...}, "agent": {...}, ...} keyed
 * by role (or "speaker:N"), with the instances (silences, overlaps,
 * interruptions, holds) as lists in "call".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/pcm.h"
#include "core/call_metrics.h"
#include "dsp/loudness.h"
#include "dsp/vad.h"
#include "stages/stage.h"
#include "store/store_call.h"

struct metrics_result {
	struct store_call_metric *m;
	size_t nm;
	struct store_call_span *s;
	size_t ns;
};

static enum parley_err metrics_save(struct store *st, int64_t rec_id, void *data,
				    struct parley_error *err)
{
	const struct metrics_result *r = data;
	enum parley_err rc = store_call_metrics_put(st, rec_id, r->m, r->nm, err);
	if (!rc)
		rc = store_call_spans_put(st, rec_id, r->s, r->ns, err);
	return rc;
}

/* segs clipped to regions (both sorted by start; segs may overlap each
 * other): *out malloc'd. */
static enum parley_err clip_to(const struct store_segment *segs, size_t n,
			       const struct vad_region *r, size_t nr, struct store_segment **out,
			       size_t *nout, struct parley_error *err)
{
	size_t cap = n + nr + 1, k = 0;
	struct store_segment *o = calloc(cap, sizeof(*o));
	if (!o)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in metrics");
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < nr; j++) {
			double a = segs[i].start > r[j].start ? segs[i].start : r[j].start;
			double b = segs[i].end < r[j].end ? segs[i].end : r[j].end;
			if (b <= a)
				continue;
			if (k == cap) {
				cap *= 2;
				struct store_segment *no = realloc(o, cap * sizeof(*o));
				if (!no) {
					free(o);
					return parley_error_set(err, PARLEY_ERR_NOMEM,
								"out of memory in metrics");
				}
				o = no;
			}
			o[k++] = (struct store_segment){a, b, segs[i].speaker};
		}
	}
	*out = o;
	*nout = k;
	return PARLEY_OK;
}

/* A diarized mix: turns and overlaps clipped to unpadded speech (see top). */
static enum parley_err tighten_talk(const struct pcm *mix, struct store_segment **turns,
				   size_t *nturns, struct store_segment **ovl, size_t *novl,
				   struct parley_error *err)
{
	struct vad_params vp = vad_default_params();
	vp.pad = 0;
	struct vad_region *r = NULL;
	size_t nr = 0;
	struct store_segment *t2 = NULL, *o2 = NULL;
	size_t nt2 = 0, no2 = 0;
	enum parley_err rc = vad_detect(mix, &vp, &r, &nr, err);
	if (!rc && !(rc = clip_to(*turns, *nturns, r, nr, &t2, &nt2, err)) &&
	    !(rc = clip_to(*ovl, *novl, r, nr, &o2, &no2, err))) {
		free(*turns);
		free(*ovl);
		*turns = t2;
		*nturns = nt2;
		*ovl = o2;
		*novl = no2;
		t2 = o2 = NULL;
	}
	free(t2);
	free(o2);
	free(r);
	return rc;
}

/* Speaker s's talk (main and overlap segments) as spans. */
static size_t speaker_spans(const struct store_segment *t, size_t nt,
			    const struct store_segment *o, size_t no, int s,
			    struct vad_region *out)
{
	size_t n = 0;
	for (size_t i = 0; i < nt; i++)
		if (t[i].speaker == s)
			out[n++] = (struct vad_region){t[i].start, t[i].end};
	for (size_t i = 0; i < no; i++)
		if (o[i].speaker == s)
			out[n++] = (struct vad_region){o[i].start, o[i].end};
	return n;
}

/* Loudness of each speaker's talk, and of the mix: what the parties heard,
 * so always the original audio, never the denoise stage's copy (a
 * suppressor lowers the noise floor and with it the call's loudness). */
static enum parley_err measure_loudness(struct stage_ctx *ctx, const struct call_metrics_input *in,
					const struct pcm *loaded, int nspk, double *loud,
					double *call_loud, struct parley_error *err)
{
	struct pcm ch = {0}, original = {0};
	const struct pcm *mix = loaded;
	struct vad_region *spans = calloc(in->nturns + in->noverlaps + 1, sizeof(*spans));
	enum parley_err rc = spans ? PARLEY_OK
				   : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in metrics");
	bool denoised = stage_in_pipeline(ctx, "denoise");
	if (!rc && denoised && !(rc = stage_load_audio_original(ctx, &original, err)))
		mix = &original;
	int nch = stage_channel_count(ctx);
	if (!rc)
		rc = loudness_integrated(mix, NULL, 0, call_loud, err);
	for (int s = 0; s < nspk && !rc; s++) {
		int channel = -1;
		for (size_t i = 0; i < in->nroles; i++)
			if (in->roles[i].speaker == s)
				channel = in->roles[i].channel;
		size_t n = speaker_spans(in->turns, in->nturns, in->overlaps, in->noverlaps, s, spans);
		loud[s] = NAN;
		if (n == 0)
			continue;
		if (channel >= 0 && channel < nch) {
			pcm_release(&ch);
			if (!(rc = stage_load_channel_original(ctx, channel, &ch, err)))
				rc = loudness_integrated(&ch, spans, n, &loud[s], err);
		} else {
			rc = loudness_integrated(mix, spans, n, &loud[s], err);
		}
	}
	pcm_release(&ch);
	pcm_release(&original);
	free(spans);
	return rc;
}

static enum parley_err metrics_run(struct stage_ctx *ctx, struct parley_error *err)
{
	struct store *st = ctx->store;
	int64_t id = ctx->rec->id;
	struct store_segment *turns = NULL, *ovl = NULL;
	struct store_word *words = NULL;
	struct store_speaker_role *roles = NULL;
	struct store_call_event *ev = NULL;
	double *loud = NULL;
	size_t nturns = 0, novl = 0, nwords = 0, nroles = 0, nev = 0;
	struct metrics_result r = {0};
	struct pcm mix = {0};
	enum parley_err rc;
	if ((rc = stage_load_audio(ctx, &mix, err)) ||
	    (rc = store_segments_get(st, id, "turn", &turns, &nturns, err)) ||
	    (rc = store_segments_get(st, id, "overlap", &ovl, &novl, err)) ||
	    (rc = store_words_get(st, id, "words", &words, &nwords, err)) ||
	    (rc = store_speaker_roles_get(st, id, &roles, &nroles, err)) ||
	    (rc = store_call_events_get(st, id, &ev, &nev, err)))
		goto out;
	if (nwords == 0) { /* the words stage did not run: the recogniser's words */
		free(words);
		words = NULL;
		if ((rc = store_words_get(st, id, "stt_words", &words, &nwords, err)))
			goto out;
	}
	bool by_channel = false;
	for (size_t i = 0; i < nroles; i++)
		by_channel |= roles[i].channel >= 0;
	if (!by_channel && mix.n > 0 &&
	    (rc = tighten_talk(&mix, &turns, &nturns, &ovl, &novl, err)))
		goto out;
	int nspk = 0;
	for (size_t i = 0; i < nturns; i++)
		nspk = turns[i].speaker + 1 > nspk ? turns[i].speaker + 1 : nspk;
	for (size_t i = 0; i < novl; i++)
		nspk = ovl[i].speaker + 1 > nspk ? ovl[i].speaker + 1 : nspk;
	if (nspk > CALL_METRICS_SPEAKERS_MAX)
		nspk = CALL_METRICS_SPEAKERS_MAX; /* call_metrics_compute says TOO_LARGE */
	loud = calloc((size_t)nspk + 1, sizeof(*loud));
	if (!loud) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in metrics");
		goto out;
	}
	struct call_metrics_input in = {
		.duration = pcm_seconds(&mix), .turns = turns, .nturns = nturns,
		.overlaps = ovl, .noverlaps = novl, .words = words, .nwords = nwords,
		.roles = roles, .nroles = nroles, .events = ev, .nevents = nev,
		.loudness = loud, .nloudness = (size_t)nspk, .call_loudness = NAN,
	};
	if ((rc = measure_loudness(ctx, &in, &mix, nspk, loud, &in.call_loudness, err)))
		goto out;
	struct call_metrics_params p = call_metrics_default_params();
	p.silence_min = ctx->cfg->metrics.silence_min;
	p.interrupt_yield = ctx->cfg->metrics.interrupt_yield;
	if ((rc = call_metrics_compute(&in, &p, &r.m, &r.nm, &r.s, &r.ns, err)))
		goto out;
	rc = stage_commit(ctx, metrics_save, &r, err);
out:
	free(r.m);
	free(r.s);
	free(loud);
	free(turns);
	free(ovl);
	free(words);
	free(roles);
	free(ev);
	pcm_release(&mix);
	return rc;
}

/* The list name in metrics.call for each span kind. */
static const struct {
	const char *kind, *list, *who, *other;
} span_lists[] = {
	{"silence", "silences", "before", "after"},
	{"overlap", "overlaps", "first", "second"},
	{"interruption", "interruptions", "by", "of"},
	{"hold", "holds", NULL, NULL},
};

static double ms(double x)
{
	return round(x * 1000.0) / 1000.0;
}

static enum parley_err metrics_export(const struct stage_export *x, struct parley_error *err)
{
	if (!x->done)
		return PARLEY_OK;
	struct store_call_metric *m = NULL;
	struct store_call_span *s = NULL;
	size_t nm = 0, ns = 0;
	enum parley_err rc = store_call_metrics_get(x->store, x->rec->id, &m, &nm, err);
	if (!rc)
		rc = store_call_spans_get(x->store, x->rec->id, &s, &ns, err);
	json_t *root = rc ? NULL : json_object();
	json_t *call = rc ? NULL : json_object();
	if (!rc && (!root || !call))
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory exporting metrics");
	if (!rc) {
		json_object_set_new(root, "call", call); /* "call" first, then the roles */
		for (size_t i = 0; i < nm; i++) {
			json_t *scope = json_object_get(root, m[i].scope);
			if (!scope) {
				scope = json_object();
				json_object_set_new(root, m[i].scope, scope);
			}
			bool whole = m[i].value == floor(m[i].value) && fabs(m[i].value) < 1e15 &&
				     (strstr(m[i].name, "count") || strcmp(m[i].name, "turns") == 0 ||
				      strcmp(m[i].name, "words") == 0 ||
				      strncmp(m[i].name, "interruptions_", 14) == 0);
			json_object_set_new(scope, m[i].name,
					    whole ? json_integer((json_int_t)m[i].value)
						  : json_real(ms(m[i].value)));
		}
		for (size_t k = 0; k < sizeof(span_lists) / sizeof(span_lists[0]); k++) {
			json_t *list = json_array();
			for (size_t i = 0; i < ns; i++) {
				if (strcmp(s[i].kind, span_lists[k].kind) != 0)
					continue;
				json_t *o = json_object();
				json_object_set_new(o, "start", json_real(ms(s[i].start)));
				json_object_set_new(o, "end", json_real(ms(s[i].end)));
				if (span_lists[k].who) {
					json_object_set_new(o, span_lists[k].who, json_string(s[i].who));
					json_object_set_new(o, span_lists[k].other,
							    json_string(s[i].other));
				}
				json_array_append_new(list, o);
			}
			json_object_set_new(call, span_lists[k].list, list);
		}
		json_object_set_new(x->transcript, "metrics", root);
	}
	free(m);
	free(s);
	return rc;
}

static const char *const metrics_tables[] = {"call_metrics", "call_spans", NULL};

const struct stage stage_metrics = {
	.name = "metrics",
	.description = "call metrics per role: talk share, silences, overlap, interruptions, rate, loudness",
	.run = metrics_run, .result_tables = metrics_tables, .options = "metrics",
	.export = metrics_export, .optional = true,
};

/* asr_remote.c — see asr_remote.h. */
#include "engines/asr_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/asr_json.h"
#include "engines/remote.h"

#define MODEL_MAX 256
#define FIELD_MAX 4096

struct remote_asr {
	struct remote *r;
	enum asr_dialect dialect;
	char model[MODEL_MAX];
	double max_seconds;
	char version[1024];
};

struct seg_ctx {
	struct asr_segment *seg;
	double duration;
	char *wav;
	size_t wav_len;
	struct remote_part parts[10];
};

struct asr_remote_params asr_remote_default_params(void)
{
	struct asr_remote_params p;
	memset(&p, 0, sizeof(p));
	p.net = remote_default_params();
	p.max_seconds = 3600;
	return p;
}

static const char *ra_version(void *self)
{
	return ((struct remote_asr *)self)->version;
}

static void ra_free(void *self)
{
	struct remote_asr *e = self;
	if (!e)
		return;
	remote_close(e->r);
	free(e);
}

static enum parley_err seg_answer(void *ud, const char *body, size_t len,
				  struct parley_error *err)
{
	struct seg_ctx *c = ud;
	free(c->seg->words);
	c->seg->words = NULL;
	c->seg->nwords = 0;
	return asr_json_parse_full(body, len, c->seg->offset, c->duration, &c->seg->words,
				   &c->seg->nwords, c->seg->language, &c->seg->language_prob, err);
}

static size_t fill_parts(const struct remote_asr *e, const struct asr_params *ap,
			 struct seg_ctx *c)
{
	static const char word[] = "word", segment[] = "segment", verbose[] = "verbose_json",
			  zero[] = "0";
	size_t k = 0;
	struct remote_part *p = c->parts;
	p[k++] = (struct remote_part){"file", c->wav, c->wav_len, "audio.wav", "audio/wav"};
	if (e->model[0])
		p[k++] = (struct remote_part){"model", e->model, strlen(e->model), NULL, NULL};
	p[k++] = (struct remote_part){"response_format", verbose, strlen(verbose), NULL, NULL};
	p[k++] = (struct remote_part){"temperature", zero, 1, NULL, NULL};
	if (e->dialect == ASR_DIALECT_OPENAI) {
		p[k++] = (struct remote_part){"timestamp_granularities[]", word, strlen(word), NULL,
					      NULL};
		p[k++] = (struct remote_part){"timestamp_granularities[]", segment,
					      strlen(segment), NULL, NULL};
	}
	if (ap->language && *ap->language)
		p[k++] = (struct remote_part){"language", ap->language, strlen(ap->language), NULL,
					      NULL};
	if (ap->prompt && *ap->prompt) {
		size_t pl = strlen(ap->prompt);
		p[k++] = (struct remote_part){"prompt", ap->prompt, pl < FIELD_MAX ? pl : FIELD_MAX,
					      NULL, NULL};
	}
	return k;
}

static enum parley_err ra_many(void *self, const struct asr_params *ap, struct asr_segment *segs,
			       size_t nsegs, int rate, struct parley_error *err)
{
	struct remote_asr *e = self;
	enum parley_err rc = PARLEY_OK;
	struct seg_ctx *ctx = calloc(nsegs ? nsegs : 1, sizeof(*ctx));
	struct remote_request *reqs = calloc(nsegs ? nsegs : 1, sizeof(*reqs));
	if (!ctx || !reqs) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in stt");
		goto out;
	}
	const char *path = e->dialect == ASR_DIALECT_OPENAI ? "/audio/transcriptions" : "/inference";
	size_t nreq = 0;
	for (size_t i = 0; i < nsegs; i++) {
		struct asr_segment *s = &segs[i];
		s->words = NULL;
		s->nwords = 0;
		s->language[0] = '\0';
		s->language_prob = -1;
		if (!s->samples && s->n) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "stt: no samples");
			goto out;
		}
		double dur = (double)s->n / rate;
		if (dur > e->max_seconds) {
			rc = parley_error_set(err, PARLEY_ERR_TOO_LARGE,
					      "stt: a piece of %.0f s is longer than the %.0f s "
					      "this engine is allowed", dur, e->max_seconds);
			goto out;
		}
		if (s->n == 0)
			continue;
		ctx[i].seg = s;
		ctx[i].duration = dur;
		if ((rc = asr_wav_encode(s->samples, s->n, rate, &ctx[i].wav, &ctx[i].wav_len, err)))
			goto out;
		struct remote_request *q = &reqs[nreq++];
		q->path = path;
		q->parts = ctx[i].parts;
		q->nparts = fill_parts(e, ap, &ctx[i]);
		q->on_response = seg_answer;
		q->ud = &ctx[i];
	}
	remote_set_abort(e->r, ap->abort, ap->user_data);
	rc = remote_perform(e->r, reqs, nreq, err);
	remote_set_abort(e->r, NULL, NULL);
	for (size_t i = 0; i < nreq; i++)
		remote_request_clear(&reqs[i]);
	if (!rc && ap->progress)
		ap->progress(nsegs, nsegs, ap->user_data);
out:
	for (size_t i = 0; ctx && i < nsegs; i++)
		free(ctx[i].wav);
	free(ctx);
	free(reqs);
	return rc;
}

static enum parley_err ra_one(void *self, const struct asr_params *ap, const int16_t *samples,
			      size_t n, int rate, double offset, struct asr_word **words,
			      size_t *nwords, struct parley_error *err)
{
	struct asr_segment s = {.samples = samples, .n = n, .offset = offset};
	enum parley_err rc = ra_many(self, ap, &s, 1, rate, err);
	if (rc) {
		free(s.words);
		s.words = NULL;
		s.nwords = 0;
	}
	*words = s.words;
	*nwords = s.nwords;
	return rc;
}

static const struct asr_engine_ops openai_ops = {
	.name = "openai",
	.version = ra_version,
	.transcribe = ra_one,
	.transcribe_many = ra_many,
	.free = ra_free,
};

static const struct asr_engine_ops whispercpp_ops = {
	.name = "whispercpp",
	.version = ra_version,
	.transcribe = ra_one,
	.transcribe_many = ra_many,
	.free = ra_free,
};

enum parley_err asr_remote_open(const struct asr_remote_params *params, struct asr_engine *out,
				struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	struct remote_asr *e = calloc(1, sizeof(*e));
	if (!e)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening stt");
	e->dialect = params->dialect;
	const char *model = params->model && *params->model
				    ? params->model
				    : params->dialect == ASR_DIALECT_OPENAI ? "whisper-1" : "";
	if (strlen(model) >= sizeof(e->model)) {
		free(e);
		return parley_error_set(err, PARLEY_ERR_INVALID, "stt: model name too long");
	}
	snprintf(e->model, sizeof(e->model), "%s", model);
	e->max_seconds = params->max_seconds > 0 ? params->max_seconds : 3600;
	/* OpenAI-style servers live under /v1 unless the URL says otherwise */
	char url[REMOTE_URL_MAX];
	const char *u = params->url ? params->url : "";
	const char *host = strstr(u, "://");
	bool has_path = host && strchr(host + 3, '/') && strchr(host + 3, '/')[1];
	snprintf(url, sizeof(url), "%s%s", u,
		 params->dialect == ASR_DIALECT_OPENAI && !has_path ? "/v1" : "");
	struct remote_params rp = params->net;
	rp.base_url = url;
	rp.what = params->dialect == ASR_DIALECT_OPENAI ? "stt openai" : "stt whispercpp";
	enum parley_err rc = remote_open(&rp, &e->r, err);
	if (rc) {
		free(e);
		return rc;
	}
	const char *scheme = params->dialect == ASR_DIALECT_OPENAI ? "openai" : "whispercpp";
	snprintf(e->version, sizeof(e->version), "%s %s%s%s, %d in flight (%s)", scheme,
		 remote_base_url(e->r), e->model[0] ? ", model " : "", e->model,
		 params->net.concurrency, remote_library_version());
	out->ops = params->dialect == ASR_DIALECT_OPENAI ? &openai_ops : &whispercpp_ops;
	out->self = e;
	return PARLEY_OK;
}

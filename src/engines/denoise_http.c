/* denoise_http.c — see denoise_http.h. */
#include "engines/denoise_http.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/decode.h"
#include "engines/asr_json.h"
#include "engines/remote.h"

struct denoise_http_params denoise_http_default_params(void)
{
	struct denoise_http_params p = {.timeout = 120, .connect_timeout = 10, .retries = 4,
					.max_reply = (size_t)256 << 20};
	return p;
}

struct reply_ctx {
	const struct pcm *in;
	struct pcm out;
};

/* A 2xx body: audio as long as what was sent, else ENGINE (retried). */
static enum parley_err reply_check(void *ud, const char *body, size_t len,
				   struct parley_error *err)
{
	struct reply_ctx *c = ud;
	pcm_release(&c->out);
	struct audio_decode_params dp = audio_decode_default_params();
	dp.rate = c->in->rate;
	struct parley_error derr = {0};
	if (audio_decode_memory(body, len, "reply.wav", &dp, &c->out, &derr))
		return parley_error_set(err, PARLEY_ERR_ENGINE, "the reply is not audio (%s)",
					derr.msg);
	double want = pcm_seconds(c->in), got = pcm_seconds(&c->out);
	if (fabs(got - want) > 0.1 && fabs(got - want) > 0.01 * want) {
		pcm_release(&c->out);
		return parley_error_set(err, PARLEY_ERR_ENGINE,
					"the reply holds %.2f s of audio for the %.2f s sent", got, want);
	}
	return PARLEY_OK;
}

enum parley_err denoise_http_pcm(const struct denoise_http_params *p, struct pcm *pcm,
				 struct parley_error *err)
{
	struct remote *r = NULL;
	char *wav = NULL;
	size_t wav_len = 0;
	static const char what[] = "denoise";
	struct reply_ctx c = {pcm, {0}};
	struct remote_request q = {0};
	struct remote_params rp = remote_default_params();
	rp.base_url = p->url;
	rp.timeout = p->timeout;
	rp.connect_timeout = p->connect_timeout;
	rp.retries = p->retries;
	rp.concurrency = 1;
	rp.max_response = p->max_reply;
	rp.what = what;
	rp.abort = p->abort;
	rp.user_data = p->user_data;
	if (pcm->n == 0)
		return PARLEY_OK;
	enum parley_err rc = remote_open(&rp, &r, err);
	if (rc || (rc = asr_wav_encode(pcm->samples, pcm->n, pcm->rate, &wav, &wav_len, err)))
		goto out;
	struct remote_part part = {"file", wav, wav_len, "audio.wav", "audio/wav"};
	q.path = "";
	q.parts = &part;
	q.nparts = 1;
	q.on_response = reply_check;
	q.ud = &c;
	if ((rc = remote_perform(r, &q, 1, err)))
		goto out;
	pcm_release(pcm);
	*pcm = c.out;
	c.out = (struct pcm){0};
out:
	pcm_release(&c.out);
	remote_request_clear(&q);
	free(wav);
	remote_close(r);
	return rc;
}

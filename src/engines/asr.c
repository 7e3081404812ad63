/* asr.c — the engine-independent half of asr.h. */
#include "engines/asr.h"

#include <stdlib.h>
#include <string.h>

struct asr_params asr_default_params(void)
{
	struct asr_params p;
	memset(&p, 0, sizeof(p));
	return p;
}

enum parley_err asr_engine_transcribe(struct asr_engine *eng, const struct asr_params *params,
				      const int16_t *samples, size_t n, int rate, double offset,
				      struct asr_word **words, size_t *nwords,
				      struct parley_error *err)
{
	struct asr_params dp = asr_default_params();
	return eng->ops->transcribe(eng->self, params ? params : &dp, samples, n, rate, offset,
				    words, nwords, err);
}

void asr_segments_clear(struct asr_segment *segs, size_t nsegs)
{
	for (size_t i = 0; i < nsegs; i++) {
		free(segs[i].words);
		segs[i].words = NULL;
		segs[i].nwords = 0;
		segs[i].language[0] = '\0';
		segs[i].language_prob = -1;
	}
}

enum parley_err asr_engine_transcribe_many(struct asr_engine *eng,
					   const struct asr_params *params,
					   struct asr_segment *segs, size_t nsegs, int rate,
					   struct parley_error *err)
{
	struct asr_params dp = asr_default_params();
	if (!params)
		params = &dp;
	for (size_t i = 0; i < nsegs; i++) {
		segs[i].words = NULL;
		segs[i].nwords = 0;
		segs[i].language[0] = '\0';
		segs[i].language_prob = -1;
	}
	if (eng->ops->transcribe_many) {
		enum parley_err rc =
			eng->ops->transcribe_many(eng->self, params, segs, nsegs, rate, err);
		if (rc)
			asr_segments_clear(segs, nsegs);
		return rc;
	}
	for (size_t i = 0; i < nsegs; i++) {
		if (params->abort && params->abort(params->user_data)) {
			asr_segments_clear(segs, nsegs);
			return parley_error_set(err, PARLEY_ERR_ABORTED, "%s: stopped on request",
						eng->ops->name);
		}
		enum parley_err rc = eng->ops->transcribe(eng->self, params, segs[i].samples,
							  segs[i].n, rate, segs[i].offset,
							  &segs[i].words, &segs[i].nwords, err);
		if (rc) {
			asr_segments_clear(segs, nsegs);
			return rc;
		}
		if (params->progress)
			params->progress(i + 1, nsegs, params->user_data);
	}
	return PARLEY_OK;
}

const char *asr_engine_version(const struct asr_engine *eng)
{
	return eng && eng->ops ? eng->ops->version(eng->self) : "";
}

void asr_engine_close(struct asr_engine *eng)
{
	if (eng && eng->ops)
		eng->ops->free(eng->self);
	if (eng) {
		eng->ops = NULL;
		eng->self = NULL;
	}
}

/*
 * asr.h — the speech-recognition (speech-to-text) engine interface: a table of function pointers
 * behind a handle, so the pipeline can run any recogniser.
 *
 *   struct asr_engine eng;
 *   struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
 *   if (asr_pocketsphinx_open(&p, &eng, &err) != PARLEY_OK) ...
 *   struct asr_word *w = NULL; size_t nw = 0;
 *   rc = asr_engine_transcribe(&eng, seg.samples, seg.n, 16000, seg_start_s, &w, &nw, &err);
 *   ... free(w);
 *   asr_engine_close(&eng);
 *
 * An engine is added in one file: implement the ops below, export an
 * "asr_<name>_open(params, struct asr_engine *out, err)" that fills out->ops
 * and out->self.
 *
 * THREADS: an engine instance is used by one thread at a time. Separate
 * instances are independent unless the engine's header says otherwise.
 */
#ifndef PARLEY_ENGINES_ASR_H
#define PARLEY_ENGINES_ASR_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define ASR_WORD_MAX 48 /* bytes per word including the NUL (= LEX_WORD_MAX) */

/* One recognised word. Fillers (silence, noise, breath) are never reported. */
struct asr_word {
	double start, end;      /* seconds from the start of the recording:
				   the segment's offset plus the time inside it */
	float confidence;       /* posterior probability, 0..1 */
	char text[ASR_WORD_MAX]; /* lower-case dictionary spelling, NUL-terminated */
};

struct asr_engine_ops {
	/* Short stable engine name ("pocketsphinx"), used in the store. */
	const char *name;

	/* Human-readable description of engine and model; owned by the engine,
	 * valid until free. Never NULL. */
	const char *(*version)(void *self);

	/*
	 * Recognise one speech segment: n mono 16-bit samples at `rate` Hz,
	 * decoded as one utterance independent of earlier calls (same input,
	 * same output). Word times are shifted by `offset` seconds.
	 * On PARLEY_OK, *words is a malloc'd array of *nwords words in time
	 * order (NULL when none) that the caller releases with free().
	 * On failure *words is NULL, *nwords 0 and *err is filled:
	 * PARLEY_ERR_INVALID (unsupported rate, NULL samples with n > 0),
	 * PARLEY_ERR_TOO_LARGE (segment longer than the engine allows),
	 * PARLEY_ERR_ENGINE (the recogniser failed), PARLEY_ERR_NOMEM.
	 */
	enum parley_err (*transcribe)(void *self, const int16_t *samples, size_t n, int rate,
				      double offset, struct asr_word **words, size_t *nwords,
				      struct parley_error *err);

	/* Release everything the engine holds. Accepts NULL. */
	void (*free)(void *self);
};

struct asr_engine {
	const struct asr_engine_ops *ops;
	void *self;
};

static inline enum parley_err asr_engine_transcribe(struct asr_engine *eng,
						    const int16_t *samples, size_t n, int rate,
						    double offset, struct asr_word **words,
						    size_t *nwords, struct parley_error *err)
{
	return eng->ops->transcribe(eng->self, samples, n, rate, offset, words, nwords, err);
}

/* Free the engine and zero the handle. Accepts NULL and a zeroed handle. */
static inline void asr_engine_close(struct asr_engine *eng)
{
	if (eng && eng->ops)
		eng->ops->free(eng->self);
	if (eng) {
		eng->ops = NULL;
		eng->self = NULL;
	}
}

#endif

/*
 * asr.h — the speech-recognition (speech-to-text) engine interface: a table of function pointers
 * behind a handle, so the pipeline can run any recogniser.
 *
 *   struct asr_engine eng;
 *   struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
 *   if (asr_pocketsphinx_open(&p, &eng, &err) != PARLEY_OK) ...
 *   struct asr_word *w = NULL; size_t nw = 0;
 *   struct asr_params ap = asr_default_params();
 *   ap.language = "en";
 *   rc = asr_engine_transcribe(&eng, &ap, seg.samples, seg.n, 16000, seg_start_s, &w, &nw, &err);
 *   ... free(w);
 *   asr_engine_close(&eng);
 *
 * An engine is added in one file: implement the ops below, export an
 * "asr_<name>_open(params, struct asr_engine *out, err)" that fills out->ops
 * and out->self, and add a row to the scheme table in engines/engines.c
 * (which opens an engine from a text such as "openai+http://host:8000/v1").
 *
 * THREADS: an engine instance is used by one thread at a time. Separate
 * instances are independent unless the engine's header says otherwise.
 */
#ifndef PARLEY_ENGINES_ASR_H
#define PARLEY_ENGINES_ASR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define ASR_WORD_MAX 48 /* bytes per word including the NUL (= LEX_WORD_MAX) */

/* One recognised word. Fillers (silence, noise, breath) are never reported. */
struct asr_word {
	double start, end;      /* seconds from the start of the recording:
				   the segment's offset plus the time inside it */
	float confidence;       /* posterior probability, 0..1 (1 when the engine
				   reports none) */
	bool approximate;       /* times spread evenly over a segment the engine
				   gave no word times for */
	char text[ASR_WORD_MAX]; /* lower-case spelling, no punctuation, NUL-terminated */
};

/*
 * What a transcription call may be told, as whisper.cpp's whisper_full_params:
 * start from asr_default_params() and set what you need. Engines ignore what
 * they cannot use (pocketsphinx has its language and targets fixed at open).
 */
struct asr_params {
	const char *language; /* ISO 639-1 hint ("en"); NULL or "" = engine decides */
	const char *prompt;   /* words to expect (the lexicon's targets); NULL = none */
	/* Names the audio in the engine's debug lines (the recording's name), so
	 * that a log of many recordings can be read back per recording; NULL or
	 * "" = none. Only read during the call. */
	const char *label;
	/* Polled between segments and while waiting on a server; true stops the
	 * call with PARLEY_ERR_ABORTED. NULL = never. */
	bool (*abort)(void *user_data);
	/* Progress of transcribe_many: after each segment when they are done one
	 * at a time (pocketsphinx, exec:), once at the end for the remote
	 * engines (their segments finish together). NULL = none. */
	void (*progress)(size_t done, size_t total, void *user_data);
	void *user_data;
};
struct asr_params asr_default_params(void);

/* One segment of a transcribe_many call: input, then its result. */
struct asr_segment {
	const int16_t *samples; /* in */
	size_t n;               /* in */
	double offset;          /* in: seconds added to the word times */
	struct asr_word *words; /* out: malloc'd, time order; the caller frees */
	size_t nwords;          /* out */
	char language[16];      /* out: the language the engine reported ("en"), or "" */
	double language_prob;   /* out: its probability 0..1, or -1 when not reported */
};

struct asr_engine_ops {
	/* Short stable engine name ("pocketsphinx", "openai"), used in the store. */
	const char *name;

	/* Human-readable description of engine, model and server version (never
	 * any credential); owned by the engine, valid until free. Never NULL. */
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
	 * PARLEY_ERR_ENGINE (the recogniser failed; transient),
	 * PARLEY_ERR_UNAVAILABLE (a server could not be reached or timed out;
	 * transient), PARLEY_ERR_REJECTED (a server refused the request;
	 * permanent, the message quotes it), PARLEY_ERR_UNAUTHORIZED,
	 * PARLEY_ERR_ABORTED, PARLEY_ERR_NOMEM.
	 */
	enum parley_err (*transcribe)(void *self, const struct asr_params *params,
				      const int16_t *samples, size_t n, int rate, double offset,
				      struct asr_word **words, size_t *nwords,
				      struct parley_error *err);

	/*
	 * Optional: many segments at once, several in flight (remote engines).
	 * Same contract per segment as transcribe; on failure every segment's
	 * words are freed and zeroed. NULL: asr_engine_transcribe_many calls
	 * transcribe once per segment.
	 */
	enum parley_err (*transcribe_many)(void *self, const struct asr_params *params,
					   struct asr_segment *segs, size_t nsegs, int rate,
					   struct parley_error *err);

	/* Release everything the engine holds. Accepts NULL. */
	void (*free)(void *self);
};

struct asr_engine {
	const struct asr_engine_ops *ops;
	void *self;
};

/* params NULL = asr_default_params(). */
enum parley_err asr_engine_transcribe(struct asr_engine *eng, const struct asr_params *params,
				      const int16_t *samples, size_t n, int rate, double offset,
				      struct asr_word **words, size_t *nwords,
				      struct parley_error *err);

/* Every segment, through ops->transcribe_many when the engine has it. */
enum parley_err asr_engine_transcribe_many(struct asr_engine *eng,
					   const struct asr_params *params,
					   struct asr_segment *segs, size_t nsegs, int rate,
					   struct parley_error *err);

/* Free every segment's words and zero them. */
void asr_segments_clear(struct asr_segment *segs, size_t nsegs);

/* The engine's version text ("" for a zeroed handle). */
const char *asr_engine_version(const struct asr_engine *eng);

/* Free the engine and zero the handle. Accepts NULL and a zeroed handle. */
void asr_engine_close(struct asr_engine *eng);

#endif

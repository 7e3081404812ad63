/*
 * engines.h — choose an engine implementation from its configuration text,
 * through one scheme table per kind (like the store's db_schemes[]):
 *
 *   speech to text (asr.h):
 *     pocketsphinx[:MODEL_DIR]            the embedded recogniser (default)
 *     openai+http(s)://HOST[:PORT][/PATH] OpenAI-compatible /audio/transcriptions
 *                                         (PATH defaults to /v1)
 *     whispercpp+http(s)://HOST[:PORT]    whisper.cpp's server, /inference
 *     exec:COMMAND                        a program given the audio path
 *   chat (llm.h):
 *     openai+http(s)://HOST[:PORT][/PATH] OpenAI-compatible /chat/completions
 *     exec:COMMAND                        a program given the request on stdin
 *   diarization (diarize_exec.h): builtin, or exec:COMMAND printing RTTM.
 *
 * Opening never contacts a server: a wrong URL shows at the first request.
 */
#ifndef PARLEY_ENGINES_ENGINES_H
#define PARLEY_ENGINES_ENGINES_H

#include <stddef.h>

#include "engines/asr.h"
#include "util/error.h"

struct lexicon;

/* What the configuration says about a speech-to-text engine. */
struct asr_open_params {
	const char *engine;          /* NULL/"" = "pocketsphinx" */
	const char *model;           /* servers: the model name; "" = default */
	const char *api_key_env;
	double timeout, connect_timeout;
	int concurrency;
	int retries;                   /* servers: transient failures retried per request (4) */
	double retry_max_wait;         /* servers: longest wait before a retry, Retry-After
					  capped (30 s); < 0 = that default */
	const struct lexicon *lexicon; /* pocketsphinx: targets; NULL = none */
	double keyword_weight;         /* pocketsphinx: 0 = its default */
	bool no_spot;                  /* pocketsphinx: no keyphrase spotting */
	const char *tmp_dir;
};
struct asr_open_params asr_open_default_params(void);

struct engine_scheme {
	const char *prefix;  /* "openai+", "exec:", "pocketsphinx" */
	const char *syntax;  /* for --help and errors */
	const char *summary;
};

/* The rows of each table, for --help and the README. */
extern const struct engine_scheme *const asr_scheme_list;
extern const size_t asr_scheme_count;

/* Open the engine the text names. Errors: PARLEY_ERR_INVALID naming the
 * text and the accepted forms, and whatever the engine's open returns. */
enum parley_err asr_open(const struct asr_open_params *p, struct asr_engine *out,
			 struct parley_error *err);

/* Check the text's form without opening anything (for an up-front check). */
enum parley_err asr_engine_check(const char *engine, struct parley_error *err);

/* True for engines that run on a server or command (not the embedded one). */
bool asr_engine_is_external(const char *engine);

/* The LLM table (llm_open and llm_engine_check are declared in llm.h). */
extern const struct engine_scheme *const llm_scheme_list;
extern const size_t llm_scheme_count;

#endif

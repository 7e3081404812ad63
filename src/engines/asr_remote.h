/*
 * asr_remote.h — speech-to-text on a server, behind asr.h, in two dialects:
 *
 *   OPENAI      POST BASE/audio/transcriptions (BASE defaults to /v1):
 *               multipart file=audio.wav, model, response_format=verbose_json,
 *               timestamp_granularities[]=word and =segment, temperature=0,
 *               language and prompt when given. OpenAI, speaches
 *               (faster-whisper), vLLM, LocalAI and others.
 *   WHISPERCPP  POST BASE/inference (whisper.cpp's examples/server):
 *               file, response_format=verbose_json, temperature=0,
 *               language, prompt.
 *
 * The answer is read by asr_json_parse (both dialects, word or token
 * timestamps, or spread segment times marked approximate). Requests go
 * through remote.h: timeouts, TLS verification, bounded answers, the API
 * key from an environment variable, transient failures retried, several
 * segments in flight (transcribe_many; concurrency). A 200 that is not
 * JSON, or has neither words, segments nor text, is retried like a 5xx.
 *
 * THREADS: one instance per thread.
 */
#ifndef PARLEY_ENGINES_ASR_REMOTE_H
#define PARLEY_ENGINES_ASR_REMOTE_H

#include "engines/asr.h"
#include "engines/remote.h"
#include "util/error.h"

enum asr_dialect { ASR_DIALECT_OPENAI, ASR_DIALECT_WHISPERCPP };

struct asr_remote_params {
	enum asr_dialect dialect;
	const char *url;          /* http(s)://host[:port][/path] */
	const char *model;        /* sent as "model" (OpenAI); NULL/"" = "whisper-1" for
				     OPENAI, none for WHISPERCPP */
	struct remote_params net;  /* timeouts, key variable, concurrency, retries: the
				      defaults of remote_default_params(); its base_url
				      and what are set from url and dialect */
	double max_seconds;       /* longest piece sent, default 3600 s (TOO_LARGE beyond) */
};
struct asr_remote_params asr_remote_default_params(void);

enum parley_err asr_remote_open(const struct asr_remote_params *params, struct asr_engine *out,
				struct parley_error *err);

#endif

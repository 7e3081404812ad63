/*
 * env.h — the engines a worker's stages share, built on first use and kept
 * for the worker's life (a pocketsphinx decoder takes ~0.5 s and ~100 MB to
 * load, so it is loaded once per worker, not per recording).
 * One env per worker thread/process; not thread-safe.
 */
#ifndef PARLEY_STAGES_ENV_H
#define PARLEY_STAGES_ENV_H

#include "stages/stage.h"
#include "util/error.h"

struct lexicon;
struct asr_engine;

enum parley_err stage_env_new(struct stage_env **out, struct parley_error *err);
void stage_env_free(struct stage_env *env); /* accepts NULL */

/* The lexicon named by cfg->lexicon_path, or the built-in one. */
enum parley_err stage_env_lexicon(struct stage_env *env, const struct stage_config *cfg,
				  const struct lexicon **out, struct parley_error *err);

/* The speech recogniser cfg->stt names (engines/engines.h; default
 * pocketsphinx with the lexicon's targets), and the transcription params
 * for it: cfg->stt.language, and cfg->stt.prompt or the lexicon's target
 * words as the prompt (strings owned by env). */
struct asr_params;
enum parley_err stage_env_stt(struct stage_env *env, const struct stage_config *cfg,
			      struct asr_engine **out, struct asr_params *params,
			      struct parley_error *err);

#endif

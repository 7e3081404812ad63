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

/* The batch's lexicon: cfg->lexicon.text (else the file lexicon.path, else
 * the built-in one). An env serves one configuration: the worker makes a
 * new env when the batch's configuration differs. */
enum parley_err stage_env_lexicon(struct stage_env *env, const struct pipeline_config *cfg,
				  const struct lexicon **out, struct parley_error *err);

/* The lexicon a configuration names, parsed (*out freed with lexicon_free):
 * what export and the sessions results use, the same as the words stage. */
enum parley_err stage_config_lexicon(const struct pipeline_config *cfg, struct lexicon **out,
				     struct parley_error *err);

/* The pocketsphinx model folder of cfg->stt.engine ("pocketsphinx:DIR"), or
 * NULL for the default model. */
const char *stage_config_model_dir(const struct pipeline_config *cfg);

/* The speech recogniser cfg->stt names (engines/engines.h: pocketsphinx with
 * the lexicon's targets, a server, or a command), and the transcription
 * params for it: cfg->stt.language, and cfg->stt.prompt or else the
 * lexicon's target words as the prompt (strings owned by env). */
struct asr_params;
enum parley_err stage_env_stt(struct stage_env *env, const struct pipeline_config *cfg,
			      struct asr_engine **out, struct asr_params *params,
			      struct parley_error *err);

/* The LLM engine cfg->llm names (engines/llm.h), opened on first use and
 * kept for the worker's life; *out NULL when cfg->llm.engine is "" (no LLM
 * configured). *params: cfg->llm's temperature and seed. The stages that
 * ask questions (answers, verdicts) share it. */
struct llm_engine;
struct llm_params;
enum parley_err stage_env_llm(struct stage_env *env, const struct pipeline_config *cfg,
			      struct llm_engine **out, struct llm_params *params,
			      struct parley_error *err);

#endif

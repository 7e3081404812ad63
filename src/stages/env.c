/* env.c — see env.h. */
#include "stages/env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/asr.h"
#include "engines/engines.h"
#include "engines/llm.h"
#include "text/lexicon.h"

struct stage_env {
	struct lexicon *lexicon;
	struct asr_engine stt;
	bool stt_open;
	char prompt[PC_PROMPT_MAX]; /* cfg->stt.prompt, or the lexicon's targets */
	struct llm_engine llm;
	bool llm_open;
};

enum parley_err stage_env_new(struct stage_env **out, struct parley_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory creating a worker");
	return PARLEY_OK;
}

void stage_env_free(struct stage_env *env)
{
	if (!env)
		return;
	if (env->stt_open)
		asr_engine_close(&env->stt);
	if (env->llm_open)
		llm_engine_close(&env->llm);
	lexicon_free(env->lexicon);
	free(env);
}

enum parley_err stage_config_lexicon(const struct pipeline_config *cfg, struct lexicon **out,
				     struct parley_error *err)
{
	const char *text = cfg->lexicon.text;
	if (text)
		return lexicon_parse(text, strlen(text), cfg->lexicon.path[0] ? cfg->lexicon.path
									      : "lexicon.text", out, err);
	if (cfg->lexicon.path[0])
		return lexicon_load_file(cfg->lexicon.path, out, err);
	return lexicon_default(out, err);
}

const char *stage_config_model_dir(const struct pipeline_config *cfg)
{
	static const char prefix[] = "pocketsphinx:";
	if (strncmp(cfg->stt.engine, prefix, sizeof(prefix) - 1) == 0 && cfg->stt.engine[sizeof(prefix) - 1])
		return cfg->stt.engine + sizeof(prefix) - 1;
	return NULL;
}

enum parley_err stage_env_lexicon(struct stage_env *env, const struct pipeline_config *cfg,
				  const struct lexicon **out, struct parley_error *err)
{
	if (!env->lexicon) {
		enum parley_err rc = stage_config_lexicon(cfg, &env->lexicon, err);
		if (rc)
			return rc;
	}
	*out = env->lexicon;
	return PARLEY_OK;
}

/* "lah, lor, walao, …": the targets in lexicon order, as many as fit. */
static void targets_prompt(const struct lexicon *lex, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < lexicon_target_count(lex); i++) {
		const char *w = lexicon_target_at(lex, i)->word;
		size_t need = strlen(w) + (o ? 2 : 0);
		if (o + need + 1 > size)
			break;
		o += (size_t)snprintf(out + o, size - o, "%s%s", o ? ", " : "", w);
	}
}

enum parley_err stage_env_stt(struct stage_env *env, const struct pipeline_config *cfg,
			      struct asr_engine **out, struct asr_params *params,
			      struct parley_error *err)
{
	if (!env->stt_open) {
		const struct lexicon *lex;
		enum parley_err rc = stage_env_lexicon(env, cfg, &lex, err);
		if (rc)
			return rc;
		struct asr_open_params p = asr_open_default_params();
		p.engine = cfg->stt.engine;
		p.model = cfg->stt.model;
		p.api_key_env = cfg->stt.api_key_env;
		p.timeout = cfg->stt.timeout;
		p.connect_timeout = cfg->stt.connect_timeout;
		p.retry_max_wait = cfg->stt.retry_max_wait;
		p.concurrency = cfg->stt.concurrency;
		p.lexicon = lex;
		p.keyword_weight = lexicon_keyword_weight(lex);
		p.no_spot = !cfg->stt.spot;
		if ((rc = asr_open(&p, &env->stt, err)))
			return rc;
		if (cfg->stt.prompt[0])
			snprintf(env->prompt, sizeof(env->prompt), "%s", cfg->stt.prompt);
		else
			targets_prompt(lex, env->prompt, sizeof(env->prompt));
		env->stt_open = true;
	}
	*out = &env->stt;
	*params = asr_default_params();
	params->language = cfg->stt.language[0] ? cfg->stt.language : NULL;
	params->prompt = env->prompt[0] ? env->prompt : NULL;
	return PARLEY_OK;
}

enum parley_err stage_env_llm(struct stage_env *env, const struct pipeline_config *cfg,
			      struct llm_engine **out, struct llm_params *params,
			      struct parley_error *err)
{
	*out = NULL;
	*params = llm_default_params();
	params->temperature = cfg->llm.temperature;
	params->seed = cfg->llm.seed;
	if (!cfg->llm.engine[0])
		return PARLEY_OK;
	if (!env->llm_open) {
		struct llm_open_params p = llm_open_default_params();
		p.engine = cfg->llm.engine;
		p.model = cfg->llm.model;
		p.api_key_env = cfg->llm.api_key_env;
		p.timeout = cfg->llm.timeout;
		p.concurrency = cfg->llm.concurrency;
		enum parley_err rc = llm_open(&p, &env->llm, err);
		if (rc)
			return rc;
		env->llm_open = true;
	}
	*out = &env->llm;
	return PARLEY_OK;
}

/* env.c — see env.h. */
#include "stages/env.h"

#include <stdlib.h>
#include <string.h>

#include "engines/pocketsphinx.h"
#include "engines/asr.h"
#include "text/lexicon.h"

struct stage_env {
	struct lexicon *lexicon;
	struct asr_engine stt;
	bool stt_open;
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

enum parley_err stage_env_stt(struct stage_env *env, const struct pipeline_config *cfg,
			      struct asr_engine **out, struct parley_error *err)
{
	if (!env->stt_open) {
		if (strncmp(cfg->stt.engine, "pocketsphinx", 12) != 0)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"stt.engine '%s': this parley runs pocketsphinx only",
						cfg->stt.engine);
		const struct lexicon *lex;
		enum parley_err rc = stage_env_lexicon(env, cfg, &lex, err);
		if (rc)
			return rc;
		struct asr_pocketsphinx_params p = asr_pocketsphinx_default_params();
		if (stage_config_model_dir(cfg))
			p.model_dir = stage_config_model_dir(cfg);
		p.lexicon = lex;
		if (lexicon_keyword_weight(lex) > 0.0)
			p.keyword_weight = lexicon_keyword_weight(lex);
		lexicon_verify_min_llr(lex, &p.verify_min_llr);
		if ((rc = asr_pocketsphinx_open(&p, &env->stt, err)))
			return rc;
		env->stt_open = true;
	}
	*out = &env->stt;
	return PARLEY_OK;
}

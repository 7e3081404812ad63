/* engines.c — see engines.h. */
#include "engines/engines.h"

#include <stdio.h>
#include <string.h>

#include "engines/asr_exec.h"
#include "engines/asr_remote.h"
#include "engines/llm_impl.h"
#include "engines/pocketsphinx.h"
#include "text/lexicon.h"

struct asr_open_params asr_open_default_params(void)
{
	struct asr_open_params p;
	memset(&p, 0, sizeof(p));
	p.timeout = 120;
	p.connect_timeout = 10;
	p.concurrency = 4;
	p.retries = 4;
	p.retry_max_wait = 30;
	return p;
}

typedef enum parley_err (*asr_open_fn)(const struct asr_open_params *p, const char *rest,
				       struct asr_engine *out, struct parley_error *err);

static enum parley_err open_pocketsphinx(const struct asr_open_params *p, const char *rest,
					 struct asr_engine *out, struct parley_error *err)
{
	struct asr_pocketsphinx_params pp = asr_pocketsphinx_default_params();
	if (*rest == ':')
		pp.model_dir = rest + 1;
	pp.lexicon = p->lexicon;
	if (p->keyword_weight > 0)
		pp.keyword_weight = p->keyword_weight;
	lexicon_verify_min_llr(p->lexicon, &pp.verify_min_llr); /* unchanged without one */
	pp.spot = !p->no_spot;
	pp.tmp_dir = p->tmp_dir;
	return asr_pocketsphinx_open(&pp, out, err);
}

static enum parley_err open_remote(const struct asr_open_params *p, enum asr_dialect d,
				   const char *url, struct asr_engine *out,
				   struct parley_error *err)
{
	struct asr_remote_params rp = asr_remote_default_params();
	rp.dialect = d;
	rp.url = url;
	rp.model = p->model;
	rp.net.api_key_env = p->api_key_env;
	if (p->timeout > 0)
		rp.net.timeout = p->timeout;
	if (p->connect_timeout > 0)
		rp.net.connect_timeout = p->connect_timeout;
	if (p->concurrency > 0)
		rp.net.concurrency = p->concurrency;
	if (p->retries >= 0)
		rp.net.retries = p->retries;
	if (p->retry_max_wait >= 0)
		rp.net.retry_max_wait = p->retry_max_wait;
	return asr_remote_open(&rp, out, err);
}

static enum parley_err open_openai(const struct asr_open_params *p, const char *rest,
				   struct asr_engine *out, struct parley_error *err)
{
	return open_remote(p, ASR_DIALECT_OPENAI, rest, out, err);
}

static enum parley_err open_whispercpp(const struct asr_open_params *p, const char *rest,
				       struct asr_engine *out, struct parley_error *err)
{
	return open_remote(p, ASR_DIALECT_WHISPERCPP, rest, out, err);
}

static enum parley_err open_exec(const struct asr_open_params *p, const char *rest,
				 struct asr_engine *out, struct parley_error *err)
{
	struct asr_exec_params xp = asr_exec_default_params();
	xp.command = rest;
	if (p->timeout > 0)
		xp.timeout = p->timeout;
	xp.tmp_dir = p->tmp_dir;
	return asr_exec_open(&xp, out, err);
}

static const struct engine_scheme asr_schemes[] = {
	{"pocketsphinx", "pocketsphinx[:MODEL_DIR]", "the embedded recogniser (default)"},
	{"openai+", "openai+http(s)://HOST[:PORT][/PATH]",
	 "OpenAI-compatible POST PATH/audio/transcriptions (PATH default /v1)"},
	{"whispercpp+", "whispercpp+http(s)://HOST[:PORT][/PATH]",
	 "whisper.cpp's server, POST PATH/inference"},
	{"exec:", "exec:COMMAND", "a program given the audio path, printing JSON words"},
};
static const asr_open_fn asr_openers[] = {open_pocketsphinx, open_openai, open_whispercpp,
					 open_exec};
const struct engine_scheme *const asr_scheme_list = asr_schemes;
const size_t asr_scheme_count = sizeof(asr_schemes) / sizeof(asr_schemes[0]);

/* The row whose prefix the text starts with; *rest the text after it. */
static int asr_find(const char *engine, const char **rest)
{
	for (size_t i = 0; i < asr_scheme_count; i++) {
		size_t l = strlen(asr_schemes[i].prefix);
		if (strncmp(engine, asr_schemes[i].prefix, l) != 0)
			continue;
		const char *r = engine + l;
		/* "pocketsphinx" alone or "pocketsphinx:DIR" */
		if (i == 0 && *r && *r != ':')
			continue;
		if (i == 0 && *r == ':' && !r[1])
			continue;
		if (i != 0 && !*r)
			continue;
		if ((i == 1 || i == 2) && strncmp(r, "http://", 7) != 0 &&
		    strncmp(r, "https://", 8) != 0)
			continue;
		*rest = r;
		return (int)i;
	}
	return -1;
}

static enum parley_err unknown(const char *engine, struct parley_error *err)
{
	char forms[512];
	size_t o = 0;
	for (size_t i = 0; i < asr_scheme_count && o < sizeof(forms); i++)
		o += (size_t)snprintf(forms + o, sizeof(forms) - o, "%s%s", i ? ", " : "",
				      asr_schemes[i].syntax);
	return parley_error_set(err, PARLEY_ERR_INVALID,
				"speech-to-text engine '%s' is none of: %s", engine, forms);
}

enum parley_err asr_engine_check(const char *engine, struct parley_error *err)
{
	const char *rest;
	if (!engine || !*engine)
		return PARLEY_OK;
	return asr_find(engine, &rest) < 0 ? unknown(engine, err) : PARLEY_OK;
}

bool asr_engine_is_external(const char *engine)
{
	const char *rest;
	return engine && *engine && asr_find(engine, &rest) > 0;
}

enum parley_err asr_open(const struct asr_open_params *p, struct asr_engine *out,
			 struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	const char *engine = p->engine && *p->engine ? p->engine : "pocketsphinx";
	const char *rest;
	int i = asr_find(engine, &rest);
	if (i < 0)
		return unknown(engine, err);
	return asr_openers[i](p, rest, out, err);
}

/* ---- LLM ---- */

struct llm_open_params llm_open_default_params(void)
{
	struct llm_open_params p;
	memset(&p, 0, sizeof(p));
	p.timeout = 60;
	p.connect_timeout = 10;
	p.concurrency = 4;
	p.retries = 4;
	return p;
}

typedef enum parley_err (*llm_open_fn)(const struct llm_open_params *p, const char *rest,
				       struct llm_engine *out, struct parley_error *err);

static const struct engine_scheme llm_schemes[] = {
	{"openai+", "openai+http(s)://HOST[:PORT][/PATH]",
	 "OpenAI-compatible POST PATH/chat/completions (PATH default /v1)"},
	{"exec:", "exec:COMMAND", "a program reading the request on stdin, printing the reply"},
};
static const llm_open_fn llm_openers[] = {llm_remote_open, llm_exec_open};
const struct engine_scheme *const llm_scheme_list = llm_schemes;
const size_t llm_scheme_count = sizeof(llm_schemes) / sizeof(llm_schemes[0]);

static int llm_find(const char *engine, const char **rest)
{
	for (size_t i = 0; i < llm_scheme_count; i++) {
		size_t l = strlen(llm_schemes[i].prefix);
		if (strncmp(engine, llm_schemes[i].prefix, l) != 0 || !engine[l])
			continue;
		if (i == 0 && strncmp(engine + l, "http://", 7) != 0 &&
		    strncmp(engine + l, "https://", 8) != 0)
			continue;
		*rest = engine + l;
		return (int)i;
	}
	return -1;
}

enum parley_err llm_engine_check(const char *engine, struct parley_error *err)
{
	const char *rest;
	if (!engine || !*engine || llm_find(engine, &rest) >= 0)
		return PARLEY_OK;
	return parley_error_set(err, PARLEY_ERR_INVALID,
				"LLM engine '%s' is none of: %s, %s", engine, llm_schemes[0].syntax,
				llm_schemes[1].syntax);
}

enum parley_err llm_open(const struct llm_open_params *p, struct llm_engine *out,
			 struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	const char *rest;
	if (!p->engine || !*p->engine)
		return parley_error_set(err, PARLEY_ERR_INVALID, "no LLM engine configured (llm.engine)");
	int i = llm_find(p->engine, &rest);
	if (i < 0)
		return llm_engine_check(p->engine, err);
	return llm_openers[i](p, rest, out, err);
}

/* llm_remote.c — chat completions on an OpenAI-compatible server (OpenAI,
 * vLLM, llama.cpp's server, Ollama, LocalAI): POST BASE/chat/completions
 * (BASE defaults to /v1) with model, messages, temperature, seed and, with a
 * schema, response_format {"type": "json_schema", "json_schema": {"name",
 * "schema", "strict": true}}. Requests go through remote.h (timeouts, TLS,
 * bounded answers, the key from a named variable, retries, several in
 * flight). A 200 without choices[0].message.content is malformed (retried). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/llm.h"
#include "engines/llm_impl.h"
#include "engines/remote.h"
#include "util/json_nomem.h"

struct remote_llm {
	struct remote *r;
	char model[LLM_MODEL_MAX];
	char version[1400];
};

static const char *rl_version(void *self)
{
	return ((struct remote_llm *)self)->version;
}

static void rl_free(void *self)
{
	struct remote_llm *e = self;
	if (!e)
		return;
	remote_close(e->r);
	free(e);
}

/* The request body of one chat. */
char *llm_chat_body(const char *model, const struct llm_params *p, const struct llm_chat *c)
{
	json_t *msgs = json_array();
	for (size_t i = 0; msgs && i < c->nmsgs; i++)
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", c->msgs[i].role,
						      "content", c->msgs[i].content ? c->msgs[i].content : ""));
	json_t *b = json_pack("{s:s, s:o, s:f, s:I}", "model", model && *model ? model : "default",
			      "messages", msgs, "temperature", p->temperature, "seed",
			      (json_int_t)p->seed);
	if (b && p->max_tokens > 0)
		json_object_set_new(b, "max_tokens", json_integer(p->max_tokens));
	if (b && c->schema)
		json_object_set_new(
			b, "response_format",
			json_pack("{s:s, s:{s:s, s:O, s:b}}", "type", "json_schema", "json_schema",
				  "name", c->schema_name ? c->schema_name : "answer", "schema",
				  c->schema, "strict", 1));
	char *t = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	return t;
}

/* Read a completion: choices[0].message.content and model. */
enum parley_err llm_read_completion(const char *body, size_t len, struct llm_chat *c,
				    struct parley_error *err)
{
	json_error_t je;
	json_nomem_reset();
	json_t *j = json_loadb(body, len, 0, &je);
	if (json_load_nomem(j, &je))
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading the answer");
	json_t *ch = j ? json_array_get(json_object_get(j, "choices"), 0) : NULL;
	const char *content = json_string_value(json_object_get(json_object_get(ch, "message"),
								"content"));
	if (!content) {
		json_decref(j);
		return parley_error_set(err, PARLEY_ERR_ENGINE,
					"the answer is not a chat completion (no "
					"choices[0].message.content)");
	}
	free(c->content);
	c->content = strdup(content);
	snprintf(c->model, sizeof(c->model), "%s",
		 json_string_value(json_object_get(j, "model")) ? json_string_value(json_object_get(j, "model")) : "");
	json_decref(j);
	return c->content ? PARLEY_OK
			  : parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading an answer");
}

static enum parley_err on_answer(void *ud, const char *body, size_t len, struct parley_error *err)
{
	return llm_read_completion(body, len, ud, err);
}

static enum parley_err rl_chat_many(void *self, const struct llm_params *p, struct llm_chat *chats,
				    size_t n, struct parley_error *err)
{
	struct remote_llm *e = self;
	enum parley_err rc = PARLEY_OK;
	struct remote_request *q = calloc(n ? n : 1, sizeof(*q));
	char **bodies = calloc(n ? n : 1, sizeof(*bodies));
	if (!q || !bodies) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory asking the LLM");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		chats[i].content = NULL;
		chats[i].model[0] = '\0';
		if (!(bodies[i] = llm_chat_body(e->model, p, &chats[i]))) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory asking the LLM");
			goto out;
		}
		q[i] = (struct remote_request){.path = "/chat/completions", .json = bodies[i],
					       .on_response = on_answer, .ud = &chats[i]};
	}
	remote_set_abort(e->r, p->abort, p->user_data);
	rc = remote_perform(e->r, q, n, err);
	remote_set_abort(e->r, NULL, NULL);
out:
	for (size_t i = 0; i < n; i++) {
		if (q)
			remote_request_clear(&q[i]);
		if (bodies)
			free(bodies[i]);
		if (rc) {
			free(chats[i].content);
			chats[i].content = NULL;
		}
	}
	free(q);
	free(bodies);
	return rc;
}

static const struct llm_engine_ops remote_llm_ops = {
	.name = "openai",
	.version = rl_version,
	.chat_many = rl_chat_many,
	.free = rl_free,
};

enum parley_err llm_remote_open(const struct llm_open_params *p, const char *url,
				struct llm_engine *out, struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	struct remote_llm *e = calloc(1, sizeof(*e));
	if (!e)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening the LLM");
	if (p->model && strlen(p->model) >= sizeof(e->model)) {
		free(e);
		return parley_error_set(err, PARLEY_ERR_INVALID, "llm: model name too long");
	}
	snprintf(e->model, sizeof(e->model), "%s", p->model ? p->model : "");
	char base[REMOTE_URL_MAX];
	const char *host = strstr(url, "://");
	bool has_path = host && strchr(host + 3, '/') && strchr(host + 3, '/')[1];
	snprintf(base, sizeof(base), "%s%s", url, has_path ? "" : "/v1");
	struct remote_params rp = remote_default_params();
	rp.base_url = base;
	rp.api_key_env = p->api_key_env;
	rp.timeout = p->timeout > 0 ? p->timeout : 60;
	rp.connect_timeout = p->connect_timeout > 0 ? p->connect_timeout : 10;
	rp.concurrency = p->concurrency > 0 ? p->concurrency : 4;
	rp.retries = p->retries >= 0 ? p->retries : 4;
	rp.what = "llm openai";
	enum parley_err rc = remote_open(&rp, &e->r, err);
	if (rc) {
		free(e);
		return rc;
	}
	snprintf(e->version, sizeof(e->version), "openai %s, model %s (%s)", remote_base_url(e->r),
		 e->model[0] ? e->model : "default", remote_library_version());
	out->ops = &remote_llm_ops;
	out->self = e;
	return PARLEY_OK;
}

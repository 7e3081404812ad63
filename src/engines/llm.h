/*
 * llm.h — the chat (LLM) engine interface and answers you can check.
 *
 * An engine is an ops table behind a handle, opened from the scheme table
 * (engines.h: openai+http(s)://… for /chat/completions, exec:COMMAND). The
 * stages that ask questions (language id, questionnaire, rules) call
 * llm_ask_many(): every request goes out (several in flight on a server),
 * every reply with a schema is parsed and validated by parley itself
 * (util/jschema.h: servers such as llama.cpp and Ollama accept json_schema
 * and may ignore it), a reply that does not match is asked once more with
 * the validation error appended to the conversation, and one that still
 * does not match is returned with valid = false and the reason — an answer
 * recorded as invalid, not a failure. Transport failures (timeouts, 5xx,
 * 429, a malformed completion) are retried by the engine and then returned
 * as errors like any transient failure.
 *
 *   struct llm_engine eng;  llm_open(&op, &eng, &err);
 *   struct llm_request q = {.system = "You audit calls.", .user = transcript,
 *                           .schema = schema, .schema_name = "audit"};
 *   struct llm_answer a;
 *   llm_ask_many(&eng, NULL, &q, 1, &a, &err);
 *   if (a.valid) use(a.json); else record(a.error);
 *   llm_answer_release(&a);  llm_engine_close(&eng);
 *
 * Every answer carries the model the server named, the SHA-256 of the prompt
 * (system, NUL, user) and of the schema (compact, keys sorted), so a stored
 * answer says exactly what produced it. Requests are sent with the
 * configured temperature (default 0) and seed.
 *
 * THREADS: one engine instance per thread.
 */
#ifndef PARLEY_ENGINES_LLM_H
#define PARLEY_ENGINES_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define LLM_MODEL_MAX 256
#define LLM_HASH_HEX 65

struct llm_params {
	double temperature;           /* default 0 */
	long seed;                    /* default 0 */
	int max_tokens;               /* 0 = the server's default */
	bool (*abort)(void *user_data);
	void *user_data;
};
struct llm_params llm_default_params(void);

struct llm_message {
	const char *role;    /* "system", "user", "assistant" */
	const char *content;
};

/* One chat call as an engine sees it. */
struct llm_chat {
	const struct llm_message *msgs; /* in */
	size_t nmsgs;                   /* in */
	const json_t *schema;           /* in: NULL = free text */
	const char *schema_name;        /* in: "answer" when NULL */
	char *content;                  /* out: malloc'd reply text */
	char model[LLM_MODEL_MAX];      /* out: the model the server named ("" if none) */
};

struct llm_engine_ops {
	const char *name;                      /* "openai", "exec" */
	const char *(*version)(void *self);    /* engine, URL/command, model; never a key */
	/* Run every chat (several in flight where the engine can). On failure
	 * every content is freed and NULL. Errors as asr.h: ENGINE (transient),
	 * REJECTED, UNAUTHORIZED, TOO_LARGE, ABORTED, NOMEM. */
	enum parley_err (*chat_many)(void *self, const struct llm_params *p, struct llm_chat *chats,
				     size_t n, struct parley_error *err);
	void (*free)(void *self);
};

struct llm_engine {
	const struct llm_engine_ops *ops;
	void *self;
};

struct llm_request {
	const char *system;       /* NULL = none */
	const char *user;         /* the prompt */
	const json_t *schema;     /* NULL = free text (valid is then always true) */
	const char *schema_name;  /* NULL = "answer" */
};

struct llm_answer {
	char *text;                      /* the last reply, malloc'd */
	json_t *json;                    /* the reply parsed (NULL unless valid and a schema) */
	bool valid;                      /* matched the schema (true without one) */
	int attempts;                    /* 1, or 2 after a retry with the validation error */
	char model[LLM_MODEL_MAX];
	char prompt_hash[LLM_HASH_HEX];  /* sha256 hex of system "\0" user */
	char schema_hash[LLM_HASH_HEX];  /* sha256 hex of the schema, or "" */
	char error[PARLEY_ERROR_MSG_MAX]; /* why the answer is invalid ("" when valid) */
};

/* Ask every request; answers[n] are filled (release each). A schema that is
 * not in the supported subset is PARLEY_ERR_INVALID before anything is sent.
 * params NULL = llm_default_params(). */
enum parley_err llm_ask_many(struct llm_engine *eng, const struct llm_params *params,
			     const struct llm_request *reqs, size_t n, struct llm_answer *answers,
			     struct parley_error *err);
void llm_answer_release(struct llm_answer *a);

/* The reply text as JSON: the text itself, or the inside of one ```json
 * fence around it. NULL when it is not a JSON value, or when memory ran out
 * reading it: then *nomem (when not NULL) is set true — not the reply's fault. */
json_t *llm_reply_json(const char *text, bool *nomem);

const char *llm_engine_version(const struct llm_engine *eng);
void llm_engine_close(struct llm_engine *eng); /* accepts NULL and zeroed handles */

/* What the configuration says about an LLM engine. */
struct llm_open_params {
	const char *engine;      /* openai+http(s)://… or exec:COMMAND */
	const char *model;       /* "" = the server's default ("default" is sent) */
	const char *api_key_env;
	double timeout;          /* 60 */
	double connect_timeout;  /* 10 */
	int concurrency;         /* 4 */
	int retries;             /* transient failures retried per request, 4 */
};
struct llm_open_params llm_open_default_params(void);

/* Open from the scheme table (engines.c). INVALID naming the forms accepted. */
enum parley_err llm_open(const struct llm_open_params *p, struct llm_engine *out,
			 struct parley_error *err);
enum parley_err llm_engine_check(const char *engine, struct parley_error *err);

#endif

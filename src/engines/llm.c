/* llm.c — the engine-independent half of llm.h: asking, validating,
 * retrying once with the validation error, hashing. */
#include "engines/llm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jschema.h"
#include "util/sha256.h"
#include "util/json_nomem.h"

#define RETRY_NOTE_MAX 1024

struct llm_params llm_default_params(void)
{
	struct llm_params p;
	memset(&p, 0, sizeof(p));
	return p;
}

void llm_answer_release(struct llm_answer *a)
{
	if (!a)
		return;
	free(a->text);
	json_decref(a->json);
	memset(a, 0, sizeof(*a));
}

const char *llm_engine_version(const struct llm_engine *eng)
{
	return eng && eng->ops ? eng->ops->version(eng->self) : "";
}

void llm_engine_close(struct llm_engine *eng)
{
	if (eng && eng->ops)
		eng->ops->free(eng->self);
	if (eng) {
		eng->ops = NULL;
		eng->self = NULL;
	}
}

json_t *llm_reply_json(const char *text, bool *nomem)
{
	bool oom_ = false;
	bool *oom = nomem ? nomem : &oom_;
	*oom = false;
	if (!text)
		return NULL;
	json_error_t je;
	json_nomem_reset();
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (j)
		return j;
	if (json_load_nomem(j, &je)) {
		*oom = true;
		return NULL;
	}
	/* ```json … ``` around the document */
	const char *b = text;
	while (isspace((unsigned char)*b))
		b++;
	if (strncmp(b, "```", 3) != 0)
		return NULL;
	b += 3;
	while (*b && *b != '\n')
		b++;
	const char *e = strstr(b, "```");
	if (!e)
		return NULL;
	json_nomem_reset();
	j = json_loadb(b, (size_t)(e - b), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	*oom = json_load_nomem(j, &je);
	return j;
}

static void prompt_hash(const struct llm_request *q, char out[LLM_HASH_HEX])
{
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&s);
	const char *sys = q->system ? q->system : "";
	sha256_update(&s, sys, strlen(sys));
	sha256_update(&s, "", 1);
	sha256_update(&s, q->user ? q->user : "", q->user ? strlen(q->user) : 0);
	sha256_final(&s, d);
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static enum parley_err schema_hash(const json_t *schema, char out[LLM_HASH_HEX],
				   struct parley_error *err)
{
	out[0] = '\0';
	if (!schema)
		return PARLEY_OK;
	char *t = json_dumps(schema, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!t)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory hashing a schema");
	sha256_hex(t, strlen(t), out);
	free(t);
	return PARLEY_OK;
}

/* Check answer a's text against its request's schema; fills valid/json/error. */
static void judge(const struct llm_request *q, struct llm_answer *a)
{
	json_decref(a->json);
	a->json = NULL;
	a->error[0] = '\0';
	if (!q->schema) {
		a->valid = true;
		return;
	}
	bool nomem = false;
	json_t *j = llm_reply_json(a->text, &nomem);
	if (!j) {
		a->valid = false;
		snprintf(a->error, sizeof(a->error), "%s",
			 nomem ? "out of memory reading the reply" : "the reply is not JSON");
		return;
	}
	struct parley_error e = {0};
	if (jschema_validate(q->schema, j, &e) != PARLEY_OK) {
		a->valid = false;
		snprintf(a->error, sizeof(a->error), "%s", e.msg);
		json_decref(j);
		return;
	}
	a->valid = true;
	a->json = j;
}

static void chats_clear(struct llm_chat *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].content);
		c[i].content = NULL;
	}
}

enum parley_err llm_ask_many(struct llm_engine *eng, const struct llm_params *params,
			     const struct llm_request *reqs, size_t n, struct llm_answer *answers,
			     struct parley_error *err)
{
	struct llm_params dp = llm_default_params();
	if (!params)
		params = &dp;
	memset(answers, 0, n * sizeof(*answers));
	enum parley_err rc = PARLEY_OK;
	struct llm_message(*msgs)[4] = calloc(n ? n : 1, sizeof(*msgs));
	struct llm_chat *chats = calloc(n ? n : 1, sizeof(*chats));
	char(*notes)[RETRY_NOTE_MAX] = calloc(n ? n : 1, sizeof(*notes));
	size_t *which = calloc(n ? n : 1, sizeof(*which));
	if (!msgs || !chats || !notes || !which) {
		rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory asking the LLM");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!reqs[i].user) {
			rc = parley_error_set(err, PARLEY_ERR_INVALID, "llm request %zu has no prompt", i);
			goto out;
		}
		if (reqs[i].schema && (rc = jschema_check(reqs[i].schema, err)))
			goto out;
		prompt_hash(&reqs[i], answers[i].prompt_hash);
		if ((rc = schema_hash(reqs[i].schema, answers[i].schema_hash, err)))
			goto out;
		size_t k = 0;
		if (reqs[i].system)
			msgs[i][k++] = (struct llm_message){"system", reqs[i].system};
		msgs[i][k++] = (struct llm_message){"user", reqs[i].user};
		chats[i] = (struct llm_chat){.msgs = msgs[i], .nmsgs = k, .schema = reqs[i].schema,
					     .schema_name = reqs[i].schema_name};
	}
	/* round 1: everything */
	if ((rc = eng->ops->chat_many(eng->self, params, chats, n, err)))
		goto out;
	size_t again = 0;
	for (size_t i = 0; i < n; i++) {
		answers[i].text = chats[i].content;
		chats[i].content = NULL;
		answers[i].attempts = 1;
		memcpy(answers[i].model, chats[i].model, sizeof(answers[i].model));
		judge(&reqs[i], &answers[i]);
		if (answers[i].valid)
			continue;
		/* round 2: the reply and what was wrong with it */
		size_t k = chats[i].nmsgs;
		msgs[i][k++] = (struct llm_message){"assistant", answers[i].text};
		snprintf(notes[i], sizeof(notes[i]),
			 "Your reply did not match the required JSON schema (%s). Reply again with "
			 "only a JSON document that matches the schema.", answers[i].error);
		msgs[i][k++] = (struct llm_message){"user", notes[i]};
		chats[again] = (struct llm_chat){.msgs = msgs[i], .nmsgs = k,
						 .schema = reqs[i].schema,
						 .schema_name = reqs[i].schema_name};
		which[again++] = i;
	}
	if (again && (rc = eng->ops->chat_many(eng->self, params, chats, again, err)))
		goto out;
	for (size_t r = 0; r < again; r++) {
		struct llm_answer *a = &answers[which[r]];
		free(a->text);
		a->text = chats[r].content;
		chats[r].content = NULL;
		a->attempts = 2;
		if (chats[r].model[0])
			memcpy(a->model, chats[r].model, sizeof(a->model));
		judge(&reqs[which[r]], a);
	}
out:
	if (chats)
		chats_clear(chats, n);
	if (rc)
		for (size_t i = 0; i < n; i++)
			llm_answer_release(&answers[i]);
	free(msgs);
	free(chats);
	free(notes);
	free(which);
	return rc;
}

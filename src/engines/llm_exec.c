/* llm_exec.c — an LLM behind a command; see llm_impl.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/exec_run.h"
#include "engines/llm_impl.h"

#define CMD_MAX 4000

struct exec_llm {
	char command[CMD_MAX + 1];
	char model[LLM_MODEL_MAX];
	double timeout;
	char version[CMD_MAX + 64];
};

static const char *el_version(void *self)
{
	return ((struct exec_llm *)self)->version;
}

static void el_free(void *self)
{
	free(self);
}

static enum parley_err el_chat_many(void *self, const struct llm_params *p,
				    struct llm_chat *chats, size_t n, struct parley_error *err)
{
	struct exec_llm *e = self;
	enum parley_err rc = PARLEY_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		chats[i].content = NULL;
		chats[i].model[0] = '\0';
		char *body = llm_chat_body(e->model, p, &chats[i]);
		if (!body) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory asking the LLM");
			break;
		}
		struct exec_run_params xp = exec_run_default_params();
		xp.command = e->command;
		xp.stdin_data = body;
		xp.stdin_len = strlen(body);
		xp.timeout = e->timeout;
		xp.what = "llm exec";
		xp.abort = p->abort;
		xp.user_data = p->user_data;
		char *out = NULL;
		size_t len = 0;
		rc = exec_run(&xp, &out, &len, err);
		free(body);
		if (rc)
			break;
		/* a completion, or the reply itself */
		struct parley_error ignore = {0};
		if (llm_read_completion(out, len, &chats[i], &ignore) != PARLEY_OK) {
			chats[i].content = out;
			out = NULL;
		}
		free(out);
	}
	if (rc)
		for (size_t i = 0; i < n; i++) {
			free(chats[i].content);
			chats[i].content = NULL;
		}
	return rc;
}

static const struct llm_engine_ops exec_llm_ops = {
	.name = "exec",
	.version = el_version,
	.chat_many = el_chat_many,
	.free = el_free,
};

enum parley_err llm_exec_open(const struct llm_open_params *p, const char *command,
			      struct llm_engine *out, struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	if (!command || !*command || strlen(command) > CMD_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"llm exec: give a command after exec: (at most %d bytes)", CMD_MAX);
	struct exec_llm *e = calloc(1, sizeof(*e));
	if (!e)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening the LLM");
	snprintf(e->command, sizeof(e->command), "%s", command);
	snprintf(e->model, sizeof(e->model), "%s", p->model ? p->model : "");
	e->timeout = p->timeout > 0 ? p->timeout : 60;
	snprintf(e->version, sizeof(e->version), "exec:%s", e->command);
	out->ops = &exec_llm_ops;
	out->self = e;
	return PARLEY_OK;
}

/*
 * llm_impl.h — what the LLM engines (llm_remote.c, llm_exec.c) share and
 * how the scheme table (engines.c) opens them. Not for stages: use llm.h.
 */
#ifndef PARLEY_ENGINES_LLM_IMPL_H
#define PARLEY_ENGINES_LLM_IMPL_H

#include "engines/llm.h"

/* The OpenAI chat-completions body of one chat (malloc'd JSON), NULL on NOMEM. */
char *llm_chat_body(const char *model, const struct llm_params *p, const struct llm_chat *c);

/* Read choices[0].message.content and model from a completion into c.
 * PARLEY_ERR_ENGINE when the body is not one (a malformed answer). */
enum parley_err llm_read_completion(const char *body, size_t len, struct llm_chat *c,
				    struct parley_error *err);

/* openai+URL (URL = http(s)://…) */
enum parley_err llm_remote_open(const struct llm_open_params *p, const char *url,
				struct llm_engine *out, struct parley_error *err);

/* exec:COMMAND — the command reads the chat-completions request body on
 * stdin and prints either a chat completion (JSON with choices) or the
 * reply text itself; exit status as exec_run.h. */
enum parley_err llm_exec_open(const struct llm_open_params *p, const char *command,
			      struct llm_engine *out, struct parley_error *err);

#endif

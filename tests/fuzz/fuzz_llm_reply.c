/*
 * fuzz_llm_reply.c — libFuzzer target for what LLM servers and commands send
 * back: llm_read_completion (a chat completion: OK with a NUL-terminated
 * content and model, or ENGINE with a message and no content),
 * llm_reply_json (a JSON value or NULL) and remote_error_text (an error
 * body: at most 200 printable bytes, NUL-terminated).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/llm_impl.h"
#include "engines/remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_chat c;
	memset(&c, 0, sizeof(c));
	struct parley_error err = {0};
	enum parley_err rc = llm_read_completion((const char *)data, size, &c, &err);
	if (rc == PARLEY_OK) {
		if (!c.content || !memchr(c.model, '\0', sizeof(c.model)))
			__builtin_trap();
		json_decref(llm_reply_json(c.content, NULL));
	} else if ((rc != PARLEY_ERR_ENGINE && rc != PARLEY_ERR_NOMEM) || c.content || !err.msg[0]) {
		__builtin_trap();
	}
	free(c.content);
	char msg[256];
	memset(msg, 'x', sizeof(msg));
	remote_error_text((const char *)data, size, msg, sizeof(msg));
	size_t n = strnlen(msg, sizeof(msg));
	if (n >= sizeof(msg) || n > 200 * 4)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			__builtin_trap();
	char *text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
		json_decref(llm_reply_json(text, NULL));
		free(text);
	}
	return 0;
}

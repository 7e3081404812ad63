/* error.c — see error.h. */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	const char *text;
	bool transient;
} err_table[PARLEY_ERR_COUNT_] = {
	[PARLEY_OK] = {"ok", "success", false},
	[PARLEY_ERR_NOMEM] = {"nomem", "out of memory", true},
	[PARLEY_ERR_IO] = {"io", "input/output error", true},
	[PARLEY_ERR_INVALID] = {"invalid", "invalid input", false},
	[PARLEY_ERR_TOO_LARGE] = {"too_large", "input too large", false},
	[PARLEY_ERR_AUDIO] = {"audio", "not decodable audio", false},
	[PARLEY_ERR_ENGINE] = {"engine", "speech engine failure", true},
	[PARLEY_ERR_STORE] = {"store", "database failure", true},
	[PARLEY_ERR_NOT_FOUND] = {"not_found", "not found", false},
	[PARLEY_ERR_BUSY] = {"busy", "busy or leased elsewhere", true},
	[PARLEY_ERR_ABORTED] = {"aborted", "stopped on request", true},
	[PARLEY_ERR_EMPTY] = {"empty", "no audio or no speech", false},
	[PARLEY_ERR_INTERNAL] = {"internal", "internal error", false},
	[PARLEY_ERR_UNAVAILABLE] = {"unavailable", "server unavailable", true},
	[PARLEY_ERR_CONFLICT] = {"conflict", "conflicts with the current state", false},
	[PARLEY_ERR_UNAUTHORIZED] = {"unauthorized", "missing or invalid credentials", false},
	[PARLEY_ERR_REJECTED] = {"rejected", "refused by a remote engine", false},
};

static bool code_valid(enum parley_err code)
{
	return (int)code >= 0 && code < PARLEY_ERR_COUNT_;
}

const char *parley_strerror(enum parley_err code)
{
	return code_valid(code) ? err_table[code].text : "unknown error";
}

const char *parley_err_name(enum parley_err code)
{
	return code_valid(code) ? err_table[code].name : "unknown";
}

bool parley_err_is_transient(enum parley_err code)
{
	return code_valid(code) && err_table[code].transient;
}

enum parley_err parley_error_set(struct parley_error *err, enum parley_err code,
				 const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void parley_error_prefix(struct parley_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[PARLEY_ERROR_MSG_MAX];
	char old[PARLEY_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

void parley_error_clear(struct parley_error *err)
{
	if (!err)
		return;
	err->code = PARLEY_OK;
	err->msg[0] = '\0';
}

/*
 * exec_run.h — run an engine command ("exec:COMMAND" engines) and collect
 * what it prints, bounded in time and size.
 *
 * The command runs as /bin/sh -c 'COMMAND "$@"' with args appended (so
 * "exec:python3 my_asr.py --model x" gets the audio path as its last
 * argument; with no args, as /bin/sh -c 'COMMAND'), in its own process
 * group, with stdin_data on its stdin and extra "NAME=value" variables added
 * to the environment. Over the timeout
 * the whole group is killed (PARLEY_ERR_ENGINE, transient). Exit status 0:
 * PARLEY_OK with stdout; 65 (EX_DATAERR, "this input is bad"):
 * PARLEY_ERR_REJECTED; any other: PARLEY_ERR_ENGINE. Failure messages end
 * with the last line the command wrote on stderr.
 */
#ifndef PARLEY_ENGINES_EXEC_RUN_H
#define PARLEY_ENGINES_EXEC_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct exec_run_params {
	const char *command;         /* shell text after "exec:" */
	const char *const *args;     /* appended arguments */
	size_t nargs;
	const char *stdin_data;      /* NULL: empty stdin */
	size_t stdin_len;
	const char *const *env;      /* extra "NAME=value", NULL-terminated; NULL = none */
	double timeout;              /* seconds, default 120 */
	size_t max_output;           /* stdout bytes, default 16 MiB (over: TOO_LARGE) */
	const char *what;            /* names the engine in messages */
	bool (*abort)(void *user_data);
	void *user_data;
};
struct exec_run_params exec_run_default_params(void);

/* On PARLEY_OK *out is the malloc'd NUL-terminated stdout (*len bytes). */
enum parley_err exec_run(const struct exec_run_params *p, char **out, size_t *len,
			 struct parley_error *err);

#endif

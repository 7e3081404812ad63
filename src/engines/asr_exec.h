/*
 * asr_exec.h — speech-to-text by an external command ("exec:COMMAND").
 *
 * Per piece, parley writes the audio as a 16 kHz mono 16-bit WAV file in
 * the temporary folder and runs COMMAND with its path as the last argument
 * (exec_run.h: own process group, timeout, bounded output). The
 * environment carries PARLEY_LANGUAGE and PARLEY_PROMPT when set. The
 * command prints JSON on stdout, in any form asr_json_parse reads — most
 * simply {"words": [{"word": "hello", "start": 0.52, "end": 0.91}]}
 * (times in seconds from the start of the file), or a bare array of such
 * words — and exits 0. Exit 65 means "this audio is bad" (permanent); any
 * other failure is transient.
 */
#ifndef PARLEY_ENGINES_ASR_EXEC_H
#define PARLEY_ENGINES_ASR_EXEC_H

#include "engines/asr.h"
#include "util/error.h"

struct asr_exec_params {
	const char *command;  /* the text after "exec:" */
	double timeout;       /* per piece, default 120 s */
	const char *tmp_dir;  /* NULL: $TMPDIR or /tmp */
};
struct asr_exec_params asr_exec_default_params(void);

enum parley_err asr_exec_open(const struct asr_exec_params *params, struct asr_engine *out,
			      struct parley_error *err);

#endif

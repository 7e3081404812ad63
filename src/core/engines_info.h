/*
 * engines_info.h — what the configured engines are (names, versions, model
 * and lexicon), as a JSON object for transcript.json, and an up-front check
 * of configuration that names files (so a bad --lexicon fails the command
 * before any recording does).
 */
#ifndef PARLEY_CORE_ENGINES_INFO_H
#define PARLEY_CORE_ENGINES_INFO_H

#include "stages/stage.h"
#include "util/error.h"

#define PARLEY_VERSION "0.1.0"
/* The git revision the binary was built from ("unknown" without git or a
 * dist tarball): build/gen/version.c, written by the Makefile. */
extern const char parley_revision[];

/* *json is a malloc'd JSON object text; the caller frees it. */
enum parley_err engines_describe(const struct pipeline_config *cfg, char **json,
				 struct parley_error *err);

/* Check that this build runs the configuration's engines, that the lexicon
 * parses and that the model folder is usable (INVALID naming what is wrong). */
enum parley_err engines_check_config(const struct pipeline_config *cfg, struct parley_error *err);

#endif

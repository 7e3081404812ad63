/* cli_stt.c — the speech-to-text flags shared by commands; see cli.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engines/engines.h"
#include "stages/stage.h"

static int set_text(char *dst, size_t size, const char *flag, const char *value,
		    const char *who)
{
	if (strlen(value) >= size) {
		fprintf(stderr, "%s: %s is longer than %zu bytes\n", who, flag, size - 1);
		return 2;
	}
	snprintf(dst, size, "%s", value);
	return 0;
}

static int set_seconds(double *dst, const char *flag, const char *value, const char *who)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end || !(v > 0) || v > 86400) {
		fprintf(stderr, "%s: %s wants seconds (0 < S <= 86400), not '%s'\n", who, flag,
			value);
		return 2;
	}
	*dst = v;
	return 0;
}

int cli_stt_opt(struct stage_config *cfg, int which, const char *value, const char *who)
{
	struct parley_error err = {0};
	switch (which) {
	case 0:
		if (asr_engine_check(value, &err)) {
			fprintf(stderr, "%s: --stt: %s\n", who, err.msg);
			return 2;
		}
		return set_text(cfg->stt.engine, sizeof(cfg->stt.engine), "--stt", value, who);
	case 1:
		if (strcmp(value, "turn") != 0 && strcmp(value, "file") != 0) {
			fprintf(stderr, "%s: --stt-unit wants turn or file, not '%s'\n", who, value);
			return 2;
		}
		cfg->stt.unit = strcmp(value, "file") == 0 ? STAGE_STT_FILE : STAGE_STT_TURN;
		return 0;
	case 2: return set_text(cfg->stt.model, sizeof(cfg->stt.model), "--stt-model", value, who);
	case 3:
		return set_text(cfg->stt.language, sizeof(cfg->stt.language), "--stt-language", value,
				who);
	case 4:
		return set_text(cfg->stt.prompt, sizeof(cfg->stt.prompt), "--stt-prompt", value, who);
	case 5:
		for (const char *c = value; *c; c++)
			if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			      (*c >= '0' && *c <= '9'))) {
				fprintf(stderr,
					"%s: --api-key-env wants the NAME of an environment variable "
					"(letters, digits, _), not a key\n", who);
				return 2;
			}
		return set_text(cfg->stt.api_key_env, sizeof(cfg->stt.api_key_env), "--api-key-env",
				value, who);
	case 6:
		return cli_parse_int("--concurrency", value, 1, 64, &cfg->stt.concurrency) ? 2 : 0;
	case 7: return set_seconds(&cfg->stt.timeout, "--stt-timeout", value, who);
	case 8: return set_seconds(&cfg->stt.connect_timeout, "--connect-timeout", value, who);
	default: return 2;
	}
}

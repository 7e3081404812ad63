/* asr_exec.c — see asr_exec.h. */
#include "engines/asr_exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/asr_json.h"
#include "engines/exec_run.h"

#define CMD_MAX 4000

struct exec_asr {
	char command[CMD_MAX + 1];
	char tmp_dir[1024];
	double timeout;
	char version[CMD_MAX + 64];
};

struct asr_exec_params asr_exec_default_params(void)
{
	struct asr_exec_params p = {NULL, 120, NULL};
	return p;
}

static const char *ea_version(void *self)
{
	return ((struct exec_asr *)self)->version;
}

static void ea_free(void *self)
{
	free(self);
}

static enum parley_err write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return PARLEY_ERR_IO;
		b += w;
		n -= (size_t)w;
	}
	return PARLEY_OK;
}

static enum parley_err ea_transcribe(void *self, const struct asr_params *ap,
				     const int16_t *samples, size_t n, int rate, double offset,
				     struct asr_word **words, size_t *nwords,
				     struct parley_error *err)
{
	struct exec_asr *e = self;
	*words = NULL;
	*nwords = 0;
	if (!samples && n)
		return parley_error_set(err, PARLEY_ERR_INVALID, "stt exec: no samples");
	if (n == 0)
		return PARLEY_OK;
	char path[1100];
	snprintf(path, sizeof(path), "%s/parley-stt-XXXXXX.wav", e->tmp_dir);
	char *wav = NULL, *out = NULL;
	size_t wav_len = 0, out_len = 0;
	enum parley_err rc = asr_wav_encode(samples, n, rate, &wav, &wav_len, err);
	if (rc)
		return rc;
	int fd = mkstemps(path, 4);
	if (fd < 0) {
		free(wav);
		return parley_error_set(err, PARLEY_ERR_IO, "stt exec: cannot create %s: %s", path,
					strerror(errno));
	}
	if (write_all(fd, wav, wav_len) || close(fd)) {
		rc = parley_error_set(err, PARLEY_ERR_IO, "stt exec: cannot write %s", path);
		goto out;
	}
	char lang[80] = "", prompt[4200] = "";
	const char *env[3] = {NULL, NULL, NULL};
	size_t ne = 0;
	if (ap->language && *ap->language) {
		snprintf(lang, sizeof(lang), "PARLEY_LANGUAGE=%s", ap->language);
		env[ne++] = lang;
	}
	if (ap->prompt && *ap->prompt) {
		snprintf(prompt, sizeof(prompt), "PARLEY_PROMPT=%s", ap->prompt);
		env[ne++] = prompt;
	}
	const char *args[1] = {path};
	struct exec_run_params xp = exec_run_default_params();
	xp.command = e->command;
	xp.args = args;
	xp.nargs = 1;
	xp.env = env;
	xp.timeout = e->timeout;
	xp.what = "stt exec";
	xp.abort = ap->abort;
	xp.user_data = ap->user_data;
	if ((rc = exec_run(&xp, &out, &out_len, err)))
		goto out;
	const char *b = out;
	while (*b == ' ' || *b == '\n' || *b == '\t' || *b == '\r')
		b++;
	char lang_out[16];
	if (*b == '[') {
		size_t wl = out_len + 16;
		char *wrapped = malloc(wl);
		if (!wrapped) {
			rc = parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in stt exec");
			goto out;
		}
		int k = snprintf(wrapped, wl, "{\"words\":%s}", b);
		rc = asr_json_parse(wrapped, (size_t)k, offset, (double)n / rate, words, nwords,
				    lang_out, err);
		free(wrapped);
	} else {
		rc = asr_json_parse(out, out_len, offset, (double)n / rate, words, nwords, lang_out,
				    err);
	}
	if (rc)
		parley_error_prefix(err, "stt exec: %s", e->command);
out:
	unlink(path);
	free(wav);
	free(out);
	return rc;
}

static const struct asr_engine_ops exec_ops = {
	.name = "exec",
	.version = ea_version,
	.transcribe = ea_transcribe,
	.transcribe_many = NULL,
	.free = ea_free,
};

enum parley_err asr_exec_open(const struct asr_exec_params *params, struct asr_engine *out,
			      struct parley_error *err)
{
	out->ops = NULL;
	out->self = NULL;
	if (!params->command || !*params->command || strlen(params->command) > CMD_MAX)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"stt exec: give a command after exec: (at most %d bytes)",
					CMD_MAX);
	struct exec_asr *e = calloc(1, sizeof(*e));
	if (!e)
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory opening stt exec");
	snprintf(e->command, sizeof(e->command), "%s", params->command);
	const char *tmp = params->tmp_dir ? params->tmp_dir : getenv("TMPDIR");
	snprintf(e->tmp_dir, sizeof(e->tmp_dir), "%s", tmp && *tmp ? tmp : "/tmp");
	e->timeout = params->timeout > 0 ? params->timeout : 120;
	snprintf(e->version, sizeof(e->version), "exec:%s", e->command);
	out->ops = &exec_ops;
	out->self = e;
	return PARLEY_OK;
}

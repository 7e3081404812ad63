/* config.c — see config.h. */
#include "core/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

struct parley_config config_defaults(void)
{
	struct parley_config c;
	memset(&c, 0, sizeof(c));
	snprintf(c.queue, sizeof(c.queue), "store");
	snprintf(c.queue_prefix, sizeof(c.queue_prefix), "parley:");
	c.lease_seconds = 60;
	c.max_attempts = 3;
	c.backoff_base = 5;
	c.progress_every = 100;
	c.webhook_timeout = 15;
	c.commit_window = CONFIG_COMMIT_WINDOW_DEFAULT;
	return c;
}

enum config_kind { CFG_TEXT, CFG_SECONDS, CFG_COUNT, CFG_BOOL };

static const struct config_key {
	const char *key, *env;
	enum config_kind kind;
	size_t offset, size;
	double min, max;
} config_keys[] = {
#define TEXT(k, e) {#k, e, CFG_TEXT, offsetof(struct parley_config, k), \
		    sizeof(((struct parley_config *)0)->k), 0, 0}
	TEXT(store, "PARLEY_STORE"),
	TEXT(queue, "PARLEY_QUEUE"),
	TEXT(queue_prefix, "PARLEY_QUEUE_PREFIX"),
	TEXT(data, "PARLEY_DATA"),
	TEXT(public_url, "PARLEY_PUBLIC_URL"),
#undef TEXT
	{"lease_seconds", "PARLEY_LEASE_SECONDS", CFG_SECONDS, offsetof(struct parley_config, lease_seconds), 0, 1, 86400},
	{"max_attempts", "PARLEY_MAX_ATTEMPTS", CFG_COUNT, offsetof(struct parley_config, max_attempts), 0, 1, 100},
	{"backoff_base", "PARLEY_BACKOFF_BASE", CFG_SECONDS, offsetof(struct parley_config, backoff_base), 0, 0, 86400},
	{"progress_every", "PARLEY_PROGRESS_EVERY", CFG_COUNT, offsetof(struct parley_config, progress_every), 0, 1, 1000000},
	{"log_file_start", "PARLEY_LOG_FILE_START", CFG_BOOL, offsetof(struct parley_config, log_file_start), 0, 0, 0},
	{"log_file_complete", "PARLEY_LOG_FILE_COMPLETE", CFG_BOOL, offsetof(struct parley_config, log_file_complete), 0, 0, 0},
	{"webhook_timeout", "PARLEY_WEBHOOK_TIMEOUT", CFG_SECONDS, offsetof(struct parley_config, webhook_timeout), 0, 0.1, 600},
	{"commit_window", "PARLEY_COMMIT_WINDOW", CFG_SECONDS, offsetof(struct parley_config, commit_window), 0, 0, CONFIG_COMMIT_WINDOW_MAX},
};

static const struct config_key *key_find(const char *key)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strcmp(config_keys[i].key, key) == 0)
			return &config_keys[i];
	return NULL;
}

static enum parley_err parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return PARLEY_OK;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return PARLEY_OK;
		}
	}
	return PARLEY_ERR_INVALID;
}

enum parley_err config_set(struct parley_config *c, const char *key, const char *value,
			   struct parley_error *err)
{
	const struct config_key *k = key_find(key);
	if (!k)
		return parley_error_set(err, PARLEY_ERR_INVALID, "unknown key '%s'", key);
	char *field = (char *)c + k->offset;
	char *end;
	switch (k->kind) {
	case CFG_TEXT:
		if (strlen(value) >= k->size)
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s: value longer than %zu bytes",
						key, k->size - 1);
		snprintf(field, k->size, "%s", value);
		return PARLEY_OK;
	case CFG_SECONDS: {
		errno = 0;
		double v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v) || v < k->min || v > k->max)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s wants seconds from %g to %g, not '%s'", key, k->min, k->max, value);
		memcpy(field, &v, sizeof(v));
		return PARLEY_OK;
	}
	case CFG_COUNT: {
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < (long)k->min || v > (long)k->max)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s wants a whole number from %ld to %ld, not '%s'", key,
						(long)k->min, (long)k->max, value);
		int iv = (int)v;
		memcpy(field, &iv, sizeof(iv));
		return PARLEY_OK;
	}
	case CFG_BOOL: {
		bool b;
		if (parse_bool(value, &b))
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"%s wants true or false, not '%s'", key, value);
		memcpy(field, &b, sizeof(b));
		return PARLEY_OK;
	}
	}
	return parley_error_set(err, PARLEY_ERR_INTERNAL, "%s: unknown kind", key);
}

/* Trim spaces and tabs at both ends of s in place; returns the new start. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

enum parley_err config_parse(struct parley_config *c, const char *name, const char *text,
			     size_t len, struct parley_error *err)
{
	if (len > CONFIG_FILE_MAX)
		return parley_error_set(err, PARLEY_ERR_TOO_LARGE, "%s: larger than %d bytes", name,
					CONFIG_FILE_MAX);
	size_t pos = 0;
	int lineno = 0;
	/* A UTF-8 byte order mark (some editors write one) is not part of the first key. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	while (pos < len) {
		lineno++;
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		char line[CONFIG_VALUE_MAX + 128];
		if (end - pos >= sizeof(line))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d: line longer than %zu bytes",
						name, lineno, sizeof(line) - 1);
		if (memchr(text + pos, '\0', end - pos))
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d: contains a NUL byte",
						name, lineno);
		memcpy(line, text + pos, end - pos);
		line[end - pos] = '\0';
		pos = end + 1;
		char *l = trim(line);
		if (*l == '\0' || *l == '#')
			continue;
		char *eq = strchr(l, '=');
		if (!eq)
			return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d: expected 'key = value'",
						name, lineno);
		*eq = '\0';
		char *key = trim(l), *value = trim(eq + 1);
		if (value[0] == '"') {
			/* "…", then nothing but blanks or a comment */
			char *close = strchr(value + 1, '"');
			if (!close)
				return parley_error_set(err, PARLEY_ERR_INVALID, "%s:%d: unterminated quote",
							name, lineno);
			const char *rest = close + 1;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (*rest && *rest != '#')
				return parley_error_set(err, PARLEY_ERR_INVALID,
							"%s:%d: unexpected text after the closing quote", name,
							lineno);
			*close = '\0';
			value++;
		} else {
			char *hash = strchr(value, '#');
			if (hash) {
				*hash = '\0';
				value = trim(value);
			}
		}
		struct parley_error e = {0};
		if (config_set(c, key, value, &e))
			return parley_error_set(err, e.code, "%s:%d: %s", name, lineno, e.msg);
	}
	return PARLEY_OK;
}

enum parley_err config_load(const char *path, struct parley_config *c, struct parley_error *err)
{
	if (!path || !*path)
		return PARLEY_OK;
	char *text = NULL;
	size_t len = 0;
	enum parley_err rc = fs_read_file(path, CONFIG_FILE_MAX, &text, &len, err);
	if (rc == PARLEY_OK)
		rc = config_parse(c, path, text, len, err);
	free(text);
	return rc;
}

enum parley_err config_from_env(struct parley_config *c, struct parley_error *err)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const char *v = getenv(config_keys[i].env);
		if (!v)
			continue;
		struct parley_error e = {0};
		if (config_set(c, config_keys[i].key, v, &e))
			return parley_error_set(err, e.code, "%s: %s", config_keys[i].env, e.msg);
	}
	return PARLEY_OK;
}

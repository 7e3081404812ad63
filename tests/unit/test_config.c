/* test_config.c — the settings parser (src/core/config.c): defaults, every
 * key, quoting, comments, bad values, located errors, NUL bytes, long lines,
 * environment overrides and the order defaults < file < environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static const char *const env_names[] = {
	"PARLEY_STORE", "PARLEY_QUEUE", "PARLEY_QUEUE_PREFIX", "PARLEY_DATA",
	"PARLEY_LEASE_SECONDS", "PARLEY_MAX_ATTEMPTS", "PARLEY_BACKOFF_BASE",
	"PARLEY_PROGRESS_EVERY", "PARLEY_LOG_FILE_START", "PARLEY_LOG_FILE_COMPLETE",
	"PARLEY_COMMIT_WINDOW",
};

static void env_clear(void)
{
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
}

static int setup(void **state)
{
	(void)state;
	env_clear();
	return 0;
}

/* Parse a NUL-terminated text; returns the code, fills *c and err. */
static enum parley_err parse(struct parley_config *c, const char *text, struct parley_error *err)
{
	*c = config_defaults();
	memset(err, 0, sizeof(*err));
	return config_parse(c, "t.conf", text, strlen(text), err);
}

static void assert_defaults(const struct parley_config *c)
{
	assert_string_equal(c->store, "");
	assert_string_equal(c->queue, "store");
	assert_string_equal(c->queue_prefix, "parley:");
	assert_string_equal(c->data, "");
	assert_true(c->lease_seconds == 60);
	assert_int_equal(c->max_attempts, 3);
	assert_true(c->backoff_base == 5);
	assert_int_equal(c->progress_every, 100);
	assert_false(c->log_file_start);
	assert_false(c->log_file_complete);
	assert_true(c->commit_window == 0.05);
}

static void test_defaults(void **state)
{
	(void)state;
	struct parley_config c = config_defaults();
	assert_defaults(&c);
	/* Nothing at all, blank lines, comments: still the defaults. */
	struct parley_error err;
	assert_int_equal(parse(&c, "", &err), PARLEY_OK);
	assert_defaults(&c);
	assert_int_equal(parse(&c, "\n\n  \t\n# a comment\n   # indented = comment\n\r\n", &err), PARLEY_OK);
	assert_defaults(&c);
	/* No file (NULL or ""), no variables. */
	assert_int_equal(config_load(NULL, &c, &err), PARLEY_OK);
	assert_int_equal(config_load("", &c, &err), PARLEY_OK);
	assert_int_equal(config_from_env(&c, &err), PARLEY_OK);
	assert_defaults(&c);
}

static void test_every_key(void **state)
{
	(void)state;
	struct parley_config c;
	struct parley_error err;
	const char *text =
		"store = /srv/parley.db\n"
		"queue = redis://10.0.0.5:6380/2\n"
		"queue_prefix = acme:\n"
		"data = /srv/data\n"
		"lease_seconds = 30.5\n"
		"max_attempts = 7\n"
		"backoff_base = 0.25\n"
		"progress_every = 1000\n"
		"log_file_start = true\n"
		"log_file_complete = on\n"
		"commit_window = 0.2\n";
	assert_int_equal(parse(&c, text, &err), PARLEY_OK);
	assert_string_equal(c.store, "/srv/parley.db");
	assert_string_equal(c.queue, "redis://10.0.0.5:6380/2");
	assert_string_equal(c.queue_prefix, "acme:");
	assert_string_equal(c.data, "/srv/data");
	assert_true(c.lease_seconds == 30.5);
	assert_int_equal(c.max_attempts, 7);
	assert_true(c.backoff_base == 0.25);
	assert_int_equal(c.progress_every, 1000);
	assert_true(c.log_file_start);
	assert_true(c.log_file_complete);
	assert_true(c.commit_window == 0.2);

	/* Every boolean spelling, both ways. */
	static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		c = config_defaults();
		assert_int_equal(config_set(&c, "log_file_start", yes[i], &err), PARLEY_OK);
		assert_true(c.log_file_start);
		assert_int_equal(config_set(&c, "log_file_start", no[i], &err), PARLEY_OK);
		assert_false(c.log_file_start);
	}
	/* The range ends are accepted. */
	c = config_defaults();
	assert_int_equal(config_set(&c, "lease_seconds", "1", &err), PARLEY_OK);
	assert_int_equal(config_set(&c, "lease_seconds", "86400", &err), PARLEY_OK);
	assert_int_equal(config_set(&c, "backoff_base", "0", &err), PARLEY_OK);
	assert_true(c.backoff_base == 0);
	assert_int_equal(config_set(&c, "max_attempts", "1", &err), PARLEY_OK);
	assert_int_equal(config_set(&c, "max_attempts", "100", &err), PARLEY_OK);
	assert_int_equal(c.max_attempts, 100);
	assert_int_equal(config_set(&c, "progress_every", "1000000", &err), PARLEY_OK);
	assert_int_equal(config_set(&c, "commit_window", "5", &err), PARLEY_OK);
	assert_int_equal(config_set(&c, "commit_window", "0", &err), PARLEY_OK); /* each stage alone */
	assert_true(c.commit_window == 0);
	/* A later line wins. */
	assert_int_equal(parse(&c, "max_attempts = 2\nmax_attempts = 4\n", &err), PARLEY_OK);
	assert_int_equal(c.max_attempts, 4);
	/* An empty text value is allowed (clears it). */
	assert_int_equal(parse(&c, "store = x.db\nstore =\n", &err), PARLEY_OK);
	assert_string_equal(c.store, "");
}

static void test_quoting_and_comments(void **state)
{
	(void)state;
	struct parley_config c;
	struct parley_error err;
	/* Quotes keep '#' and blanks; unquoted values end at '#'. */
	assert_int_equal(parse(&c, "store = \"postgresql://u:p#ss@db/parley\"\n"
				   "data = \"  /srv/with space  \"\n"
				   "queue = redis://r:6379 # the shared one\n"
				   "lease_seconds = 20# no blank before the comment\n",
			       &err),
			 PARLEY_OK);
	assert_string_equal(c.store, "postgresql://u:p#ss@db/parley");
	assert_string_equal(c.data, "  /srv/with space  ");
	assert_string_equal(c.queue, "redis://r:6379");
	assert_true(c.lease_seconds == 20);
	/* A comment after a quoted value. */
	assert_int_equal(parse(&c, "store = \"a b.db\"   # where it lives\n", &err), PARLEY_OK);
	assert_string_equal(c.store, "a b.db");
	assert_int_equal(parse(&c, "store = \"\"\n", &err), PARLEY_OK);
	assert_string_equal(c.store, "");
	/* Quoted numbers and booleans are parsed as numbers and booleans. */
	assert_int_equal(parse(&c, "max_attempts = \"5\"\nlog_file_start = \"yes\"\n", &err), PARLEY_OK);
	assert_int_equal(c.max_attempts, 5);
	assert_true(c.log_file_start);
	/* Blanks around key and '=' do not matter; CRLF line ends are fine. */
	assert_int_equal(parse(&c, "\t store\t=\tx.db \r\nmax_attempts=9\r\n", &err), PARLEY_OK);
	assert_string_equal(c.store, "x.db");
	assert_int_equal(c.max_attempts, 9);
	/* '=' inside the value is part of it. */
	assert_int_equal(parse(&c, "store = postgresql://h/db?sslmode=require\n", &err), PARLEY_OK);
	assert_string_equal(c.store, "postgresql://h/db?sslmode=require");
	/* A last line without '\n'. */
	assert_int_equal(parse(&c, "store = a\nstore = b", &err), PARLEY_OK);
	assert_string_equal(c.store, "b");
	/* A UTF-8 byte order mark before the first key. */
	assert_int_equal(parse(&c, "\xEF\xBB\xBFstore = bom.db\n", &err), PARLEY_OK);
	assert_string_equal(c.store, "bom.db");

	/* Unterminated quotes and text after the closing quote. */
	assert_int_equal(parse(&c, "store = ok\nstore = \"abc\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:2: unterminated quote");
	assert_int_equal(parse(&c, "store = \"\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: unterminated quote");
	assert_int_equal(parse(&c, "store = \"a\"b\"\n", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1: unexpected text after the closing quote"));
	assert_int_equal(parse(&c, "store = \"a\" junk\n", &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1:"));
}

static void test_bad_values(void **state)
{
	(void)state;
	struct parley_config c;
	struct parley_error err;
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"max_attempts = three\n", "t.conf:1: max_attempts wants a whole number from 1 to 100, not 'three'"},
		{"max_attempts = 0\n", "t.conf:1: max_attempts wants a whole number from 1 to 100, not '0'"},
		{"max_attempts = 101\n", "not '101'"},
		{"max_attempts = -1\n", "not '-1'"},
		{"max_attempts = 2.5\n", "not '2.5'"},
		{"max_attempts = 3x\n", "not '3x'"},
		{"max_attempts =\n", "not ''"},
		{"max_attempts = 99999999999999999999999\n", "not '99999999999999999999999'"},
		{"max_attempts = 4294967299\n", "not '4294967299'"},
		{"progress_every = 0\n", "progress_every wants a whole number from 1 to 1000000"},
		{"lease_seconds = 0\n", "t.conf:1: lease_seconds wants seconds from 1 to 86400, not '0'"},
		{"lease_seconds = 86401\n", "not '86401'"},
		{"lease_seconds = nan\n", "not 'nan'"},
		{"lease_seconds = inf\n", "not 'inf'"},
		{"lease_seconds = 1e999\n", "not '1e999'"},
		{"lease_seconds = 10s\n", "not '10s'"},
		{"lease_seconds =\n", "not ''"},
		{"backoff_base = -0.5\n", "backoff_base wants seconds from 0 to 86400, not '-0.5'"},
		{"commit_window = -0.01\n", "t.conf:1: commit_window wants seconds from 0 to 5, not '-0.01'"},
		{"commit_window = 5.5\n", "commit_window wants seconds from 0 to 5, not '5.5'"},
		{"commit_window = 50ms\n", "commit_window wants seconds from 0 to 5, not '50ms'"},
		{"commit_window = nan\n", "not 'nan'"},
		{"log_file_start = maybe\n", "t.conf:1: log_file_start wants true or false, not 'maybe'"},
		{"log_file_complete = TRUE\n", "not 'TRUE'"},
		{"log_file_complete =\n", "not ''"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&c, bad[i].text, &err), PARLEY_ERR_INVALID);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, err.msg, bad[i].msg);
	}
	/* A bad value leaves the field as it was. */
	c = config_defaults();
	assert_int_equal(config_set(&c, "max_attempts", "zero", &err), PARLEY_ERR_INVALID);
	assert_int_equal(c.max_attempts, 3);
	assert_int_equal(config_set(&c, "lease_seconds", "-1", &err), PARLEY_ERR_INVALID);
	assert_true(c.lease_seconds == 60);
}

static void test_unknown_keys_and_syntax(void **state)
{
	(void)state;
	struct parley_config c;
	struct parley_error err;
	assert_int_equal(parse(&c, "# settings\nstore = a.db\n\nqeue = redis://x\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:4: unknown key 'qeue'");
	assert_int_equal(parse(&c, "Store = a.db\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: unknown key 'Store'");
	assert_int_equal(parse(&c, "= a.db\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: unknown key ''");
	assert_int_equal(parse(&c, "store a.db\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: expected 'key = value'");
	assert_int_equal(parse(&c, "store = a\r\n\r\nnope\r\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:3: expected 'key = value'");
	/* Environment names are not file keys. */
	assert_int_equal(parse(&c, "PARLEY_STORE = a.db\n", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: unknown key 'PARLEY_STORE'");
	/* config_set alone. */
	c = config_defaults();
	assert_int_equal(config_set(&c, "nope", "1", &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "unknown key 'nope'");
	/* A NULL error is fine. */
	assert_int_equal(config_set(&c, "nope", "1", NULL), PARLEY_ERR_INVALID);
	assert_int_equal(config_parse(&c, "t.conf", "x\n", 2, NULL), PARLEY_ERR_INVALID);
}

static void test_nul_and_long_lines(void **state)
{
	(void)state;
	struct parley_config c = config_defaults();
	struct parley_error err = {0};
	static const char nul[] = "store = a.db\nstore = b\0c.db\n";
	assert_int_equal(config_parse(&c, "t.conf", nul, sizeof(nul) - 1, &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:2: contains a NUL byte");
	/* A NUL in a comment line is refused too (the whole file is text). */
	static const char nul2[] = "# a\0b\n";
	assert_int_equal(config_parse(&c, "t.conf", nul2, sizeof(nul2) - 1, &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "t.conf:1: contains a NUL byte");
	/* len is respected: bytes after len are never read. */
	c = config_defaults();
	assert_int_equal(config_parse(&c, "t.conf", "store = ab", 9, &err), PARLEY_OK);
	assert_string_equal(c.store, "a");

	/* The longest value that fits, one byte more, a line longer than the buffer. */
	char *text = malloc(CONFIG_FILE_MAX + 2);
	assert_non_null(text);
	int n = snprintf(text, CONFIG_FILE_MAX, "store = ");
	memset(text + n, 'v', CONFIG_VALUE_MAX - 1);
	text[n + CONFIG_VALUE_MAX - 1] = '\0';
	c = config_defaults();
	assert_int_equal(config_parse(&c, "t.conf", text, strlen(text), &err), PARLEY_OK);
	assert_int_equal(strlen(c.store), CONFIG_VALUE_MAX - 1);
	memset(text + n, 'v', CONFIG_VALUE_MAX);
	text[n + CONFIG_VALUE_MAX] = '\0';
	assert_int_equal(config_parse(&c, "t.conf", text, strlen(text), &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1: store: value longer than 1023 bytes"));
	memset(text + n, 'v', 4000);
	text[n + 4000] = '\0';
	assert_int_equal(config_parse(&c, "t.conf", text, strlen(text), &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "t.conf:1: line longer than"));
	/* queue_prefix has a smaller buffer. */
	memset(text, 0, 200);
	n = snprintf(text, 200, "queue_prefix = ");
	memset(text + n, 'p', 64);
	assert_int_equal(config_parse(&c, "t.conf", text, strlen(text), &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "queue_prefix: value longer than 63 bytes"));
	/* A long comment line is still a line too long (bounded buffer), and
	 * a file over CONFIG_FILE_MAX is refused whatever it holds. */
	memset(text, '\n', CONFIG_FILE_MAX + 1);
	assert_int_equal(config_parse(&c, "t.conf", text, CONFIG_FILE_MAX + 1, &err), PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "t.conf: larger than"));
	assert_int_equal(config_parse(&c, "t.conf", text, CONFIG_FILE_MAX, &err), PARLEY_OK);
	free(text);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/parley-test-config.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "store = f.db\n# c\nmax_attempts = 5\nbogus = 1\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct parley_config c = config_defaults();
	struct parley_error err = {0};
	assert_int_equal(config_load(path, &c, &err), PARLEY_ERR_INVALID);
	char want[256];
	snprintf(want, sizeof(want), "%s:4: unknown key 'bogus'", path);
	assert_string_equal(err.msg, want);
	unlink(path);
	/* A missing file names itself. */
	assert_int_equal(config_load(path, &c, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, path));
	/* A directory is not a config file. */
	assert_int_not_equal(config_load("/tmp", &c, &err), PARLEY_OK);
}

static void test_env(void **state)
{
	(void)state;
	struct parley_config c = config_defaults();
	struct parley_error err = {0};
	setenv("PARLEY_STORE", "postgresql://db/parley", 1);
	setenv("PARLEY_QUEUE", "redis://r", 1);
	setenv("PARLEY_QUEUE_PREFIX", "x:", 1);
	setenv("PARLEY_DATA", "/d", 1);
	setenv("PARLEY_LEASE_SECONDS", "12", 1);
	setenv("PARLEY_MAX_ATTEMPTS", "8", 1);
	setenv("PARLEY_BACKOFF_BASE", "0.5", 1);
	setenv("PARLEY_PROGRESS_EVERY", "7", 1);
	setenv("PARLEY_LOG_FILE_START", "yes", 1);
	setenv("PARLEY_LOG_FILE_COMPLETE", "1", 1);
	setenv("PARLEY_COMMIT_WINDOW", "0", 1);
	assert_int_equal(config_from_env(&c, &err), PARLEY_OK);
	assert_true(c.commit_window == 0);
	assert_string_equal(c.store, "postgresql://db/parley");
	assert_string_equal(c.queue, "redis://r");
	assert_string_equal(c.queue_prefix, "x:");
	assert_string_equal(c.data, "/d");
	assert_true(c.lease_seconds == 12);
	assert_int_equal(c.max_attempts, 8);
	assert_true(c.backoff_base == 0.5);
	assert_int_equal(c.progress_every, 7);
	assert_true(c.log_file_start);
	assert_true(c.log_file_complete);
	env_clear();

	/* A bad variable names itself and what was wrong. */
	c = config_defaults();
	setenv("PARLEY_MAX_ATTEMPTS", "zero", 1);
	assert_int_equal(config_from_env(&c, &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "PARLEY_MAX_ATTEMPTS: max_attempts wants a whole number from 1 to 100, not 'zero'");
	env_clear();
	setenv("PARLEY_LOG_FILE_START", "sure", 1);
	assert_int_equal(config_from_env(&c, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "PARLEY_LOG_FILE_START: "));
	env_clear();
	setenv("PARLEY_COMMIT_WINDOW", "soon", 1);
	assert_int_equal(config_from_env(&c, &err), PARLEY_ERR_INVALID);
	assert_string_equal(err.msg, "PARLEY_COMMIT_WINDOW: commit_window wants seconds from 0 to 5, not 'soon'");
	env_clear();
	/* Set but empty: an empty text value; a number must not be empty. */
	setenv("PARLEY_DATA", "", 1);
	c = config_defaults();
	snprintf(c.data, sizeof(c.data), "/old");
	assert_int_equal(config_from_env(&c, &err), PARLEY_OK);
	assert_string_equal(c.data, "");
	env_clear();
	setenv("PARLEY_LEASE_SECONDS", "", 1);
	assert_int_equal(config_from_env(&c, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "PARLEY_LEASE_SECONDS"));
	env_clear();
	/* Variable values are not config-file syntax: no comments, no quotes. */
	setenv("PARLEY_STORE", "\"a#b\"", 1);
	c = config_defaults();
	assert_int_equal(config_from_env(&c, &err), PARLEY_OK);
	assert_string_equal(c.store, "\"a#b\"");
	env_clear();
}

static void test_precedence(void **state)
{
	(void)state;
	struct parley_config c = config_defaults();
	struct parley_error err = {0};
	const char *file = "store = file.db\nmax_attempts = 5\nbackoff_base = 2\n";
	assert_int_equal(config_parse(&c, "t.conf", file, strlen(file), &err), PARLEY_OK);
	setenv("PARLEY_MAX_ATTEMPTS", "9", 1);
	setenv("PARLEY_PROGRESS_EVERY", "10", 1);
	assert_int_equal(config_from_env(&c, &err), PARLEY_OK);
	/* default < file < env */
	assert_string_equal(c.store, "file.db");     /* file only */
	assert_int_equal(c.max_attempts, 9);         /* file and env: env */
	assert_true(c.backoff_base == 2);            /* file only */
	assert_int_equal(c.progress_every, 10);      /* env only */
	assert_true(c.lease_seconds == 60);          /* neither: default */
	assert_string_equal(c.queue, "store");
	/* then a flag (config_set) wins over both */
	assert_int_equal(config_set(&c, "max_attempts", "4", &err), PARLEY_OK);
	assert_int_equal(c.max_attempts, 4);
	env_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_every_key, setup),
		cmocka_unit_test_setup(test_quoting_and_comments, setup),
		cmocka_unit_test_setup(test_bad_values, setup),
		cmocka_unit_test_setup(test_unknown_keys_and_syntax, setup),
		cmocka_unit_test_setup(test_nul_and_long_lines, setup),
		cmocka_unit_test_setup(test_load_file, setup),
		cmocka_unit_test_setup(test_env, setup),
		cmocka_unit_test_setup(test_precedence, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

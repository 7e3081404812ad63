/*
 * fuzz_config.c — libFuzzer target for the config file parser (outside
 * input: a file named by --config or PARLEY_CONFIG). Parses the bytes into a
 * default config; whether it parses or not, the result must hold:
 *   - a failure carries a message that names the file ("fuzz…"),
 *   - every text field stays NUL-terminated inside its buffer,
 *   - every number stays inside the range config_set promises.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *field, size_t size)
{
	if (!memchr(field, '\0', size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parley_config c = config_defaults();
	struct parley_error err = {0};
	enum parley_err rc = config_parse(&c, "fuzz", (const char *)data, size, &err);
	if (rc != PARLEY_OK) {
		if (strncmp(err.msg, "fuzz", 4) != 0 || err.code != rc)
			__builtin_trap();
	}
	check_text(c.store, sizeof(c.store));
	check_text(c.queue, sizeof(c.queue));
	check_text(c.queue_prefix, sizeof(c.queue_prefix));
	check_text(c.data, sizeof(c.data));
	if (!isfinite(c.lease_seconds) || c.lease_seconds < 1 || c.lease_seconds > 86400)
		__builtin_trap();
	if (!isfinite(c.backoff_base) || c.backoff_base < 0 || c.backoff_base > 86400)
		__builtin_trap();
	if (c.max_attempts < 1 || c.max_attempts > 100)
		__builtin_trap();
	if (c.progress_every < 1 || c.progress_every > 1000000)
		__builtin_trap();
	/* Parsing the same bytes again into the result gives the same result. */
	struct parley_config again = c;
	struct parley_error err2 = {0};
	if (config_parse(&again, "fuzz", (const char *)data, size, &err2) != rc)
		__builtin_trap();
	return 0;
}

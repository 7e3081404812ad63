/*
 * fuzz_webhook.c — libFuzzer target for the webhook parsers of outside input
 * (core/webhook.h): a receiver's Retry-After header, and the URL, secret,
 * events and schedule given at batch creation. The input's first byte picks
 * the parser, the rest is its text (NUL-terminated copy). Contract: Retry-
 * After is -1 or within 0..WEBHOOK_RETRY_AFTER_MAX; the others give OK or
 * INVALID/TOO_LARGE with a message, a parsed schedule has 1..MAX delays of
 * 0..7 days, parsed events format back to text that parses to the same
 * bits, a secret's key is within its bounds and never quoted in a message,
 * and base64 round-trips what it decodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/webhook.h"
#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	struct parley_error err = {0};
	switch (data[0] % 6) {
	case 0: {
		double d = webhook_parse_retry_after(text, 1.8e9);
		if (!(d == -1 || (d >= 0 && d <= WEBHOOK_RETRY_AFTER_MAX)))
			__builtin_trap();
		break;
	}
	case 1: {
		struct webhook_schedule s;
		enum parley_err rc = webhook_schedule_parse(text, &s, &err);
		if (rc == PARLEY_OK) {
			if (s.n < 1 || s.n > WEBHOOK_SCHEDULE_MAX)
				__builtin_trap();
			for (int i = 0; i < s.n; i++)
				if (!(s.delay[i] >= 0 && s.delay[i] <= 7 * 86400.0))
					__builtin_trap();
			for (int f = 1; f <= s.n; f++)
				if (webhook_schedule_next(&s, f, -1, 1) < 0)
					__builtin_trap();
			if (webhook_schedule_next(&s, s.n + 1, -1, 0) >= 0)
				__builtin_trap();
		} else if (rc != PARLEY_ERR_INVALID || !err.msg[0]) {
			__builtin_trap();
		}
		break;
	}
	case 2: {
		unsigned ev, again;
		enum parley_err rc = webhook_events_parse(text, &ev, &err);
		if (rc == PARLEY_OK) {
			char back[64];
			webhook_events_format(ev, back, sizeof(back));
			if (ev == 0 || (ev & ~7u) || webhook_events_parse(back, &again, NULL) || again != ev)
				__builtin_trap();
		} else if (rc != PARLEY_ERR_INVALID || !err.msg[0]) {
			__builtin_trap();
		}
		break;
	}
	case 3: {
		enum parley_err rc = webhook_url_check(text, &err);
		if (rc != PARLEY_OK && ((rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE) || !err.msg[0]))
			__builtin_trap();
		break;
	}
	case 4: {
		uint8_t key[WEBHOOK_KEY_MAX];
		size_t n = 0;
		enum parley_err rc = webhook_secret_key(text, key, &n, &err);
		if (rc == PARLEY_OK && (n < WEBHOOK_KEY_MIN || n > WEBHOOK_KEY_MAX))
			__builtin_trap();
		if (rc != PARLEY_OK && (rc != PARLEY_ERR_INVALID || n != 0 ||
					(strlen(text) >= 8 && strstr(err.msg, text))))
			__builtin_trap();
		break;
	}
	default: {
		uint8_t out[4096];
		size_t n = 0;
		if (base64_decode(text, strlen(text), out, sizeof(out), &n, &err) == PARLEY_OK) {
			char *enc = malloc(BASE64_ENCODED_SIZE(n));
			uint8_t back[4096];
			size_t m = 0;
			if (!enc || base64_encode(out, n, enc, BASE64_ENCODED_SIZE(n)) ||
			    base64_decode(enc, strlen(enc), back, sizeof(back), &m, NULL) || m != n ||
			    memcmp(out, back, n) != 0)
				__builtin_trap();
			free(enc);
		}
		break;
	}
	}
	free(text);
	return 0;
}

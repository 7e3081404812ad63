/* base64.c — see base64.h. */
#include "util/base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

enum parley_err base64_encode(const void *data, size_t len, char *out, size_t size)
{
	if (size == 0)
		return PARLEY_ERR_TOO_LARGE;
	if (size < BASE64_ENCODED_SIZE(len)) {
		out[0] = '\0';
		return PARLEY_ERR_TOO_LARGE;
	}
	const uint8_t *p = data;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return PARLEY_OK;
}

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum parley_err base64_decode(const char *text, size_t len, uint8_t *out, size_t size, size_t *n,
			      struct parley_error *err)
{
	*n = 0;
	size_t end = len;
	while (end > 0 && text[end - 1] == '=' && len - end < 2)
		end--;
	size_t pad = len - end;
	if (pad && len % 4 != 0)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"base64: padded text of %zu characters (not a multiple of 4)", len);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < end; i++) {
		int v = value_of(text[i]);
		if (v < 0)
			return parley_error_set(err, PARLEY_ERR_INVALID,
						"base64: character %zu is not in the alphabet", i + 1);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return parley_error_set(err, PARLEY_ERR_TOO_LARGE,
							"base64: more than %zu bytes", size);
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (end % 4 == 1)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"base64: a lone character at the end (character %zu)", end);
	if (acc != 0)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"base64: the last character has bits set past the data");
	*n = o;
	return PARLEY_OK;
}

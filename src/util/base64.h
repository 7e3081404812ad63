/*
 * base64.h — base64 (RFC 4648, standard alphabet, with '=' padding), for
 * webhook signatures and whsec_ secrets.
 *
 *   char out[BASE64_ENCODED_SIZE(32)];
 *   base64_encode(mac, 32, out, sizeof(out));          // NUL-terminated
 *   uint8_t key[64]; size_t n;
 *   if (base64_decode("c2VjcmV0", 8, key, sizeof(key), &n, &err)) ...
 *
 * Decoding is strict: only the standard alphabet, padding to a multiple of
 * four (unpadded input is accepted too), no whitespace, and the unused bits
 * of the last character must be zero. No allocation; thread-safe.
 */
#ifndef PARLEY_UTIL_BASE64_H
#define PARLEY_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Bytes needed to encode n bytes, with the NUL. */
#define BASE64_ENCODED_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/* Encode data[0..len) into out[size]; PARLEY_ERR_TOO_LARGE (out untouched
 * but "") when size < BASE64_ENCODED_SIZE(len). */
enum parley_err base64_encode(const void *data, size_t len, char *out, size_t size);

/* Decode text[0..len) into out[0..*n) (at most size bytes): PARLEY_ERR_INVALID
 * naming the first bad character's offset, PARLEY_ERR_TOO_LARGE past size. */
enum parley_err base64_decode(const char *text, size_t len, uint8_t *out, size_t size, size_t *n,
			      struct parley_error *err);

#endif

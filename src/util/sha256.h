/*
 * sha256.h — SHA-256 (FIPS 180-4), for user tokens and chunk checksums.
 *
 *   char hex[SHA256_HEX_SIZE];
 *   sha256_hex(data, len, hex);          // 64 lower-case hex digits + NUL
 *
 *   struct sha256 h;                     // or incrementally
 *   sha256_init(&h);
 *   sha256_update(&h, a, alen); sha256_update(&h, b, blen);
 *   sha256_final(&h, digest);            // 32 bytes
 *
 * No allocation, no failure; thread-safe (state lives in the caller's struct).
 */
#ifndef PARLEY_UTIL_SHA256_H
#define PARLEY_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE 65 /* 64 hex digits + NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t block[64];
	size_t used; /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Write the digest; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t digest[SHA256_DIGEST_SIZE]);

/* One call: the digest of data[0..len) as lower-case hex into hex[SHA256_HEX_SIZE]. */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_SIZE]);

#endif

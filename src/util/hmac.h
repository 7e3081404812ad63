/*
 * hmac.h — HMAC-SHA256 (RFC 2104 over util/sha256.h), for signing webhooks.
 *
 *   uint8_t mac[HMAC_SHA256_SIZE];
 *   hmac_sha256(key, keylen, msg, msglen, mac);
 *
 *   struct hmac_sha256 h;                 // or a message in pieces
 *   hmac_sha256_init(&h, key, keylen);
 *   hmac_sha256_update(&h, "id", 2); hmac_sha256_update(&h, ".", 1); ...
 *   hmac_sha256_final(&h, mac);
 *
 * Keys of any length (longer than a block are hashed first, RFC 2104).
 * hmac_equal compares two MACs in time independent of where they differ.
 * No allocation, no failure; thread-safe (state lives in the caller's struct);
 * the key material in the struct is wiped by hmac_sha256_final.
 */
#ifndef PARLEY_UTIL_HMAC_H
#define PARLEY_UTIL_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sha256.h"

#define HMAC_SHA256_SIZE SHA256_DIGEST_SIZE

struct hmac_sha256 {
	struct sha256 inner;
	uint8_t okey[64]; /* key XOR opad */
};

void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t keylen);
void hmac_sha256_update(struct hmac_sha256 *h, const void *data, size_t len);
void hmac_sha256_final(struct hmac_sha256 *h, uint8_t mac[HMAC_SHA256_SIZE]);

void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		 uint8_t mac[HMAC_SHA256_SIZE]);

/* a[0..n) == b[0..n), without an early exit. */
bool hmac_equal(const void *a, const void *b, size_t n);

#endif

/* hmac.c — see hmac.h. */
#include "util/hmac.h"

#include <string.h>

static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

void hmac_sha256_init(struct hmac_sha256 *h, const void *key, size_t keylen)
{
	uint8_t k[64] = {0};
	if (keylen > sizeof(k)) {
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, key, keylen);
		sha256_final(&s, k); /* 32 bytes, the rest stays zero */
		wipe(&s, sizeof(s));
	} else if (keylen) {
		memcpy(k, key, keylen);
	}
	uint8_t ikey[64];
	for (size_t i = 0; i < sizeof(k); i++) {
		ikey[i] = k[i] ^ 0x36;
		h->okey[i] = k[i] ^ 0x5c;
	}
	sha256_init(&h->inner);
	sha256_update(&h->inner, ikey, sizeof(ikey));
	wipe(k, sizeof(k));
	wipe(ikey, sizeof(ikey));
}

void hmac_sha256_update(struct hmac_sha256 *h, const void *data, size_t len)
{
	sha256_update(&h->inner, data, len);
}

void hmac_sha256_final(struct hmac_sha256 *h, uint8_t mac[HMAC_SHA256_SIZE])
{
	uint8_t ihash[SHA256_DIGEST_SIZE];
	sha256_final(&h->inner, ihash);
	struct sha256 outer;
	sha256_init(&outer);
	sha256_update(&outer, h->okey, sizeof(h->okey));
	sha256_update(&outer, ihash, sizeof(ihash));
	sha256_final(&outer, mac);
	wipe(h, sizeof(*h));
	wipe(&outer, sizeof(outer));
	wipe(ihash, sizeof(ihash));
}

void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		 uint8_t mac[HMAC_SHA256_SIZE])
{
	struct hmac_sha256 h;
	hmac_sha256_init(&h, key, keylen);
	hmac_sha256_update(&h, data, len);
	hmac_sha256_final(&h, mac);
}

bool hmac_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (uint8_t)(x[i] ^ y[i]);
	return diff == 0;
}

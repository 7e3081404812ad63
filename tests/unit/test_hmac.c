/* test_hmac.c — HMAC-SHA256 against the RFC 4231 test vectors (one-shot and
 * in pieces), the constant-time compare, and base64 against RFC 4648's
 * vectors plus the strict decoder's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/base64.h"
#include "util/hmac.h"

static void hex_of(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* RFC 4231 section 4: test cases 1-7 (case 5's MAC is truncated to 128 bits). */
static void test_rfc4231(void **state)
{
	(void)state;
	uint8_t k0b[20], kaa20[20], kaa131[131], k25[25], k0c[20], d_dd[50], d_cd[50];
	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa20, 0xaa, sizeof(kaa20));
	memset(kaa131, 0xaa, sizeof(kaa131));
	memset(k0c, 0x0c, sizeof(k0c));
	memset(d_dd, 0xdd, sizeof(d_dd));
	memset(d_cd, 0xcd, sizeof(d_cd));
	for (int i = 0; i < 25; i++)
		k25[i] = (uint8_t)(i + 1);
	static const char *const big_data =
		"This is a test using a larger than block-size key and a larger than block-size data. "
		"The key needs to be hashed before being used by the HMAC algorithm.";
	const struct {
		const void *key;
		size_t keylen;
		const void *data;
		size_t len;
		size_t maclen;
		const char *hex;
	} v[] = {
		{k0b, 20, "Hi There", 8, 32,
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"Jefe", 4, "what do ya want for nothing?", 28, 32,
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{kaa20, 20, d_dd, 50, 32,
		 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{k25, 25, d_cd, 50, 32,
		 "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{k0c, 20, "Test With Truncation", 20, 16, "a3b6167473100ee06e0c796c2955552b"},
		{kaa131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, 32,
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{kaa131, 131, big_data, strlen(big_data), 32,
		 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t mac[HMAC_SHA256_SIZE];
		char hex[2 * HMAC_SHA256_SIZE + 1];
		hmac_sha256(v[i].key, v[i].keylen, v[i].data, v[i].len, mac);
		hex_of(mac, v[i].maclen, hex);
		assert_string_equal(hex, v[i].hex);
		/* the same message fed one byte at a time */
		struct hmac_sha256 h;
		hmac_sha256_init(&h, v[i].key, v[i].keylen);
		for (size_t k = 0; k < v[i].len; k++)
			hmac_sha256_update(&h, (const uint8_t *)v[i].data + k, 1);
		uint8_t mac2[HMAC_SHA256_SIZE];
		hmac_sha256_final(&h, mac2);
		assert_memory_equal(mac, mac2, sizeof(mac));
	}
}

static void test_equal(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	memset(a, 7, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(hmac_equal(a, b, sizeof(a)));
	b[31] ^= 1;
	assert_false(hmac_equal(a, b, sizeof(a)));
	b[31] ^= 1;
	b[0] ^= 0x80;
	assert_false(hmac_equal(a, b, sizeof(a)));
	assert_true(hmac_equal(a, b, 0));
}

/* RFC 4648 section 10, both ways. */
static void test_base64_vectors(void **state)
{
	(void)state;
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char out[16];
		assert_int_equal(base64_encode(plain[i], strlen(plain[i]), out, sizeof(out)), PARLEY_OK);
		assert_string_equal(out, coded[i]);
		uint8_t back[16];
		size_t n = 99;
		struct parley_error err = {0};
		assert_int_equal(base64_decode(coded[i], strlen(coded[i]), back, sizeof(back), &n, &err),
				 PARLEY_OK);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(back, plain[i], n);
	}
	/* every byte value survives the round trip */
	uint8_t all[256], back[256];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	char text[BASE64_ENCODED_SIZE(256)];
	assert_int_equal(base64_encode(all, sizeof(all), text, sizeof(text)), PARLEY_OK);
	size_t n = 0;
	assert_int_equal(base64_decode(text, strlen(text), back, sizeof(back), &n, NULL), PARLEY_OK);
	assert_int_equal(n, 256);
	assert_memory_equal(all, back, 256);
	/* unpadded is accepted */
	assert_int_equal(base64_decode("Zm8", 3, back, sizeof(back), &n, NULL), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(back, "fo", 2);
}

static void test_base64_refusals(void **state)
{
	(void)state;
	uint8_t out[8];
	size_t n;
	struct parley_error err = {0};
	assert_int_equal(base64_decode("Zm9v!", 5, out, sizeof(out), &n, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "character 5"));
	assert_int_equal(base64_decode("Zm9 v", 5, out, sizeof(out), &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(base64_decode("Zg=", 3, out, sizeof(out), &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(base64_decode("Z", 1, out, sizeof(out), &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(base64_decode("Zh==", 4, out, sizeof(out), &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(base64_decode("Zm9vYmFyYmF6", 12, out, 8, &n, &err), PARLEY_ERR_TOO_LARGE);
	char small[4];
	assert_int_equal(base64_encode("foo", 3, small, sizeof(small)), PARLEY_ERR_TOO_LARGE);
	assert_string_equal(small, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

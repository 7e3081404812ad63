/* test_sha256.c — SHA-256 against the FIPS 180-4 / NIST example vectors,
 * one-shot and fed in awkward pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/random.h"
#include "util/sha256.h"

static const struct {
	const char *msg;
	const char *hex;
} vectors[] = {
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char hex[SHA256_HEX_SIZE];
		sha256_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

static void test_million_a_in_pieces(void **state)
{
	(void)state;
	/* FIPS 180-4 example: one million 'a', fed in pieces of 1..97 bytes. */
	char piece[97];
	memset(piece, 'a', sizeof(piece));
	struct sha256 s;
	sha256_init(&s);
	size_t left = 1000000, step = 1;
	while (left) {
		size_t n = step < left ? step : left;
		sha256_update(&s, piece, n);
		left -= n;
		step = step % 97 + 1;
	}
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_final(&s, d);
	static const uint8_t want[SHA256_DIGEST_SIZE] = {
		0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
		0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
	assert_memory_equal(d, want, sizeof(want));
}

static void test_block_edges(void **state)
{
	(void)state;
	/* 55, 56, 63, 64 and 65 bytes: padding spills into a second block or not. */
	static const size_t lens[] = {55, 56, 63, 64, 65};
	char buf[65];
	memset(buf, 'x', sizeof(buf));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char one[SHA256_HEX_SIZE], two[SHA256_HEX_SIZE];
		sha256_hex(buf, lens[i], one);
		struct sha256 s;
		uint8_t d[SHA256_DIGEST_SIZE];
		sha256_init(&s);
		for (size_t k = 0; k < lens[i]; k++)
			sha256_update(&s, buf + k, 1);
		sha256_final(&s, d);
		for (int k = 0; k < SHA256_DIGEST_SIZE; k++)
			snprintf(two + 2 * k, 3, "%02x", d[k]);
		assert_string_equal(one, two);
	}
}

static void test_random_bytes(void **state)
{
	(void)state;
	unsigned char a[32] = {0}, b[32] = {0};
	struct parley_error err = {0};
	assert_int_equal(random_bytes(a, sizeof(a), &err), PARLEY_OK);
	assert_int_equal(random_bytes(b, sizeof(b), &err), PARLEY_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(random_bytes(a, 257, &err), PARLEY_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million_a_in_pieces),
		cmocka_unit_test(test_block_edges),
		cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

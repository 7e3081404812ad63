/*
 * test_spectral.c — sym_eigen on matrices with known eigenpairs, the
 * eigengap count, k-means on separated rows, and spectral clustering of
 * synthetic block affinities (the count must come from the eigengap).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/spectral.h"

/* 2 x 2 [[2, 1], [1, 2]]: eigenvalues 3, 1; vectors (1, 1)/sqrt 2, (1, -1)/sqrt 2. */
static void test_eigen_2x2(void **state)
{
	(void)state;
	double a[4] = {2, 1, 1, 2}, val[2], vec[4];
	assert_int_equal(sym_eigen(a, 2, val, vec), 0);
	assert_true(fabs(val[0] - 3.0) < 1e-12 && fabs(val[1] - 1.0) < 1e-12);
	assert_true(fabs(fabs(vec[0]) - M_SQRT1_2) < 1e-12);
	assert_true(fabs(vec[0] - vec[2]) < 1e-12);     /* column 0: equal entries */
	assert_true(fabs(vec[1] + vec[3]) < 1e-12);     /* column 1: opposite entries */
}

/* A random symmetric 12 x 12 matrix: A v = l v for every pair, sorted. */
static void test_eigen_reconstructs(void **state)
{
	(void)state;
	enum { N = 12 };
	double a[N * N], b[N * N], val[N], vec[N * N];
	uint32_t x = 12345;
	for (int i = 0; i < N; i++)
		for (int j = 0; j <= i; j++) {
			x = x * 1664525u + 1013904223u;
			a[i * N + j] = a[j * N + i] = (double)(x >> 8) / (double)(1u << 24) - 0.5;
		}
	memcpy(b, a, sizeof(a));
	assert_int_equal(sym_eigen(b, N, val, vec), 0);
	for (int k = 0; k < N; k++) {
		if (k > 0)
			assert_true(val[k] <= val[k - 1]);
		for (int i = 0; i < N; i++) {
			double s = 0;
			for (int j = 0; j < N; j++)
				s += a[i * N + j] * vec[j * N + k];
			assert_true(fabs(s - val[k] * vec[i * N + k]) < 1e-9);
		}
	}
}

static void test_eigengap_count(void **state)
{
	(void)state;
	const double v[6] = {1.0, 0.99, 0.97, 0.40, 0.35, 0.30};
	assert_int_equal(eigengap_count(v, 6, 1, 5), 3);
	assert_int_equal(eigengap_count(v, 6, 1, 2), 2); /* gaps 0.01 (k=1) < 0.02 (k=2) */
	assert_int_equal(eigengap_count(v, 6, 4, 5), 4);
	assert_int_equal(eigengap_count(v, 6, 3, 3), 3);
	assert_int_equal(eigengap_count(v, 6, 0, 99), 3);
	assert_int_equal(eigengap_count(v, 6, 4, 99), 6); /* kmax = n: gap is val[n-1] */
}

static void test_kmeans_separated(void **state)
{
	(void)state;
	const double x[] = {0, 0, 0.1, 0, 10, 10, 10.1, 10, 0, 0.1, 10, 10.2};
	int lab[6];
	assert_int_equal(kmeans_rows(x, 6, 2, 2, lab), 0);
	assert_int_equal(lab[0], lab[1]);
	assert_int_equal(lab[0], lab[4]);
	assert_int_equal(lab[2], lab[3]);
	assert_int_equal(lab[2], lab[5]);
	assert_int_not_equal(lab[0], lab[2]);
}

/* Blocks of sizes sz[] with affinity `in` inside, `out` across (plus a
 * little deterministic jitter); every block must be one cluster. */
static void check_blocks(const int *sz, int nb, double in, double out, int kmax)
{
	size_t n = 0;
	int blk[200];
	for (int b = 0; b < nb; b++)
		for (int i = 0; i < sz[b]; i++)
			blk[n++] = b;
	double *a = malloc(n * n * sizeof(double));
	int *lab = malloc(n * sizeof(int));
	assert_non_null(a);
	assert_non_null(lab);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double jit = 0.02 * (double)((i * 7 + j * 7) % 5) / 5.0;
			a[i * n + j] = (blk[i] == blk[j] ? in : out) + jit;
		}
	double gap = 0;
	int k = spectral_cluster(a, n, 1, kmax, lab, &gap);
	assert_int_equal(k, nb);
	assert_true(gap > 0.2);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			assert_int_equal(blk[i] == blk[j], lab[i] == lab[j]);
	free(a);
	free(lab);
}

static void test_spectral_blocks(void **state)
{
	(void)state;
	const int two[] = {20, 30}, three[] = {15, 25, 10}, six[] = {12, 8, 20, 15, 9, 11};
	check_blocks(two, 2, 0.9, 0.05, 8);
	check_blocks(three, 3, 0.8, 0.1, 8);
	check_blocks(six, 6, 0.7, 0.05, 8);
}

/* One block: the count is 1 (and kmin forces more). */
static void test_spectral_one_block(void **state)
{
	(void)state;
	enum { N = 10 };
	double a[N * N];
	int lab[N];
	for (int i = 0; i < N * N; i++)
		a[i] = 0.8;
	assert_int_equal(spectral_cluster(a, N, 1, 5, lab, NULL), 1);
	for (int i = 0; i < N; i++)
		assert_int_equal(lab[i], 0);
	assert_int_equal(spectral_cluster(a, N, 2, 5, lab, NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eigen_2x2),
		cmocka_unit_test(test_eigen_reconstructs),
		cmocka_unit_test(test_eigengap_count),
		cmocka_unit_test(test_kmeans_separated),
		cmocka_unit_test(test_spectral_blocks),
		cmocka_unit_test(test_spectral_one_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

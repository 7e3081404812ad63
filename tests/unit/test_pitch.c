/*
 * test_pitch.c — pitch_at on synthetic signals with a known F0: harmonic
 * tones at 16 and 8 kHz (also with the fundamental removed, as on a
 * telephone line), silence, white noise, frames at the signal's edges, and
 * the rate check.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/pitch.h"

#define SECONDS 0.5

/* Harmonics first .. 10 of f0 with amplitudes 1/h, scaled to +-8000. */
static int16_t *tone(int rate, double f0, int first, size_t *n)
{
	*n = (size_t)(SECONDS * rate);
	int16_t *x = malloc(*n * sizeof(*x));
	assert_non_null(x);
	for (size_t i = 0; i < *n; i++) {
		double t = (double)i / rate, v = 0.0;
		for (int h = first; h <= 10 && h * f0 < rate / 2.0; h++)
			v += sin(2.0 * M_PI * h * f0 * t + 0.3 * h) / h;
		x[i] = (int16_t)lrint(8000.0 * v / 2.0);
	}
	return x;
}

static void check_tone(int rate, double f0, int first)
{
	struct parley_error err = {0};
	struct pitch *pt = pitch_new(rate, &err);
	assert_non_null(pt);
	size_t n;
	int16_t *x = tone(rate, f0, first, &n);
	double got = pitch_at(pt, x, n, n / 2);
	assert_true(fabs(got - f0) < 0.02 * f0);
	free(x);
	pitch_free(pt);
}

static void test_tones_16k(void **state)
{
	(void)state;
	static const double f[] = {65, 90, 125, 175, 245, 380};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		check_tone(16000, f[i], 1);
}

static void test_tones_8k_and_44k(void **state)
{
	(void)state;
	check_tone(8000, 100, 1);
	check_tone(8000, 210, 1);
	check_tone(44100, 150, 1);
}

/* A telephone line removes the fundamental of a low voice: the period is
 * still found from the harmonics. */
static void test_missing_fundamental(void **state)
{
	(void)state;
	check_tone(8000, 100, 3);
	check_tone(16000, 120, 3);
}

static void test_unvoiced(void **state)
{
	(void)state;
	struct parley_error err = {0};
	struct pitch *pt = pitch_new(16000, &err);
	assert_non_null(pt);
	size_t n = 16000;
	int16_t *x = calloc(n, sizeof(*x));
	assert_non_null(x);
	assert_true(pitch_at(pt, x, n, n / 2) == 0.0); /* silence */
	uint32_t s = 1;
	for (size_t i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		x[i] = (int16_t)((int32_t)(s >> 16) - 32768) / 4;
	}
	int voiced = 0;
	for (size_t c = 1000; c < 15000; c += 160)
		voiced += pitch_at(pt, x, n, c) > 0.0;
	assert_true(voiced < 10); /* white noise: (nearly) never voiced */
	free(x);
	pitch_free(pt);
}

/* Frames that do not fit inside the signal are unvoiced, not read past. */
static void test_edges(void **state)
{
	(void)state;
	struct parley_error err = {0};
	struct pitch *pt = pitch_new(16000, &err);
	assert_non_null(pt);
	size_t n;
	int16_t *x = tone(16000, 150, 1, &n);
	assert_true(pitch_at(pt, x, n, 0) == 0.0);
	assert_true(pitch_at(pt, x, n, n - 1) == 0.0);
	assert_true(pitch_at(pt, x, n, n + 100) == 0.0);
	assert_true(pitch_at(pt, x, 100, 50) == 0.0);
	free(x);
	pitch_free(pt);
}

static void test_bad_rate(void **state)
{
	(void)state;
	struct parley_error err = {0};
	assert_null(pitch_new(1000, &err));
	assert_int_equal(err.code, PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "1000 Hz"));
	pitch_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tones_16k),
		cmocka_unit_test(test_tones_8k_and_44k),
		cmocka_unit_test(test_missing_fundamental),
		cmocka_unit_test(test_unvoiced),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_bad_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

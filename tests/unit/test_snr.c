/* test_snr.c — the blind SNR estimate (dsp/snr.h): speech-like bursts (a
 * voiced harmonic complex, 0.5 s on in every second) in white noise at a
 * known ratio of burst power to noise power read within a few dB of it and
 * in the right order; digital silence between bursts reads 50 dB or more;
 * noise alone reads near 0; bad input is refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/snr.h"

#define RATE 16000
#define SECONDS 10

static double lcg_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*state >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

static bool burst_on(size_t i)
{
	double t = (double)i / RATE;
	return t - floor(t) < 0.5;
}

static double burst_at(size_t i)
{
	double t = (double)i / RATE, v = 0, f0 = 140 + 20 * sin(2 * M_PI * 0.7 * t);
	for (int h = 1; h <= 12; h++)
		v += sin(2 * M_PI * f0 * h * t) / h;
	return v;
}

/* Bursts of power 1 (before scaling) plus white noise snr_db below them
 * (noise_on false: no noise at all). */
static double estimate(double snr_db, bool noise_on)
{
	size_t n = SECONDS * RATE;
	double *x = malloc(n * sizeof(double)), *w = malloc(n * sizeof(double));
	int16_t *s = malloc(n * sizeof(int16_t));
	assert_true(x && w && s);
	uint64_t seed = 11;
	double ps = 0, pw = 0;
	size_t non = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = burst_on(i) ? burst_at(i) : 0;
		w[i] = lcg_next(&seed);
		if (burst_on(i)) {
			ps += x[i] * x[i];
			non++;
		}
		pw += w[i] * w[i];
	}
	ps /= (double)non;
	pw /= (double)n;
	double g = noise_on ? sqrt(ps / pw / pow(10, snr_db / 10)) : 0;
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)lrint(2000 * (x[i] + g * w[i]));
	struct pcm pcm = {s, n, RATE};
	struct snr_params p = snr_default_params();
	struct parley_error err = {0};
	double db = -1;
	assert_int_equal(snr_estimate(&pcm, &p, &db, &err), PARLEY_OK);
	free(x);
	free(w);
	free(s);
	return db;
}

static void test_known_ratios(void **state)
{
	(void)state;
	double at5 = estimate(5, true), at10 = estimate(10, true), at20 = estimate(20, true);
	/* the loud frames are the bursts' peaks: the estimate reads a few dB
	 * above the mean burst-to-noise ratio, never below it */
	assert_true(at5 >= 4 && at5 <= 11);
	assert_true(at10 >= 9 && at10 <= 16);
	assert_true(at20 >= 19 && at20 <= 26);
	assert_true(at5 < at10 && at10 < at20);
}

static void test_silence_and_noise(void **state)
{
	(void)state;
	/* digital silence in the pauses: nothing to call noise */
	assert_true(estimate(0, false) >= 50);
	/* noise alone: quiet and loud frames alike */
	size_t n = 5 * RATE;
	int16_t *s = malloc(n * sizeof(int16_t));
	assert_non_null(s);
	uint64_t seed = 3;
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)lrint(3000 * lcg_next(&seed));
	struct pcm pcm = {s, n, RATE};
	struct snr_params p = snr_default_params();
	struct parley_error err = {0};
	double db = -1;
	assert_int_equal(snr_estimate(&pcm, &p, &db, &err), PARLEY_OK);
	assert_true(db >= 0 && db < 3);
	/* less than a frame: nothing to judge */
	pcm.n = 100;
	assert_int_equal(snr_estimate(&pcm, &p, &db, &err), PARLEY_OK);
	assert_true(db == SNR_MAX_DB);
	free(s);
}

static void test_bad_input(void **state)
{
	(void)state;
	int16_t s[400] = {0};
	struct pcm pcm = {s, 400, 4000};
	struct snr_params p = snr_default_params();
	struct parley_error err = {0};
	double db;
	assert_int_equal(snr_estimate(&pcm, &p, &db, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "4000"));
	pcm.rate = RATE;
	p.speech_pct = 0.1; /* below noise_pct */
	assert_int_equal(snr_estimate(&pcm, &p, &db, &err), PARLEY_ERR_INVALID);
	p = snr_default_params();
	p.frame_ms = 1;
	assert_int_equal(snr_estimate(&pcm, &p, &db, &err), PARLEY_ERR_INVALID);
	assert_int_equal(snr_estimate(NULL, &p, &db, &err), PARLEY_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_ratios),
		cmocka_unit_test(test_silence_and_noise),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_denoise.c — the speex noise suppressor (dsp/denoise.h): on a
 * generated signal (a voiced harmonic complex in 0.5 s bursts, as syllables,
 * in white noise at 5 dB SNR) the noise between bursts drops and the
 * signal-to-noise ratio rises; silence stays silence; lengths are kept. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/denoise.h"

static double lcg_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*state >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

#define RATE 16000
#define SECONDS 8

/* Bursts on during [k, k + 0.5) s for every whole second k >= 1. */
static bool burst_on(size_t i)
{
	double t = (double)i / RATE;
	return t >= 1.0 && t - floor(t) < 0.5;
}

static double clean_at(size_t i)
{
	if (!burst_on(i))
		return 0;
	double t = (double)i / RATE, v = 0, f0 = 140 + 20 * sin(2 * M_PI * 0.7 * t);
	for (int h = 1; h <= 12; h++)
		v += sin(2 * M_PI * f0 * h * t) / h;
	return 3000 * v;
}

/* Energy of x over the samples where bursts are on (or off), from 2 s on
 * (after the suppressor's noise estimate settled). */
static double energy(const double *x, size_t n, bool on)
{
	double e = 0;
	for (size_t i = 2 * RATE; i < n; i++)
		if (burst_on(i) == on)
			e += x[i] * x[i];
	return e;
}

static void test_snr_improves(void **state)
{
	(void)state;
	size_t n = SECONDS * RATE;
	uint64_t seed = 7;
	double *clean = malloc(n * sizeof(double)), *noise = malloc(n * sizeof(double));
	int16_t *s = malloc(n * sizeof(int16_t));
	assert_non_null(clean);
	assert_non_null(noise);
	assert_non_null(s);
	double ec = 0, en = 0;
	for (size_t i = 0; i < n; i++) {
		clean[i] = clean_at(i);
		noise[i] = lcg_next(&seed);
		if (burst_on(i)) {
			ec += clean[i] * clean[i];
			en += noise[i] * noise[i];
		}
	}
	double gain = sqrt(ec / en / pow(10, 5.0 / 10)); /* 5 dB SNR in the bursts */
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)lrint(clean[i] + gain * noise[i]);
	struct pcm pcm = {s, n, RATE};
	struct denoise_params p = denoise_default_params();
	struct parley_error err = {0};
	double *before = malloc(n * sizeof(double)), *after = malloc(n * sizeof(double));
	assert_non_null(before);
	assert_non_null(after);
	for (size_t i = 0; i < n; i++)
		before[i] = s[i];
	assert_int_equal(denoise_pcm(&pcm, &p, &err), PARLEY_OK);
	assert_int_equal(pcm.n, n);
	for (size_t i = 0; i < n; i++)
		after[i] = s[i];
	/* the noise between bursts drops by at least 6 dB (measured 8.3) */
	double off_drop = 10 * log10(energy(before, n, false) / energy(after, n, false));
	/* burst energy over gap energy (an SNR as a listener hears it) rises by >= 5 dB (measured 6.6) */
	double snr_before = 10 * log10(energy(before, n, true) / energy(before, n, false));
	double snr_after = 10 * log10(energy(after, n, true) / energy(after, n, false));
	/* the bursts themselves keep most of their clean energy (within 3 dB) */
	double kept = 10 * log10(energy(after, n, true) / energy(clean, n, true));
	print_message("noise drop %.1f dB, SNR %.1f -> %.1f dB, bursts kept %.1f dB\n", off_drop,
		      snr_before, snr_after, kept);
	assert_true(off_drop >= 6);
	assert_true(snr_after - snr_before >= 5);
	assert_true(fabs(kept) <= 3);
	free(clean);
	free(noise);
	free(before);
	free(after);
	free(s);
}

static void test_silence_stays(void **state)
{
	(void)state;
	size_t n = 3 * RATE + 123; /* a tail shorter than a frame */
	int16_t *s = calloc(n, sizeof(int16_t));
	assert_non_null(s);
	struct pcm pcm = {s, n, RATE};
	struct denoise_params p = denoise_default_params();
	struct parley_error err = {0};
	assert_int_equal(denoise_pcm(&pcm, &p, &err), PARLEY_OK);
	assert_int_equal(pcm.n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s[i], 0);
	struct pcm empty = {NULL, 0, RATE};
	assert_int_equal(denoise_pcm(&empty, &p, &err), PARLEY_OK);
	free(s);
}

static void test_bad_params(void **state)
{
	(void)state;
	int16_t s[10] = {0};
	struct pcm pcm = {s, 10, 4000};
	struct denoise_params p = denoise_default_params();
	struct parley_error err = {0};
	assert_int_equal(denoise_pcm(&pcm, &p, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "4000 Hz"));
	pcm.rate = RATE;
	p.suppress_db = 0;
	assert_int_equal(denoise_pcm(&pcm, &p, &err), PARLEY_ERR_INVALID);
	p = denoise_default_params();
	p.frame_ms = 30;
	assert_int_equal(denoise_pcm(&pcm, &p, &err), PARLEY_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snr_improves),
		cmocka_unit_test(test_silence_stays),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

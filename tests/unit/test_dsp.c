/* test_dsp.c — FFT against a direct DFT; MFCC properties that can be checked by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsp/fft.h"
#include "dsp/mfcc.h"

/* Deterministic uniform numbers in [-1, 1). */
static double lcg_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*state >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}

static void test_fft_matches_dft(void **state)
{
	(void)state;
	uint64_t seed = 42;
	for (size_t n = 2; n <= 1024; n *= 2) {
		struct parley_error err = {0};
		struct fft_plan *plan = fft_plan_new(n, &err);
		assert_non_null(plan);
		assert_int_equal(fft_plan_size(plan), n);
		double *x = malloc(n * sizeof(double));
		double *data = malloc(n * sizeof(double));
		assert_non_null(x);
		assert_non_null(data);
		for (size_t i = 0; i < n; i++)
			x[i] = data[i] = lcg_next(&seed);
		fft_real(plan, data);
		for (size_t k = 0; k <= n / 2; k++) {
			double re = 0.0, im = 0.0;
			for (size_t t = 0; t < n; t++) {
				double a = -2.0 * M_PI * (double)((k * t) % n) / (double)n;
				re += x[t] * cos(a);
				im += x[t] * sin(a);
			}
			double gre, gim;
			if (k == 0) {
				gre = data[0];
				gim = 0.0;
			} else if (k == n / 2) {
				gre = data[1];
				gim = 0.0;
			} else {
				gre = data[2 * k];
				gim = data[2 * k + 1];
			}
			assert_true(fabs(gre - re) < 1e-9 * (double)n);
			assert_true(fabs(gim - im) < 1e-9 * (double)n);
		}
		free(x);
		free(data);
		fft_plan_free(plan);
	}
}

static void test_fft_power_cosine_and_parseval(void **state)
{
	(void)state;
	size_t n = 512, bin = 37;
	struct fft_plan *plan = fft_plan_new(n, NULL);
	assert_non_null(plan);
	double data[512], pow[257];
	for (size_t t = 0; t < n; t++)
		data[t] = cos(2.0 * M_PI * (double)(bin * t) / (double)n);
	fft_power(plan, data, pow);
	for (size_t k = 0; k <= n / 2; k++) {
		double want = k == bin ? (n / 2.0) * (n / 2.0) : 0.0;
		assert_true(fabs(pow[k] - want) < 1e-6);
	}

	/* Parseval: sum x^2 = (1/n) sum over the full spectrum. */
	uint64_t seed = 7;
	double energy = 0.0;
	for (size_t t = 0; t < n; t++) {
		data[t] = lcg_next(&seed);
		energy += data[t] * data[t];
	}
	fft_power(plan, data, pow);
	double spec = pow[0] + pow[n / 2];
	for (size_t k = 1; k < n / 2; k++)
		spec += 2.0 * pow[k];
	assert_true(fabs(spec / (double)n - energy) < 1e-9 * energy);
	fft_plan_free(plan);
	fft_plan_free(NULL);
}

static void test_fft_rejects_bad_sizes(void **state)
{
	(void)state;
	size_t bad[] = {0, 1, 3, 6, 1000, FFT_MAX_SIZE * 2};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parley_error err = {0};
		assert_null(fft_plan_new(bad[i], &err));
		assert_int_equal(err.code, PARLEY_ERR_INVALID);
		assert_non_null(strstr(err.msg, "power of two"));
	}
}

static void test_mfcc_frame_count(void **state)
{
	(void)state;
	struct mfcc_params p = mfcc_default_params();
	struct mfcc *m = mfcc_new(&p, 16000, NULL);
	assert_non_null(m);
	assert_int_equal(mfcc_win_samples(m), 400);
	assert_int_equal(mfcc_hop_samples(m), 160);
	assert_int_equal(mfcc_dim(m), 21);
	assert_int_equal(mfcc_frame_count(m, 0), 0);
	assert_int_equal(mfcc_frame_count(m, 399), 0);
	assert_int_equal(mfcc_frame_count(m, 400), 1);
	assert_int_equal(mfcc_frame_count(m, 559), 1);
	assert_int_equal(mfcc_frame_count(m, 560), 2);
	assert_int_equal(mfcc_frame_count(m, 16000), 1 + (16000 - 400) / 160); /* 98 */
	mfcc_free(m);

	/* The same through mfcc_compute, including too-short input. */
	int16_t *s = calloc(16000, sizeof(int16_t));
	assert_non_null(s);
	struct pcm pcm = {.samples = s, .n = 16000, .rate = 16000};
	float *f = NULL;
	size_t nf = 0;
	int dim = 0;
	assert_int_equal(mfcc_compute(&pcm, &p, &f, &nf, &dim, NULL), PARLEY_OK);
	assert_int_equal(nf, 98);
	assert_int_equal(dim, 21);
	free(f);
	pcm.n = 399;
	assert_int_equal(mfcc_compute(&pcm, &p, &f, &nf, &dim, NULL), PARLEY_OK);
	assert_int_equal(nf, 0);
	assert_null(f);
	free(s);
}

static int argmax_band(const float *row, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (row[i] > row[best])
			best = i;
	return best;
}

static int nearest_band(const struct mfcc *m, double hz, int nbands)
{
	int best = 0;
	for (int b = 1; b < nbands; b++)
		if (fabs(mfcc_band_center_hz(m, b) - hz) < fabs(mfcc_band_center_hz(m, best) - hz))
			best = b;
	return best;
}

/* A pure tone's filterbank energy peaks in the band centred nearest to it. */
static void check_tone(int rate, double hz)
{
	struct mfcc_params p = mfcc_default_params();
	p.num_ceps = 0; /* log mel energies */
	p.log_energy = false;
	size_t n = (size_t)rate / 2;
	int16_t *s = malloc(n * sizeof(int16_t));
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)lrint(8000.0 * sin(2.0 * M_PI * hz * (double)i / rate));
	struct pcm pcm = {.samples = s, .n = n, .rate = rate};
	float *f = NULL;
	size_t nf = 0;
	int dim = 0;
	struct parley_error err = {0};
	assert_int_equal(mfcc_compute(&pcm, &p, &f, &nf, &dim, &err), PARLEY_OK);
	assert_int_equal(dim, 40);
	assert_true(nf > 10);
	struct mfcc *m = mfcc_new(&p, rate, NULL);
	assert_non_null(m);
	int want = nearest_band(m, hz, 40);
	for (size_t t = 0; t < nf; t++)
		assert_int_equal(argmax_band(f + t * (size_t)dim, dim), want);
	/* The peak band is far above a band an octave away. */
	int far = nearest_band(m, hz / 2.0, 40);
	assert_true(f[5 * dim + want] - f[5 * dim + far] > 5.0f);
	mfcc_free(m);
	free(f);
	free(s);
}

static void test_mfcc_tone_peaks_in_right_band(void **state)
{
	(void)state;
	check_tone(16000, 1000.0);
	check_tone(16000, 440.0);
	check_tone(16000, 5200.0);
	check_tone(8000, 2500.0);
}

static void test_mfcc_8k_clamps_filters(void **state)
{
	(void)state;
	struct mfcc_params p = mfcc_default_params();
	struct mfcc *m = mfcc_new(&p, 8000, NULL);
	assert_non_null(m);
	assert_int_equal(mfcc_win_samples(m), 200);
	assert_int_equal(mfcc_hop_samples(m), 80);
	assert_true(mfcc_band_center_hz(m, 39) < 4000.0);
	assert_true(mfcc_band_center_hz(m, 39) > 3500.0);
	assert_true(mfcc_band_center_hz(m, 0) > 64.0);
	assert_true(mfcc_band_center_hz(m, 40) < 0.0);
	mfcc_free(m);
}

/* All-zero input: every log hits the floor, so c0 = sqrt(M) log(floor) and
 * c1.. are zero (the DCT of a constant). */
static void test_mfcc_silence_gives_floor(void **state)
{
	(void)state;
	struct mfcc_params p = mfcc_default_params();
	p.deltas = 2;
	int16_t *s = calloc(8000, sizeof(int16_t));
	assert_non_null(s);
	struct pcm pcm = {.samples = s, .n = 8000, .rate = 16000};
	float *f = NULL;
	size_t nf = 0;
	int dim = 0;
	assert_int_equal(mfcc_compute(&pcm, &p, &f, &nf, &dim, NULL), PARLEY_OK);
	assert_int_equal(dim, 63);
	double lf = log(p.log_floor);
	for (size_t t = 0; t < nf; t++) {
		const float *row = f + t * (size_t)dim;
		assert_true(fabs(row[0] - sqrt(40.0) * lf) < 1e-3);
		for (int c = 1; c < 20; c++)
			assert_true(fabs(row[c]) < 1e-3);
		assert_true(fabs(row[20] - lf) < 1e-4);
		for (int j = 21; j < dim; j++)
			assert_true(fabs(row[j]) < 1e-4);
	}
	free(f);
	free(s);
}

static void test_mfcc_deltas_of_ramp(void **state)
{
	(void)state;
	float in[10 * 2], out[10 * 2];
	for (int t = 0; t < 10; t++) {
		in[2 * t] = 3.0f * (float)t;
		in[2 * t + 1] = 5.0f;
	}
	mfcc_deltas(in, 2, 10, 2, 2, out, 2);
	for (int t = 2; t < 8; t++) /* away from the clamped edges */
		assert_true(fabs(out[2 * t] - 3.0f) < 1e-6);
	for (int t = 0; t < 10; t++)
		assert_true(fabs(out[2 * t + 1]) < 1e-6);
	assert_true(out[0] > 0.0f && out[0] < 3.0f); /* edge: partial slope */
}

static void test_mfcc_rejects_bad_params(void **state)
{
	(void)state;
	struct {
		const char *what;
		int rate;
		struct mfcc_params p;
	} cases[6];
	for (int i = 0; i < 6; i++) {
		cases[i].p = mfcc_default_params();
		cases[i].rate = 16000;
	}
	cases[0].rate = 1000;
	cases[0].what = "sample rate";
	cases[1].p.num_ceps = 41;
	cases[1].what = "cepstra";
	cases[2].p.low_hz = 9000.0;
	cases[2].what = "filter range";
	cases[3].p.deltas = 3;
	cases[3].what = "deltas";
	cases[4].p.hop_ms = 0.0;
	cases[4].what = "hop";
	cases[5].p.num_filters = 0;
	cases[5].what = "mel filters";
	for (int i = 0; i < 6; i++) {
		struct parley_error err = {0};
		assert_null(mfcc_new(&cases[i].p, cases[i].rate, &err));
		assert_int_equal(err.code, PARLEY_ERR_INVALID);
		assert_non_null(strstr(err.msg, cases[i].what));
	}
	int16_t s[1000] = {0};
	struct pcm pcm = {.samples = s, .n = 1000, .rate = 1000};
	float *f = NULL;
	size_t nf = 0;
	int dim = 0;
	struct mfcc_params p = mfcc_default_params();
	assert_int_equal(mfcc_compute(&pcm, &p, &f, &nf, &dim, NULL), PARLEY_ERR_INVALID);
	assert_null(f);
}

/* Frames computed piecewise equal frames from one pass. */
static void test_mfcc_piecewise_matches_whole(void **state)
{
	(void)state;
	uint64_t seed = 3;
	size_t n = 16000;
	int16_t *s = malloc(n * sizeof(int16_t));
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (int16_t)lrint(3000.0 * lcg_next(&seed));
	struct mfcc_params p = mfcc_default_params();
	struct pcm pcm = {.samples = s, .n = n, .rate = 16000};
	float *f = NULL;
	size_t nf = 0;
	int dim = 0;
	assert_int_equal(mfcc_compute(&pcm, &p, &f, &nf, &dim, NULL), PARLEY_OK);
	struct mfcc *m = mfcc_new(&p, 16000, NULL);
	assert_non_null(m);
	float part[5 * 21];
	mfcc_frames(m, s, n, 40, 5, part);
	assert_memory_equal(part, f + 40 * (size_t)dim, sizeof(part));
	mfcc_free(m);
	free(f);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fft_matches_dft),
		cmocka_unit_test(test_fft_power_cosine_and_parseval),
		cmocka_unit_test(test_fft_rejects_bad_sizes),
		cmocka_unit_test(test_mfcc_frame_count),
		cmocka_unit_test(test_mfcc_tone_peaks_in_right_band),
		cmocka_unit_test(test_mfcc_8k_clamps_filters),
		cmocka_unit_test(test_mfcc_silence_gives_floor),
		cmocka_unit_test(test_mfcc_deltas_of_ramp),
		cmocka_unit_test(test_mfcc_rejects_bad_params),
		cmocka_unit_test(test_mfcc_piecewise_matches_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_vad.c — vad_detect on silence, quiet noise, and espeak-ng speech with
 * silences of known length inserted in C (espeak-ng tests skip when the CLI
 * is missing). Speech edges are where the espeak audio first/last exceeds
 * -40 dBFS; detected regions must match them within 0.2 s.
 */
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "audio/decode.h"
#include "audio/pcm.h"
#include "dsp/vad.h"

#define EDGE_TOL 0.2
#define TRIM_LEVEL 330 /* about -40 dBFS */

/* ---- fixture: one temp dir per test ---- */

struct fx {
	char dir[256];
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	const char *base = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/parley-vad-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- signal helpers ---- */

static bool have_espeak(void)
{
	return system("command -v espeak-ng >/dev/null 2>&1") == 0;
}

#define REQUIRE_ESPEAK()                                                   \
	do {                                                               \
		if (!have_espeak()) {                                      \
			print_message("espeak-ng not found: skipping\n"); \
			skip();                                            \
		}                                                          \
	} while (0)

static double gauss(uint64_t *s)
{
	double u[2];
	for (int i = 0; i < 2; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		u[i] = ((double)(*s >> 11) + 0.5) / (double)(1ULL << 53);
	}
	return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/* Fill n samples with white noise at dbfs RMS (-INFINITY = digital silence). */
static void fill_noise(int16_t *s, size_t n, double dbfs, uint64_t *seed)
{
	double sigma = 32768.0 * pow(10.0, dbfs / 20.0);
	for (size_t i = 0; i < n; i++)
		s[i] = isinf(dbfs) ? 0 : (int16_t)lrint(sigma * gauss(seed));
}

/* espeak-ng text → samples at rate, with leading/trailing quiet cut off. */
static struct pcm speak(const struct fx *fx, const char *text, int rate)
{
	char path[512], cmd[1024];
	snprintf(path, sizeof(path), "%s/say.wav", fx->dir);
	snprintf(cmd, sizeof(cmd), "espeak-ng -w '%s' '%s'", path, text);
	assert_int_equal(system(cmd), 0);
	struct audio_decode_params p = audio_decode_default_params();
	p.rate = rate;
	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file(path, &p, &pcm, &err), PARLEY_OK);
	size_t a = 0, b = pcm.n;
	while (a < b && abs(pcm.samples[a]) < TRIM_LEVEL)
		a++;
	while (b > a && abs(pcm.samples[b - 1]) < TRIM_LEVEL)
		b--;
	assert_true(b - a > (size_t)rate / 2);
	memmove(pcm.samples, pcm.samples + a, (b - a) * sizeof(int16_t));
	pcm.n = b - a;
	return pcm;
}

/*
 * gap[0] s, speech 0, gap[1] s, speech 1, gap[2] s, with white noise at
 * noise_dbfs added throughout (as in a real recording; -INFINITY = none).
 * Fills want[] with the true speech edges.
 */
static struct pcm compose(const struct pcm *speech, const double gap[3], double noise_dbfs,
			  struct vad_region want[2])
{
	int rate = speech[0].rate;
	size_t g[3], n = 0;
	for (int i = 0; i < 3; i++) {
		g[i] = (size_t)(gap[i] * rate);
		n += g[i];
	}
	n += speech[0].n + speech[1].n;
	struct pcm out = {.n = n, .rate = rate};
	out.samples = calloc(n, sizeof(int16_t));
	assert_non_null(out.samples);
	size_t at = g[0];
	for (int i = 0; i < 2; i++) {
		want[i].start = (double)at / rate;
		memcpy(out.samples + at, speech[i].samples, speech[i].n * sizeof(int16_t));
		at += speech[i].n;
		want[i].end = (double)at / rate;
		at += g[i + 1];
	}
	if (!isinf(noise_dbfs)) {
		uint64_t seed = 7;
		int16_t *noise = malloc(n * sizeof(int16_t));
		assert_non_null(noise);
		fill_noise(noise, n, noise_dbfs, &seed);
		for (size_t i = 0; i < n; i++) {
			int v = out.samples[i] + noise[i];
			out.samples[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
		}
		free(noise);
	}
	return out;
}

static void check_invariants(const struct vad_region *r, size_t n, double duration)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(r[i].start >= 0);
		assert_true(r[i].start < r[i].end);
		assert_true(r[i].end <= duration + 1e-9);
		if (i > 0)
			assert_true(r[i - 1].end < r[i].start);
	}
}

static void print_regions(const char *what, const struct vad_region *r, size_t n)
{
	print_message("%s:", what);
	for (size_t i = 0; i < n; i++)
		print_message(" [%.3f, %.3f]", r[i].start, r[i].end);
	print_message("\n");
}

/* Detect and compare with want[0..1], edge by edge. */
static void expect_regions(const struct pcm *pcm, const struct vad_params *p,
			   const struct vad_region want[2], const char *what)
{
	struct vad_region *r = NULL;
	size_t n = 0;
	struct parley_error err = {0};
	assert_int_equal(vad_detect(pcm, p, &r, &n, &err), PARLEY_OK);
	print_regions(what, r, n);
	check_invariants(r, n, pcm_seconds(pcm));
	assert_int_equal(n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(fabs(r[i].start - want[i].start) <= EDGE_TOL);
		assert_true(fabs(r[i].end - want[i].end) <= EDGE_TOL);
	}
	free(r);
}

static size_t count_regions(const struct pcm *pcm, const struct vad_params *p)
{
	struct vad_region *r = NULL;
	size_t n = 0;
	struct parley_error err = {0};
	assert_int_equal(vad_detect(pcm, p, &r, &n, &err), PARLEY_OK);
	check_invariants(r, n, pcm_seconds(pcm));
	if (n == 0)
		assert_null(r);
	free(r);
	return n;
}

static const double default_gaps[3] = {1.5, 2.0, 1.5};

/* ---- tests ---- */

static void test_defaults(void **state)
{
	(void)state;
	struct vad_params p = vad_default_params();
	assert_int_equal(p.mode, 2);
	assert_int_equal(p.frame_ms, 30);
	assert_true(p.min_speech == 0.25 && p.min_silence == 0.3 && p.pad == 0.1);
	assert_true(p.energy_floor_db == -55.0);
	assert_true(p.min_voiced == 0.2);
}

/*
 * Bursts of loud white noise (0.6 s every 2 s, -30 dBFS: rustle, a
 * keyboard) have no pitch: WebRTC takes some for speech, min_voiced drops
 * them. Bursts of a voiced buzz (a 140 Hz pulse train, as vowels are) stay.
 */
static void test_unvoiced_bursts(void **state)
{
	(void)state;
	uint64_t seed = 5;
	struct pcm pcm = {.n = 16000 * 12, .rate = 16000};
	pcm.samples = malloc(pcm.n * sizeof(int16_t));
	assert_non_null(pcm.samples);
	fill_noise(pcm.samples, pcm.n, -75, &seed);
	for (size_t b = 8000; b + 9600 <= pcm.n; b += 32000)
		fill_noise(pcm.samples + b, 9600, -30, &seed);
	struct vad_params p = vad_default_params();
	p.min_voiced = 0;
	size_t raw = count_regions(&pcm, &p);
	assert_true(raw > 0);
	assert_int_equal(count_regions(&pcm, NULL), 0);
	/* the same bursts as a voiced buzz: kept */
	fill_noise(pcm.samples, pcm.n, -75, &seed);
	for (size_t b = 8000; b + 9600 <= pcm.n; b += 32000)
		for (size_t i = 0; i < 9600; i++) {
			double t = (double)i / 16000.0, v = 0;
			for (int h = 1; h <= 12; h++)
				v += sin(2 * M_PI * 140.0 * h * t) / h;
			pcm.samples[b + i] = (int16_t)(v * 2000.0 + pcm.samples[b + i]);
		}
	assert_int_equal(count_regions(&pcm, NULL), count_regions(&pcm, &p));
	assert_true(count_regions(&pcm, NULL) > 0);
	pcm_release(&pcm);
}

static void test_silence(void **state)
{
	(void)state;
	static const int rates[] = {8000, 16000, 32000, 48000};
	for (size_t i = 0; i < 4; i++) {
		struct pcm pcm = {.n = (size_t)rates[i] * 10, .rate = rates[i]};
		pcm.samples = calloc(pcm.n, sizeof(int16_t));
		assert_non_null(pcm.samples);
		assert_int_equal(count_regions(&pcm, NULL), 0);
		pcm_release(&pcm);
	}
}

static void test_quiet_noise(void **state)
{
	(void)state;
	uint64_t seed = 99;
	struct pcm pcm = {.n = 16000 * 10, .rate = 16000};
	pcm.samples = malloc(pcm.n * sizeof(int16_t));
	assert_non_null(pcm.samples);
	fill_noise(pcm.samples, pcm.n, -70, &seed);
	for (int mode = 0; mode <= 3; mode++) {
		struct vad_params p = vad_default_params();
		p.mode = mode;
		assert_int_equal(count_regions(&pcm, &p), 0);
	}
	/* ±1 LSB dither, the usual "digital near-silence" */
	for (size_t i = 0; i < pcm.n; i++)
		pcm.samples[i] = (int16_t)((int)(gauss(&seed) > 0) - (int)(gauss(&seed) > 0));
	assert_int_equal(count_regions(&pcm, NULL), 0);
	pcm_release(&pcm);
}

static void test_speech_16k(void **state)
{
	REQUIRE_ESPEAK();
	struct pcm s[2];
	s[0] = speak(*state, "The quick brown fox jumps over the lazy dog", 16000);
	s[1] = speak(*state, "Please call me back tomorrow morning", 16000);
	struct vad_region want[2];
	struct pcm pcm = compose(s, default_gaps, -INFINITY, want);
	print_regions("speech", want, 2);

	for (int mode = 0; mode <= 3; mode++) {
		static const int frames[] = {10, 20, 30};
		for (int f = 0; f < 3; f++) {
			struct vad_params p = vad_default_params();
			p.mode = mode;
			p.frame_ms = frames[f];
			char what[64];
			snprintf(what, sizeof(what), "mode %d, %d ms", mode, frames[f]);
			expect_regions(&pcm, &p, want, what);
		}
	}
	pcm_release(&pcm);

	/* the same with -70 dBFS noise instead of digital silence in the gaps */
	pcm = compose(s, default_gaps, -70, want);
	expect_regions(&pcm, NULL, want, "in -70 dBFS noise");
	pcm_release(&pcm);

	/* audible noise above the energy floor: WebRTC itself must reject it */
	static const double levels[] = {-50, -45, -40};
	for (size_t i = 0; i < 3; i++) {
		pcm = compose(s, default_gaps, levels[i], want);
		char what[64];
		for (int mode = 0; mode <= 3; mode++) {
			struct vad_params p = vad_default_params();
			p.mode = mode;
			snprintf(what, sizeof(what), "mode %d in %.0f dBFS white noise", mode,
				 levels[i]);
			expect_regions(&pcm, &p, want, what);
		}
		pcm_release(&pcm);
	}

	/* speech right at both ends of the buffer: regions clip to [0, duration] */
	static const double no_gaps[3] = {0, 1.0, 0};
	pcm = compose(s, no_gaps, -INFINITY, want);
	struct vad_region *r;
	size_t n;
	struct parley_error err = {0};
	assert_int_equal(vad_detect(&pcm, NULL, &r, &n, &err), PARLEY_OK);
	check_invariants(r, n, pcm_seconds(&pcm));
	assert_int_equal(n, 2);
	assert_true(r[0].start == 0.0);
	assert_true(fabs(r[1].end - pcm_seconds(&pcm)) < 1e-9);
	free(r);
	pcm_release(&pcm);
	pcm_release(&s[0]);
	pcm_release(&s[1]);
}

static void test_speech_other_rates(void **state)
{
	REQUIRE_ESPEAK();
	static const int rates[] = {8000, 32000, 48000};
	for (size_t i = 0; i < 3; i++) {
		struct pcm s[2];
		s[0] = speak(*state, "The quick brown fox jumps over the lazy dog", rates[i]);
		s[1] = speak(*state, "Please call me back tomorrow morning", rates[i]);
		struct vad_region want[2];
		struct pcm pcm = compose(s, default_gaps, -INFINITY, want);
		char what[32];
		snprintf(what, sizeof(what), "%d Hz", rates[i]);
		expect_regions(&pcm, NULL, want, what);
		pcm_release(&pcm);
		pcm_release(&s[0]);
		pcm_release(&s[1]);
	}
}

static void test_smoothing_params(void **state)
{
	REQUIRE_ESPEAK();
	struct pcm s[2];
	s[0] = speak(*state, "The quick brown fox jumps over the lazy dog", 16000);
	s[1] = speak(*state, "Please call me back tomorrow morning", 16000);
	struct vad_region want[2];
	struct pcm pcm = compose(s, default_gaps, -INFINITY, want);
	struct vad_params p = vad_default_params();

	/* a 2 s gap shorter than min_silence does not split */
	p.min_silence = 2.5;
	struct vad_region *r;
	size_t n;
	struct parley_error err = {0};
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_true(fabs(r[0].start - want[0].start) <= EDGE_TOL);
	assert_true(fabs(r[0].end - want[1].end) <= EDGE_TOL);
	free(r);

	/* regions with less speech than min_speech are dropped */
	p = vad_default_params();
	p.min_speech = 2.2; /* between the two utterances' lengths */
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_true(fabs(r[0].start - want[0].start) <= EDGE_TOL);
	free(r);
	p.min_speech = 10;
	assert_int_equal(count_regions(&pcm, &p), 0);

	/* pad widens each region by exactly the difference in pad */
	struct vad_region *r0, *r1;
	size_t n0, n1;
	p = vad_default_params();
	p.pad = 0;
	assert_int_equal(vad_detect(&pcm, &p, &r0, &n0, &err), PARLEY_OK);
	p.pad = 0.3;
	assert_int_equal(vad_detect(&pcm, &p, &r1, &n1, &err), PARLEY_OK);
	assert_int_equal(n0, 2);
	assert_int_equal(n1, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_true(fabs(r0[i].start - 0.3 - r1[i].start) < 1e-9);
		assert_true(fabs(r0[i].end + 0.3 - r1[i].end) < 1e-9);
	}
	free(r0);
	free(r1);
	pcm_release(&pcm);
	pcm_release(&s[0]);
	pcm_release(&s[1]);
}

struct thread_job {
	const struct pcm *pcm;
	struct vad_region *r;
	size_t n;
	enum parley_err rc;
};

static void *thread_vad(void *arg)
{
	struct thread_job *t = arg;
	t->rc = vad_detect(t->pcm, NULL, &t->r, &t->n, NULL);
	return NULL;
}

static void test_threads(void **state)
{
	REQUIRE_ESPEAK();
	struct pcm s[2];
	s[0] = speak(*state, "The quick brown fox jumps over the lazy dog", 16000);
	s[1] = speak(*state, "Please call me back tomorrow morning", 16000);
	struct vad_region want[2];
	struct pcm pcm = compose(s, default_gaps, -70, want);
	enum { N = 4 };
	pthread_t th[N];
	struct thread_job jobs[N];
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct thread_job){.pcm = &pcm};
		assert_int_equal(pthread_create(&th[i], NULL, thread_vad, &jobs[i]), 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jobs[i].rc, PARLEY_OK);
		assert_int_equal(jobs[i].n, jobs[0].n);
		assert_memory_equal(jobs[i].r, jobs[0].r, jobs[0].n * sizeof(struct vad_region));
	}
	for (int i = 0; i < N; i++)
		free(jobs[i].r);
	pcm_release(&pcm);
	pcm_release(&s[0]);
	pcm_release(&s[1]);
}

static void test_bad_args(void **state)
{
	(void)state;
	int16_t buf[480] = {0};
	struct pcm pcm = {.samples = buf, .n = 480, .rate = 44100};
	struct vad_region *r = (struct vad_region *)buf;
	size_t n = 99;
	struct parley_error err = {0};
	assert_int_equal(vad_detect(&pcm, NULL, &r, &n, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "44100 Hz"));
	assert_null(r);
	assert_int_equal(n, 0);

	pcm.rate = 16000;
	struct vad_params p = vad_default_params();
	p.mode = 4;
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_ERR_INVALID);
	p = vad_default_params();
	p.frame_ms = 25;
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_ERR_INVALID);
	p = vad_default_params();
	p.min_silence = -1;
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_ERR_INVALID);
	p = vad_default_params();
	p.energy_floor_db = NAN;
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_ERR_INVALID);
	p = vad_default_params();
	p.min_voiced = 1.5;
	assert_int_equal(vad_detect(&pcm, &p, &r, &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(vad_detect(NULL, NULL, &r, &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(vad_detect(&pcm, NULL, NULL, &n, &err), PARLEY_ERR_INVALID);

	/* empty and shorter-than-a-frame buffers are fine */
	pcm.n = 0;
	assert_int_equal(vad_detect(&pcm, NULL, &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	pcm.n = 7;
	assert_int_equal(vad_detect(&pcm, NULL, &r, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_silence),
		T(test_quiet_noise),
		T(test_unvoiced_bursts),
		T(test_speech_16k),
		T(test_speech_other_rates),
		T(test_smoothing_params),
		T(test_threads),
		T(test_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

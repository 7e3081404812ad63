/*
 * test_channel_diarize.c — dsp/channel_diarize.h on two generated channels:
 * espeak-ng voices (tests skip when the CLI is missing), each side leaking
 * into the other at -20 dB (crosstalk/echo), a stretch where both talk at
 * once at the same level (real overlap), and channels recorded at different
 * gains. Speech edges are where the espeak audio first/last exceeds
 * -40 dBFS.
 */
#include <ftw.h>
#include <math.h>
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
#include "dsp/channel_diarize.h"

#define TRIM_LEVEL 330 /* about -40 dBFS */
#define RATE 16000

struct fx {
	char dir[256];
	struct pcm a[2], b[2]; /* two utterances of voice A, two of voice B */
};

static bool have_espeak(void)
{
	return system("command -v espeak-ng >/dev/null 2>&1") == 0;
}

static struct pcm speak(const char *dir, const char *voice, const char *text)
{
	char path[512], cmd[1024];
	snprintf(path, sizeof(path), "%s/say.wav", dir);
	snprintf(cmd, sizeof(cmd), "espeak-ng -v %s -w '%s' '%s'", voice, path, text);
	assert_int_equal(system(cmd), 0);
	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file(path, NULL, &pcm, &err), PARLEY_OK);
	size_t a = 0, b = pcm.n;
	while (a < b && abs(pcm.samples[a]) < TRIM_LEVEL)
		a++;
	while (b > a && abs(pcm.samples[b - 1]) < TRIM_LEVEL)
		b--;
	memmove(pcm.samples, pcm.samples + a, (b - a) * sizeof(int16_t));
	pcm.n = b - a;
	return pcm;
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	const char *base = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/parley-chd-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	if (have_espeak()) {
		fx->a[0] = speak(fx->dir, "en+m3", "good morning, thank you for calling, how can I help you today");
		fx->a[1] = speak(fx->dir, "en+m3", "let me check that account for you, one moment please");
		fx->b[0] = speak(fx->dir, "en+f3", "hello, I have a problem with my last bill");
		fx->b[1] = speak(fx->dir, "en+f3", "no wait, I already told you the number twice");
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
	for (int i = 0; i < 2; i++) {
		pcm_release(&fx->a[i]);
		pcm_release(&fx->b[i]);
	}
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

#define REQUIRE_ESPEAK(fx)                                                 \
	do {                                                               \
		if (!(fx)->a[0].samples) {                                 \
			print_message("espeak-ng not found: skipping\n"); \
			skip();                                            \
		}                                                          \
	} while (0)

/* Add s (scaled by gain) into dst at t seconds. */
static void put(struct pcm *dst, const struct pcm *s, double t, double gain)
{
	size_t at = (size_t)(t * RATE);
	for (size_t i = 0; i < s->n && at + i < dst->n; i++) {
		double v = dst->samples[at + i] + gain * s->samples[i];
		dst->samples[at + i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
	}
}

struct span {
	double start, end;
};

/*
 * The call: A0 on channel 0 at 0.5 s; B0 on channel 1 one second after A0
 * ends; A1 one second after B0 ends; B1 starts 1.2 s before A1 ends (both
 * talk at once, same level). Each channel carries the other at leak
 * (-20 dB = 0.1), and channel 1 is scaled by gain1.
 */
static void make_call(const struct fx *fx, double leak, double gain1, struct pcm ch[2],
		      struct span a[2], struct span b[2])
{
	a[0].start = 0.5;
	a[0].end = a[0].start + (double)fx->a[0].n / RATE;
	b[0].start = a[0].end + 1.0;
	b[0].end = b[0].start + (double)fx->b[0].n / RATE;
	a[1].start = b[0].end + 1.0;
	a[1].end = a[1].start + (double)fx->a[1].n / RATE;
	b[1].start = a[1].end - 1.2;
	b[1].end = b[1].start + (double)fx->b[1].n / RATE;
	double total = (b[1].end > a[1].end ? b[1].end : a[1].end) + 1.0;
	for (int c = 0; c < 2; c++) {
		ch[c].rate = RATE;
		ch[c].n = (size_t)(total * RATE);
		ch[c].samples = calloc(ch[c].n, sizeof(int16_t));
		assert_non_null(ch[c].samples);
	}
	for (int i = 0; i < 2; i++) {
		put(&ch[0], &fx->a[i], a[i].start, 1.0);
		put(&ch[1], &fx->a[i], a[i].start, leak * gain1);
		put(&ch[1], &fx->b[i], b[i].start, gain1);
		put(&ch[0], &fx->b[i], b[i].start, leak);
	}
}

/* Seconds of channel c's activity (main or overlap turns) inside [s, e). */
static double activity(const struct chdiar_turn *t, size_t n, int c, double s, double e)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i].channel != c)
			continue;
		double a = t[i].start > s ? t[i].start : s, b = t[i].end < e ? t[i].end : e;
		if (b > a)
			sum += b - a;
	}
	return sum;
}

static void check_call(const struct fx *fx, double leak, double gain1, double margin)
{
	struct pcm ch[2];
	struct span a[2], b[2];
	make_call(fx, leak, gain1, ch, a, b);
	struct chdiar_params p = chdiar_default_params();
	p.margin_db = margin;
	struct chdiar_turn *t = NULL;
	size_t n = 0;
	struct parley_error err = {0};
	assert_int_equal(chdiar_run(ch, 2, NULL, 0, &p, &t, &n, &err), PARLEY_OK);
	assert_true(n > 0);
	/* main turns never overlap each other */
	double last_end = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i].overlap)
			continue;
		assert_true(t[i].start >= last_end - 1e-9);
		last_end = t[i].end;
	}
	/* crosstalk: (almost) nothing for the silent side while one side talks alone */
	double x0 = activity(t, n, 0, b[0].start, b[0].end);
	double x1 = activity(t, n, 1, a[0].start, a[0].end) +
		    activity(t, n, 1, a[1].start, b[1].start);
	print_message("leak %.2f gain1 %.2f margin %.0f: crosstalk %.2f s / %.2f s\n", leak, gain1,
		      margin, x0, x1);
	assert_true(x0 < 0.1);
	assert_true(x1 < 0.1);
	/* talk time per channel within 5% of the truth */
	double truth0 = (a[0].end - a[0].start) + (a[1].end - a[1].start);
	double truth1 = (b[0].end - b[0].start) + (b[1].end - b[1].start);
	double got0 = activity(t, n, 0, 0, 1e9), got1 = activity(t, n, 1, 0, 1e9);
	print_message("talk time ch0 %.2f (truth %.2f), ch1 %.2f (truth %.2f)\n", got0, truth0,
		      got1, truth1);
	assert_true(fabs(got0 - truth0) <= 0.05 * truth0);
	assert_true(fabs(got1 - truth1) <= 0.05 * truth1);
	/* real overlap: both sides active for most of it, one of them as overlap */
	double ov0 = activity(t, n, 0, b[1].start, a[1].end);
	double ov1 = activity(t, n, 1, b[1].start, a[1].end);
	double ovlen = a[1].end - b[1].start;
	print_message("overlap %.2f s: ch0 %.2f, ch1 %.2f\n", ovlen, ov0, ov1);
	assert_true(ov0 >= 0.6 * ovlen);
	assert_true(ov1 >= 0.6 * ovlen);
	bool overlap_turn = false;
	for (size_t i = 0; i < n; i++)
		overlap_turn |= t[i].overlap && t[i].channel == 1 && t[i].start < a[1].end &&
				t[i].end > b[1].start;
	assert_true(overlap_turn);
	free(t);
	pcm_release(&ch[0]);
	pcm_release(&ch[1]);
}

static void test_crosstalk_and_overlap(void **state)
{
	struct fx *fx = *state;
	REQUIRE_ESPEAK(fx);
	check_call(fx, 0.1, 1.0, 10);
}

static void test_margins(void **state)
{
	struct fx *fx = *state;
	REQUIRE_ESPEAK(fx);
	check_call(fx, 0.1, 1.0, 6);
	check_call(fx, 0.1, 1.0, 14);
}

/* Channel 1 recorded 6 dB quieter (its leak too): levels are relative to
 * each channel's own speech, so nothing changes. */
static void test_channel_gain(void **state)
{
	struct fx *fx = *state;
	REQUIRE_ESPEAK(fx);
	check_call(fx, 0.1, 0.5, 10);
}

/* Regions limit where speech can be (event spans removed by the vad stage);
 * channel 0 then hears only channel 1's leak and gets no turns. */
static void test_regions_limit(void **state)
{
	struct fx *fx = *state;
	REQUIRE_ESPEAK(fx);
	struct pcm ch[2];
	struct span a[2], b[2];
	make_call(fx, 0.1, 1.0, ch, a, b);
	struct vad_region only = {b[0].start - 0.5, b[0].end + 0.5};
	struct chdiar_turn *t = NULL;
	size_t n = 0;
	struct parley_error err = {0};
	assert_int_equal(chdiar_run(ch, 2, &only, 1, NULL, &t, &n, &err), PARLEY_OK);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].start >= only.start - 1e-9 && t[i].end <= only.end + 1e-9);
		assert_int_equal(t[i].channel, 1);
	}
	free(t);
	pcm_release(&ch[0]);
	pcm_release(&ch[1]);
}

static void test_silence_and_bad_args(void **state)
{
	(void)state;
	struct pcm ch[3];
	for (int c = 0; c < 3; c++) {
		ch[c].rate = RATE;
		ch[c].n = RATE * 2;
		ch[c].samples = calloc(ch[c].n, sizeof(int16_t));
		assert_non_null(ch[c].samples);
	}
	struct chdiar_turn *t = (struct chdiar_turn *)1;
	size_t n = 7;
	struct parley_error err = {0};
	assert_int_equal(chdiar_run(ch, 3, NULL, 0, NULL, &t, &n, &err), PARLEY_OK);
	assert_null(t);
	assert_int_equal(n, 0);
	assert_int_equal(chdiar_run(ch, 1, NULL, 0, NULL, &t, &n, &err), PARLEY_ERR_INVALID);
	assert_int_equal(chdiar_run(ch, 9, NULL, 0, NULL, &t, &n, &err), PARLEY_ERR_INVALID);
	ch[1].rate = 8000;
	assert_int_equal(chdiar_run(ch, 2, NULL, 0, NULL, &t, &n, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "channel 1 is at 8000 Hz"));
	for (int c = 0; c < 3; c++)
		pcm_release(&ch[c]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_crosstalk_and_overlap),
		T(test_margins),
		T(test_channel_gain),
		T(test_regions_limit),
		cmocka_unit_test(test_silence_and_bad_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

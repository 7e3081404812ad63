/*
 * test_tones.c — the call-event detectors (dsp/dtmf.h, dsp/tones.h,
 * dsp/music.h, dsp/prompt.h) and stages/call_spans.h on signals made in C:
 * every DTMF digit and the Q.24 limits, every row of the country tone table
 * at 16 and 8 kHz, SIT, beeps, synthesised music, a repeated and a known
 * prompt. Talk-off: no DTMF, no call-progress tone, no music span and no
 * repeated prompt in the real speech of ../shared/data (PARLEY_SHARED_DATA),
 * and no DTMF or tone in the real music on hold of asterisk-moh-opsound-wav,
 * where music must cover most of the time; each skips, saying so, when its
 * files are absent.
 */
#include <dirent.h>
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
#include "dsp/dtmf.h"
#include "dsp/ivr_scan.h"
#include "dsp/music.h"
#include "dsp/prompt.h"
#include "dsp/tones.h"
#include "stages/call_spans.h"

/* ---- signals ---- */

static struct pcm make_pcm(int rate, double seconds)
{
	struct pcm p = {calloc((size_t)(rate * seconds) + 1, sizeof(int16_t)),
			(size_t)(rate * seconds), rate};
	assert_non_null(p.samples);
	return p;
}

static void add_sample(struct pcm *p, size_t i, double v)
{
	double s = p->samples[i] + v;
	p->samples[i] = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s);
}

static double amp_of(double dbfs) /* peak of a sine with this RMS */
{
	return sqrt(2.0) * 32768.0 * pow(10.0, dbfs / 20.0);
}

/* f1 (+ f2) from start for dur seconds; mod = 100% AM frequency */
static void add_tone(struct pcm *p, double start, double dur, double f1, double db1, double f2,
		     double db2, double mod)
{
	size_t a = (size_t)(start * p->rate), n = (size_t)(dur * p->rate);
	size_t ramp = (size_t)(0.003 * p->rate);
	for (size_t i = 0; i < n && a + i < p->n; i++) {
		double t = (double)i / p->rate;
		double v = amp_of(db1) * sin(2 * M_PI * f1 * t);
		if (f2 > 0)
			v += amp_of(db2) * sin(2 * M_PI * f2 * t);
		if (mod > 0)
			v *= 0.5 + 0.5 * sin(2 * M_PI * mod * t);
		double w = i < ramp ? (double)i / ramp : n - i < ramp ? (double)(n - i) / ramp : 1.0;
		add_sample(p, a + i, v * w);
	}
}

static uint64_t rng_state = 88172645463325252ull;
static double urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double grand(void)
{
	double u = urand() + 1e-12, v = urand();
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void add_noise(struct pcm *p, double dbfs)
{
	double sd = 32768.0 * pow(10.0, dbfs / 20.0);
	for (size_t i = 0; i < p->n; i++)
		add_sample(p, i, sd * grand());
}

/* ---- DTMF ---- */

static const char all_digits[] = "123A456B789C*0#D";

static void dtmf_digit(struct pcm *p, double start, double dur, char d, double low_db,
		       double twist)
{
	static const double rows[4] = {697, 770, 852, 941}, cols[4] = {1209, 1336, 1477, 1633};
	static const char keys[4][5] = {"123A", "456B", "789C", "*0#D"};
	for (int r = 0; r < 4; r++)
		for (int c = 0; c < 4; c++)
			if (keys[r][c] == d)
				add_tone(p, start, dur, rows[r], low_db, cols[c], low_db + twist, 0);
}

static void test_dtmf_every_digit(void **state)
{
	(void)state;
	const int rates[] = {8000, 16000};
	for (int k = 0; k < 2; k++) {
		struct pcm p = make_pcm(rates[k], 4.0);
		for (int i = 0; all_digits[i]; i++)
			dtmf_digit(&p, 0.5 + 0.12 * i, 0.05, all_digits[i], -14, 2);
		struct dtmf_press *d;
		size_t n;
		struct parley_error err = {0};
		assert_int_equal(dtmf_detect(&p, NULL, &d, &n, &err), PARLEY_OK);
		assert_int_equal(n, 16);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(d[i].digit, all_digits[i]);
			assert_true(fabs(d[i].start - (0.5 + 0.12 * i)) < 0.02);
			assert_true(fabs(d[i].end - (0.55 + 0.12 * i)) < 0.02);
		}
		struct dtmf_seq *s;
		size_t ns;
		assert_int_equal(dtmf_group(d, n, 2.0, &s, &ns, &err), PARLEY_OK);
		assert_int_equal(ns, 1);
		assert_int_equal(s[0].count, 16);
		free(s);
		free(d);
		pcm_release(&p);
	}
}

/* Q.24: 40 ms accepted, 20 ms not; twist within -8..+4 dB; noise at 15 dB SNR */
static void test_dtmf_q24_limits(void **state)
{
	(void)state;
	struct {
		double dur, low, twist, noise;
		size_t want;
	} cases[] = {
		{0.040, -14, 0, 0, 1},  {0.020, -14, 0, 0, 0},  {0.080, -14, -7, 0, 1},
		{0.080, -14, -11, 0, 0}, {0.080, -14, 3.5, 0, 1}, {0.080, -14, 6, 0, 0},
		{0.080, -52, 0, 0, 0},  {0.080, -20, 0, -38, 1},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pcm p = make_pcm(16000, 1.0);
		dtmf_digit(&p, 0.4, cases[c].dur, '5', cases[c].low, cases[c].twist);
		if (cases[c].noise < 0)
			add_noise(&p, cases[c].noise);
		struct dtmf_press *d;
		size_t n;
		assert_int_equal(dtmf_detect(&p, NULL, &d, &n, NULL), PARLEY_OK);
		if (n != cases[c].want)
			fail_msg("case %zu (%.0f ms, %.0f dBFS, twist %.1f): %zu presses, want %zu", c,
				 cases[c].dur * 1000, cases[c].low, cases[c].twist, n, cases[c].want);
		if (n)
			assert_int_equal(d[0].digit, '5');
		free(d);
		pcm_release(&p);
	}
}

static void test_dtmf_sequences(void **state)
{
	(void)state;
	struct pcm p = make_pcm(16000, 6.0);
	dtmf_digit(&p, 0.5, 0.08, '1', -15, 0);
	dtmf_digit(&p, 0.8, 0.08, '1', -15, 0); /* the same digit again after 220 ms */
	dtmf_digit(&p, 3.5, 0.08, '#', -15, 0);
	struct dtmf_press *d;
	struct dtmf_seq *s;
	size_t n, ns;
	assert_int_equal(dtmf_detect(&p, NULL, &d, &n, NULL), PARLEY_OK);
	assert_int_equal(n, 3);
	assert_int_equal(dtmf_group(d, n, 2.0, &s, &ns, NULL), PARLEY_OK);
	assert_int_equal(ns, 2);
	assert_int_equal(s[0].count, 2);
	assert_int_equal(s[1].count, 1);
	free(d);
	free(s);
	pcm_release(&p);
	struct pcm bad = make_pcm(4000, 1.0);
	assert_int_equal(dtmf_detect(&bad, NULL, &d, &n, NULL), PARLEY_ERR_INVALID);
	pcm_release(&bad);
}

/* ---- call-progress tones ---- */

/* Plays `cycles` of row t's cadence from `at`; returns the end. */
static double play_row(struct pcm *p, const struct tone_spec *t, double at, int cycles)
{
	double x = at, end = at;
	for (int c = 0; c < cycles; c++)
		for (int k = 0; k < t->ncad; k += 2) {
			add_tone(p, x, t->cadence[k], t->freq[0], -20, t->freq[1], -20, t->mod);
			end = x + t->cadence[k];
			x = end + t->cadence[k + 1];
		}
	return end;
}

static void test_tone_table(void **state)
{
	(void)state;
	const int rates[] = {8000, 16000};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < tone_table_count; i++) {
			const struct tone_spec *t = &tone_table[i];
			double period = 0;
			for (int c = 0; c < t->ncad; c++)
				period += t->cadence[c];
			int cycles = period > 4 ? 2 : 3;
			struct pcm p = make_pcm(rates[k], 1.0 + cycles * period + 1.0);
			double end = play_row(&p, t, 0.7, cycles);
			add_noise(&p, -55);
			struct tone_params tp = tone_default_params();
			tp.countries = t->country;
			struct tone_event *e;
			size_t n;
			struct parley_error err = {0};
			assert_int_equal(tones_detect(&p, &tp, &e, &n, &err), PARLEY_OK);
			if (n != 1 || strcmp(e[0].kind, t->kind) != 0 || strcmp(e[0].country, t->country) ||
			    fabs(e[0].start - 0.7) > 0.05 || fabs(e[0].end - end) > 0.05)
				fail_msg("%d Hz, %s %s: %zu events, first %s %s %.3f-%.3f (want %.3f-%.3f)",
					 rates[k], t->country, t->kind, n, n ? e[0].kind : "-",
					 n ? e[0].country : "-", n ? e[0].start : 0, n ? e[0].end : 0, 0.7,
					 end);
			free(e);
			/* ringbacks differ between all countries: auto finds the right one */
			if (strcmp(t->kind, "ringback") == 0) {
				tp.countries = "auto";
				assert_int_equal(tones_detect(&p, &tp, &e, &n, &err), PARLEY_OK);
				assert_int_equal(n, 1);
				assert_string_equal(e[0].country, t->country);
				free(e);
			}
			pcm_release(&p);
		}
}

static void test_sit_and_beep(void **state)
{
	(void)state;
	struct pcm p = make_pcm(16000, 12.0);
	/* ITU SIT twice, 1 s apart */
	const double itu[3] = {950, 1400, 1800};
	for (int r = 0; r < 2; r++)
		for (int k = 0; k < 3; k++)
			add_tone(&p, 1.0 + r * 2.0 + 0.33 * k, 0.33, itu[k], -18, 0, 0, 0);
	/* a beep, then two equal tones 1 s apart (an unknown cadence: no beep) */
	add_tone(&p, 7.0, 0.5, 1000, -15, 0, 0, 0);
	add_tone(&p, 9.0, 0.4, 1200, -15, 0, 0, 0);
	add_tone(&p, 10.4, 0.4, 1200, -15, 0, 0, 0);
	struct tone_event *e;
	size_t n;
	assert_int_equal(tones_detect(&p, NULL, &e, &n, NULL), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].kind, "sit");
	assert_true(fabs(e[0].start - 1.0) < 0.05 && fabs(e[0].end - 3.99) < 0.05);
	assert_string_equal(e[1].kind, "beep");
	assert_true(fabs(e[1].start - 7.0) < 0.05 && fabs(e[1].end - 7.5) < 0.05);
	assert_true(fabs(e[1].freq - 1000) < 5);
	free(e);
	pcm_release(&p);
	struct tone_params tp = tone_default_params();
	tp.countries = "uk,xx";
	struct parley_error err = {0};
	struct pcm q = make_pcm(8000, 1.0);
	assert_int_equal(tones_detect(&q, &tp, &e, &n, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "xx"));
	pcm_release(&q);
}

/* ---- music ---- */

static void add_note(struct pcm *p, double start, double dur, double hz, double db)
{
	const double partial[4] = {1.0, 0.5, 0.3, 0.15};
	size_t a = (size_t)(start * p->rate), n = (size_t)(dur * p->rate);
	for (size_t i = 0; i < n && a + i < p->n; i++) {
		double t = (double)i / p->rate, env = i < 160 ? i / 160.0 : 1.0 - 0.4 * i / n;
		double v = 0;
		for (int k = 0; k < 4; k++)
			v += partial[k] * sin(2 * M_PI * hz * (k + 1) * t);
		add_sample(p, a + i, amp_of(db) * env * v * 0.6);
	}
}

static void test_music(void **state)
{
	(void)state;
	struct pcm p = make_pcm(16000, 20.0);
	const double roots[4] = {261.6, 392.0, 440.0, 349.2};
	for (int bar = 0; bar < 6; bar++) { /* chords and a melody, 3 to 15 s */
		double r = roots[bar % 4], t0 = 3.0 + 2.0 * bar;
		add_note(&p, t0, 2.0, r, -30);
		add_note(&p, t0, 2.0, r * 1.26, -30);
		add_note(&p, t0, 2.0, r * 1.5, -30);
		for (int q = 0; q < 4; q++)
			add_note(&p, t0 + 0.5 * q, 0.5, r * 2 * (q % 2 ? 1.5 : 1.26), -26);
	}
	add_noise(&p, -60);
	struct music_span *m;
	size_t n;
	assert_int_equal(music_detect(&p, NULL, &m, &n, NULL), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_true(fabs(m[0].start - 3.0) < 0.2 && fabs(m[0].end - 15.0) < 0.2);
	free(m);
	pcm_release(&p);
	struct pcm noise = make_pcm(16000, 15.0);
	add_noise(&noise, -30);
	assert_int_equal(music_detect(&noise, NULL, &m, &n, NULL), PARLEY_OK);
	assert_int_equal(n, 0);
	pcm_release(&noise);
}

/* ---- prompts ---- */

/* A speech-like stand-in: 150 ms "syllables" of harmonics with random pitch
 * and a random spectral tilt, random short pauses. Same seed, same sound. */
static void add_babble(struct pcm *p, double start, double dur, uint64_t seed)
{
	uint64_t keep = rng_state;
	rng_state = seed;
	double t = start;
	while (t < start + dur - 0.2) {
		double f0 = 90 + 120 * urand(), tilt = 0.3 + 0.6 * urand(), len = 0.1 + 0.15 * urand();
		size_t a = (size_t)(t * p->rate), n = (size_t)(len * p->rate);
		double ph[12] = {0};
		for (size_t i = 0; i < n && a + i < p->n; i++) {
			double env = sin(M_PI * i / n), v = 0;
			double f = f0 * (1 + 0.1 * (double)i / n);
			for (int k = 0; k < 12; k++) {
				ph[k] += 2 * M_PI * f * (k + 1) / p->rate;
				v += pow(tilt, k) * sin(ph[k]);
			}
			add_sample(p, a + i, 3000 * env * v);
		}
		t += len + (urand() < 0.3 ? 0.1 + 0.2 * urand() : 0.02);
	}
	rng_state = keep;
}

static void test_prompt_repeat_and_known(void **state)
{
	(void)state;
	struct pcm p = make_pcm(16000, 30.0);
	add_babble(&p, 1.0, 6.0, 42);
	add_babble(&p, 10.0, 6.0, 42);  /* the same prompt again */
	add_babble(&p, 19.0, 6.0, 777); /* something else */
	add_noise(&p, -50);
	struct prompt_fp fp;
	struct prompt_match *m;
	size_t n;
	struct parley_error err = {0};
	assert_int_equal(prompt_fingerprint(&p, 0, &fp, &err), PARLEY_OK);
	assert_int_equal(prompt_find_repeats(&fp, NULL, &m, &n, &err), PARLEY_OK);
	assert_int_equal(n, 1);
	assert_true(fabs(m[0].first_start - 1.0) < 0.15 && fabs(m[0].start - 10.0) < 0.15);
	assert_true(fabs(m[0].end - m[0].first_end - 9.0) < 0.05);
	assert_true(m[0].end - m[0].start > 5.0);
	free(m);
	/* the known prompt file, alone */
	struct pcm k = make_pcm(16000, 7.0);
	add_babble(&k, 0.5, 6.0, 42);
	struct prompt_fp kfp;
	assert_int_equal(prompt_fingerprint(&k, 0, &kfp, &err), PARLEY_OK);
	assert_int_equal(prompt_find_known(&fp, &kfp, NULL, &m, &n, &err), PARLEY_OK);
	assert_int_equal(n, 2);
	assert_true(fabs(m[0].start - 1.0) < 0.15 && fabs(m[1].start - 10.0) < 0.15);
	free(m);
	/* excluded spans take no part */
	prompt_fp_exclude(&fp, 9.0, 17.0);
	assert_int_equal(prompt_find_repeats(&fp, NULL, &m, &n, &err), PARLEY_OK);
	assert_int_equal(n, 0);
	free(m);
	prompt_fp_release(&kfp);
	prompt_fp_release(&fp);
	pcm_release(&k);
	pcm_release(&p);
}

/* ---- call spans ---- */

/* Two legs of a stereo call: key presses on channel 1 leak into channel 0
 * 25 dB down; that leak is not a second event. The same presses at the
 * same level on both legs are two. */
static size_t scan_two_legs(double leak_db)
{
	struct pcm legs[2] = {make_pcm(16000, 6.0), make_pcm(16000, 6.0)};
	const char *keys = "2468";
	for (int k = 0; keys[k]; k++) {
		dtmf_digit(&legs[1], 1.0 + 0.25 * k, 0.1, keys[k], -8, 0);
		dtmf_digit(&legs[0], 1.0 + 0.25 * k, 0.1, keys[k], -8 + leak_db, 0);
	}
	struct ivr_event *ev = NULL;
	size_t n = 0;
	assert_int_equal(ivr_scan(legs, (const int[]){0, 1}, 2, NULL, &ev, &n, NULL), PARLEY_OK);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(ev[i].kind, "dtmf");
	if (leak_db < -10)
		for (size_t i = 0; i < n; i++)
			assert_int_equal(ev[i].channel, 1);
	free(ev);
	pcm_release(&legs[0]);
	pcm_release(&legs[1]);
	return n;
}

static void test_scan_crosstalk(void **state)
{
	(void)state;
	assert_int_equal(scan_two_legs(-15), 1);
	assert_int_equal(scan_two_legs(0), 2);
}

static void test_call_spans_subtract(void **state)
{
	(void)state;
	struct vad_region *r = malloc(2 * sizeof(*r));
	assert_non_null(r);
	r[0] = (struct vad_region){0, 10};
	r[1] = (struct vad_region){12, 20};
	size_t n = 2;
	struct call_span s[3] = {{2, 3, -1, "dtmf"}, {9, 13, -1, "music"}, {15, 25, 0, "hold"}};
	assert_int_equal(call_spans_subtract(&r, &n, s, 3, 0.25, NULL), PARLEY_OK);
	assert_int_equal(n, 3);
	assert_true(r[0].start == 0 && r[0].end == 2);
	assert_true(r[1].start == 3 && r[1].end == 9);
	assert_true(r[2].start == 13 && r[2].end == 15);
	free(r);
}

/* ---- talk-off on real recordings ---- */

static int has_ext(const char *name, const char *const *ext)
{
	size_t n = strlen(name);
	for (int i = 0; ext[i]; i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

struct talkoff {
	double seconds, music_seconds;
	size_t files, dtmf, tones, beeps, music, repeats;
	char first[512];
};

static void scan_file(const char *path, struct talkoff *t)
{
	struct pcm p = {0};
	struct audio_decode_params dp = audio_decode_default_params();
	if (audio_decode_file(path, &dp, &p, NULL))
		return; /* headerless raw and the like */
	t->files++;
	t->seconds += pcm_seconds(&p);
	struct dtmf_press *d;
	struct tone_event *e;
	struct music_span *m;
	struct prompt_match *pm;
	struct prompt_fp fp;
	size_t n;
	assert_int_equal(dtmf_detect(&p, NULL, &d, &n, NULL), PARLEY_OK);
	t->dtmf += n;
	if (n && !t->first[0])
		snprintf(t->first, sizeof(t->first), "dtmf %c at %.2f s in %s", d[0].digit, d[0].start,
			 path);
	free(d);
	assert_int_equal(tones_detect(&p, NULL, &e, &n, NULL), PARLEY_OK);
	for (size_t i = 0; i < n; i++) {
		/* the Malaysian call-centre call opens with the end of a real tone */
		if (strcmp(e[i].kind, "beep") == 0) {
			if (!(strstr(path, "malaya-callcentre") && e[i].start < 0.5))
				t->beeps++;
			continue;
		}
		t->tones++;
		if (!t->first[0])
			snprintf(t->first, sizeof(t->first), "%s at %.2f s in %s", e[i].kind, e[i].start,
				 path);
	}
	free(e);
	assert_int_equal(music_detect(&p, NULL, &m, &n, NULL), PARLEY_OK);
	t->music += n;
	for (size_t i = 0; i < n; i++)
		t->music_seconds += m[i].end - m[i].start;
	free(m);
	assert_int_equal(prompt_fingerprint(&p, 300, &fp, NULL), PARLEY_OK);
	assert_int_equal(prompt_find_repeats(&fp, NULL, &pm, &n, NULL), PARLEY_OK);
	t->repeats += n;
	free(pm);
	prompt_fp_release(&fp);
	pcm_release(&p);
}

static void scan_dir(const char *dir, const char *const *ext, struct talkoff *t)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char *names[512];
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(d)) && nn < 512)
		if (de->d_name[0] != '.')
			names[nn++] = strdup(de->d_name);
	closedir(d);
	for (size_t i = 0; i < nn; i++) {
		char path[1024];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			scan_dir(path, ext, t);
		else if (has_ext(names[i], ext))
			scan_file(path, t);
		free(names[i]);
	}
}

static void test_talkoff_real_speech(void **state)
{
	(void)state;
	const char *data = getenv("PARLEY_SHARED_DATA");
	if (!data || !*data)
		data = "../shared/data";
	struct stat st;
	if (stat(data, &st) != 0) {
		print_message("# skip: %s absent (no real speech for the talk-off test)\n", data);
		skip();
	}
	static const char *const ext[] = {".wav", ".flac", ".mp3", NULL};
	struct talkoff t = {0};
	scan_dir(data, ext, &t);
	print_message("# real speech: %zu files, %.0f s: %zu dtmf, %zu tones, %zu beeps, %zu music, "
		      "%zu repeats\n", t.files, t.seconds, t.dtmf, t.tones, t.beeps, t.music,
		      t.repeats);
	assert_true(t.files >= 10);
	if (t.dtmf || t.tones || t.beeps || t.music || t.repeats)
		fail_msg("talk-off in real speech: %zu dtmf, %zu tones, %zu beeps, %zu music, %zu "
			 "repeats (first: %s)", t.dtmf, t.tones, t.beeps, t.music, t.repeats, t.first);
}

static void test_talkoff_real_music(void **state)
{
	(void)state;
	const char *dir = "/usr/share/asterisk/moh";
	struct stat st;
	if (stat(dir, &st) != 0) {
		print_message("# skip: %s absent (Debian asterisk-moh-opsound-wav)\n", dir);
		skip();
	}
	static const char *const ext[] = {".wav", NULL};
	struct talkoff t = {0};
	scan_dir(dir, ext, &t);
	print_message("# music on hold: %zu files, %.0f s: %zu dtmf, %zu tones, %zu beeps; music "
		      "%.0f s\n", t.files, t.seconds, t.dtmf, t.tones, t.beeps, t.music_seconds);
	assert_true(t.files >= 1);
	if (t.dtmf || t.tones || t.beeps)
		fail_msg("talk-off in music: %zu dtmf, %zu tones, %zu beeps (first: %s)", t.dtmf,
			 t.tones, t.beeps, t.first);
	assert_true(t.music_seconds >= 0.6 * t.seconds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtmf_every_digit),
		cmocka_unit_test(test_dtmf_q24_limits),
		cmocka_unit_test(test_dtmf_sequences),
		cmocka_unit_test(test_tone_table),
		cmocka_unit_test(test_sit_and_beep),
		cmocka_unit_test(test_music),
		cmocka_unit_test(test_prompt_repeat_and_known),
		cmocka_unit_test(test_call_spans_subtract),
		cmocka_unit_test(test_scan_crosstalk),
		cmocka_unit_test(test_talkoff_real_speech),
		cmocka_unit_test(test_talkoff_real_music),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

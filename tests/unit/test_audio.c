/*
 * test_audio.c — audio_decode_* against files made at run time with the
 * ffmpeg CLI (skipped when it is missing), and the wav module.
 *
 * The timing test writes a 3 s 44.1 kHz stereo WAV with a click at exactly
 * 1.000 s, encodes it to mp3/ogg/opus/m4a/flac and checks that the decoded
 * click is at 1.000 s ± 5 ms and the length within ± 30 ms of 3 s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audio/decode.h"
#include "audio/pcm.h"
#include "audio/wav.h"

#define CLICK_RATE 44100
#define CLICK_SECONDS 3

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
	snprintf(fx->dir, sizeof(fx->dir), "%s/parley-audio-XXXXXX", base && *base ? base : "/tmp");
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

static void fx_path(const struct fx *fx, const char *name, char *out, size_t size)
{
	int len = snprintf(out, size, "%s/%s", fx->dir, name);
	assert_true(len > 0 && (size_t)len < size);
}

/* ---- helpers ---- */

static bool have_tool(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(len > 0 && (size_t)len < sizeof(cmd));
	return system(cmd);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	void *buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/* Copy the first len bytes of from into to. */
static void truncate_copy(const char *from, const char *to, size_t len)
{
	size_t all;
	void *data = read_bytes(from, &all);
	write_bytes(to, data, len < all ? len : all);
	free(data);
}

static size_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* A 16-bit PCM WAV with any channel count, interleaved samples. */
static void write_wav_any(const char *path, const int16_t *s, size_t frames, int channels, int rate)
{
	uint32_t data = (uint32_t)(frames * (size_t)channels * 2);
	uint8_t h[44];
	memcpy(h, "RIFF", 4);
	uint32_t v32 = 36 + data;
	memcpy(h + 4, &v32, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	v32 = 16;
	memcpy(h + 16, &v32, 4);
	uint16_t v16 = 1;
	memcpy(h + 20, &v16, 2);
	v16 = (uint16_t)channels;
	memcpy(h + 22, &v16, 2);
	v32 = (uint32_t)rate;
	memcpy(h + 24, &v32, 4);
	v32 = (uint32_t)(rate * channels * 2);
	memcpy(h + 28, &v32, 4);
	v16 = (uint16_t)(channels * 2);
	memcpy(h + 32, &v16, 2);
	v16 = 16;
	memcpy(h + 34, &v16, 2);
	memcpy(h + 36, "data", 4);
	memcpy(h + 40, &data, 4);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(h, 1, 44, f), 44);
	if (frames)
		assert_int_equal(fwrite(s, 2, frames * (size_t)channels, f), frames * (size_t)channels);
	assert_int_equal(fclose(f), 0);
}

/* 3 s stereo 44.1 kHz silence with a click (+/- pair) at exactly 1.000 s. */
static void write_click_wav(const char *path)
{
	size_t frames = (size_t)CLICK_RATE * CLICK_SECONDS;
	int16_t *s = calloc(frames * 2, sizeof(int16_t));
	assert_non_null(s);
	for (int c = 0; c < 2; c++) {
		s[CLICK_RATE * 2 + c] = 30000;
		s[(CLICK_RATE + 1) * 2 + c] = -30000;
	}
	write_wav_any(path, s, frames, 2, CLICK_RATE);
	free(s);
}

static double peak_seconds(const struct pcm *p)
{
	size_t best = 0;
	int peak = -1;
	for (size_t i = 0; i < p->n; i++) {
		int v = abs(p->samples[i]);
		if (v > peak) {
			peak = v;
			best = i;
		}
	}
	return (double)best / p->rate;
}

static enum parley_err decode(const char *path, struct pcm *out, struct parley_error *err)
{
	struct audio_decode_params p = audio_decode_default_params();
	memset(err, 0, sizeof(*err));
	return audio_decode_file(path, &p, out, err);
}

/* Decoding fails with code, and the message names the file and says why. */
static void expect_fail(const char *path, enum parley_err code, const char *phrase)
{
	struct pcm pcm;
	struct parley_error err;
	enum parley_err rc = decode(path, &pcm, &err);
	if (rc != code || !strstr(err.msg, phrase) || !strstr(err.msg, path))
		print_error("%s: got %s \"%s\", want %s \"%s\"\n", path, parley_err_name(rc), err.msg,
			    parley_err_name(code), phrase);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, phrase));
	assert_null(pcm.samples);
	assert_int_equal(pcm.n, 0);
}

#define REQUIRE_FFMPEG()                                                              \
	do {                                                                          \
		if (!have_tool("ffmpeg")) {                                           \
			print_message("ffmpeg CLI not found: skipping\n");            \
			skip();                                                       \
		}                                                                     \
	} while (0)

/* ---- decode: timing ---- */

static void test_click_timing(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	static const struct {
		const char *ext, *args;
	} fmts[] = {
		{"mp3", "-c:a libmp3lame -b:a 128k"},
		{"ogg", "-c:a libvorbis -q:a 4"},
		{"opus", "-c:a libopus -b:a 64k"},
		{"m4a", "-c:a aac -b:a 128k"},
		{"flac", "-c:a flac"},
		{"wav", "-c:a pcm_s16le"},
	};
	char wav[512], enc[512];
	fx_path(fx, "click.wav", wav, sizeof(wav));
	write_click_wav(wav);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "click-enc.%s", fmts[i].ext);
		fx_path(fx, name, enc, sizeof(enc));
		if (run("ffmpeg -nostdin -v error -y -i '%s' %s '%s'", wav, fmts[i].args, enc) != 0) {
			print_message("ffmpeg cannot encode %s here: not tested\n", fmts[i].ext);
			continue;
		}
		struct pcm pcm;
		struct parley_error err;
		assert_int_equal(decode(enc, &pcm, &err), PARLEY_OK);
		assert_int_equal(pcm.rate, 16000);
		double click = peak_seconds(&pcm), len = pcm_seconds(&pcm);
		print_message("%-5s click at %.4f s (%+.1f ms), length %.4f s (%+.1f ms)\n",
			      fmts[i].ext, click, (click - 1.0) * 1000, len,
			      (len - CLICK_SECONDS) * 1000);
		assert_true(fabs(click - 1.0) <= 0.005);
		assert_true(fabs(len - CLICK_SECONDS) <= 0.030);
		pcm_release(&pcm);
	}
}

/* The decoded buffer is downmixed and resampled to the requested rate. */
static void test_downmix_and_rate(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "left-only.wav", path, sizeof(path));
	size_t frames = 44100;
	int16_t *s = calloc(frames * 2, sizeof(int16_t));
	assert_non_null(s);
	for (size_t i = 0; i < frames; i++)
		s[2 * i] = (int16_t)(16000 * sin(2 * M_PI * 440.0 * (double)i / 44100));
	write_wav_any(path, s, frames, 2, 44100);
	free(s);

	static const int rates[] = {8000, 16000, 22050, 48000};
	for (size_t r = 0; r < 4; r++) {
		struct audio_decode_params p = audio_decode_default_params();
		p.rate = rates[r];
		struct pcm pcm;
		struct parley_error err = {0};
		assert_int_equal(audio_decode_file(path, &p, &pcm, &err), PARLEY_OK);
		assert_int_equal(pcm.rate, rates[r]);
		assert_true(labs((long)pcm.n - rates[r]) <= 2);
		int peak = 0;
		for (size_t i = 0; i < pcm.n; i++)
			peak = abs(pcm.samples[i]) > peak ? abs(pcm.samples[i]) : peak;
		/* stereo → mono is (L + R) / 2: a left-only tone halves */
		assert_true(peak > 7500 && peak < 8500);
		pcm_release(&pcm);
	}

	/* 3 channels with no channel mask (unknown layout): equal weights */
	fx_path(fx, "three.wav", path, sizeof(path));
	s = calloc(16000 * 3, sizeof(int16_t));
	assert_non_null(s);
	for (size_t i = 0; i < 16000; i++)
		s[3 * i] = (int16_t)(12000 * sin(2 * M_PI * 440.0 * (double)i / 16000));
	write_wav_any(path, s, 16000, 3, 16000);
	free(s);
	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file(path, NULL, &pcm, &err), PARLEY_OK);
	int peak = 0;
	for (size_t i = 0; i < pcm.n; i++)
		peak = abs(pcm.samples[i]) > peak ? abs(pcm.samples[i]) : peak;
	assert_true(peak > 3900 && peak < 4100);
	pcm_release(&pcm);
}

static int peak_of(const struct pcm *pcm)
{
	int peak = 0;
	for (size_t i = 0; i < pcm->n; i++)
		peak = abs(pcm->samples[i]) > peak ? abs(pcm->samples[i]) : peak;
	return peak;
}

/* Kept channels: each source channel alone, resampled, mix's length; a
 * mono source keeps none; max_channels caps the count. */
static void test_keep_channels(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "lr.wav", path, sizeof(path));
	size_t frames = 8000; /* 1 s at 8 kHz: left a tone, right silent, third loud */
	int16_t *s = calloc(frames * 3, sizeof(int16_t));
	assert_non_null(s);
	for (size_t i = 0; i < frames; i++) {
		s[3 * i] = (int16_t)(10000 * sin(2 * M_PI * 440.0 * (double)i / 8000));
		s[3 * i + 2] = (int16_t)(20000 * sin(2 * M_PI * 300.0 * (double)i / 8000));
	}
	write_wav_any(path, s, frames, 3, 8000);
	free(s);
	struct pcm mix;
	struct audio_channels ch;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file_channels(path, NULL, &mix, &ch, &err), PARLEY_OK);
	assert_int_equal(ch.n, 3);
	for (int c = 0; c < 3; c++) {
		assert_int_equal(ch.ch[c].n, mix.n);
		assert_int_equal(ch.ch[c].rate, 16000);
	}
	assert_true(peak_of(&ch.ch[0]) > 9500 && peak_of(&ch.ch[0]) < 10500);
	assert_int_equal(peak_of(&ch.ch[1]), 0);
	assert_true(peak_of(&ch.ch[2]) > 19000 && peak_of(&ch.ch[2]) < 21000);
	pcm_release(&mix);
	audio_channels_release(&ch);
	assert_int_equal(ch.n, 0);

	struct audio_decode_params p = audio_decode_default_params();
	p.max_channels = 2;
	assert_int_equal(audio_decode_file_channels(path, &p, &mix, &ch, &err), PARLEY_OK);
	assert_int_equal(ch.n, 2);
	assert_null(ch.ch[2].samples);
	pcm_release(&mix);
	audio_channels_release(&ch);

	fx_path(fx, "mono.wav", path, sizeof(path));
	s = calloc(8000, sizeof(int16_t));
	assert_non_null(s);
	write_wav_any(path, s, 8000, 1, 8000);
	free(s);
	assert_int_equal(audio_decode_file_channels(path, NULL, &mix, &ch, &err), PARLEY_OK);
	assert_int_equal(ch.n, 0);
	assert_true(mix.n > 15990);
	pcm_release(&mix);
	audio_channels_release(&ch);

	fx_path(fx, "missing.wav", path, sizeof(path));
	assert_int_equal(audio_decode_file_channels(path, NULL, &mix, &ch, &err), PARLEY_ERR_IO);
	assert_int_equal(ch.n, 0);
	assert_int_equal(audio_decode_file_channels(path, NULL, &mix, NULL, &err),
			 PARLEY_ERR_INVALID);
}

/* 16 kHz mono s16 in, same out: sample-exact. */
static void test_passthrough_exact(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "exact.wav", path, sizeof(path));
	struct pcm in = {.n = 16000, .rate = 16000};
	in.samples = malloc(in.n * sizeof(int16_t));
	assert_non_null(in.samples);
	uint32_t x = 1;
	for (size_t i = 0; i < in.n; i++) {
		x = x * 1103515245u + 12345u;
		in.samples[i] = (int16_t)(x >> 16);
	}
	struct parley_error err = {0};
	assert_int_equal(wav_write(path, &in, &err), PARLEY_OK);
	struct pcm out;
	assert_int_equal(decode(path, &out, &err), PARLEY_OK);
	assert_int_equal(out.n, in.n);
	assert_memory_equal(out.samples, in.samples, in.n * sizeof(int16_t));
	pcm_release(&out);
	pcm_release(&in);
}

static void test_multichannel(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "six.flac", path, sizeof(path));
	assert_int_equal(run("ffmpeg -nostdin -v error -y -f lavfi -i sine=f=300:d=1:r=48000 "
			     "-af 'pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0' '%s'", path), 0);
	struct pcm pcm;
	struct parley_error err;
	assert_int_equal(decode(path, &pcm, &err), PARLEY_OK);
	assert_true(labs((long)pcm.n - 16000) <= 2);
	int peak = 0;
	for (size_t i = 0; i < pcm.n; i++)
		peak = abs(pcm.samples[i]) > peak ? abs(pcm.samples[i]) : peak;
	assert_true(peak > 1000);
	pcm_release(&pcm);
}

/* ---- decode: bad and odd input ---- */

static void test_empty_file(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "empty.wav", path, sizeof(path));
	write_bytes(path, "", 0);
	expect_fail(path, PARLEY_ERR_EMPTY, "file is empty (0 bytes)");

	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_memory("", 0, "chunk-0", NULL, &pcm, &err), PARLEY_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "chunk-0: input is empty (0 bytes)"));
}

static void test_header_only_wav(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "header-only.wav", path, sizeof(path));
	write_wav_any(path, NULL, 0, 1, 16000);
	assert_int_equal(file_size(path), 44);
	expect_fail(path, PARLEY_ERR_EMPTY, "contains no audio samples");
}

/* The warnings a decode gave (p.warn): how many, and the last one. */
struct warnings {
	int n;
	char last[AUDIO_DECODE_WARN_MAX];
};

static void note_warning(const char *message, void *user_data)
{
	struct warnings *w = user_data;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", message);
}

static enum parley_err decode_warn(const char *path, struct pcm *out, struct warnings *w)
{
	struct audio_decode_params p = audio_decode_default_params();
	struct parley_error err = {0};
	memset(w, 0, sizeof(*w));
	p.warn = note_warning;
	p.user_data = w;
	return audio_decode_file(path, &p, out, &err);
}

static void test_truncated_wav(void **state)
{
	struct fx *fx = *state;
	char full[512], cut[512];
	fx_path(fx, "click.wav", full, sizeof(full));
	fx_path(fx, "cut.wav", cut, sizeof(cut));
	write_click_wav(full);
	truncate_copy(full, cut, file_size(full) / 2);
	struct pcm pcm;
	struct parley_error err;
	/* decision: the audio that is there is kept (see decode.h) */
	assert_int_equal(decode(cut, &pcm, &err), PARLEY_OK);
	assert_true(fabs(pcm_seconds(&pcm) - 1.5) < 0.01);
	assert_true(fabs(peak_seconds(&pcm) - 1.0) < 0.005);
	pcm_release(&pcm);

	/* ... with a warning saying what the header promised and what is there */
	struct warnings w;
	assert_int_equal(decode_warn(cut, &pcm, &w), PARLEY_OK);
	print_message("%s\n", w.last);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, cut));
	assert_non_null(strstr(w.last, "promises 3.0 s"));
	assert_non_null(strstr(w.last, "holds 1.5 s"));
	pcm_release(&pcm);
	/* the whole file: no warning */
	assert_int_equal(decode_warn(full, &pcm, &w), PARLEY_OK);
	assert_int_equal(w.n, 0);
	pcm_release(&pcm);
	/* a data size of 0xFFFFFFFF (a recorder that never fixed its header)
	 * promises nothing: no warning */
	size_t len;
	uint8_t *bytes = read_bytes(full, &len);
	memset(bytes + 40, 0xff, 4);
	write_bytes(cut, bytes, len / 2);
	free(bytes);
	assert_int_equal(decode_warn(cut, &pcm, &w), PARLEY_OK);
	assert_int_equal(w.n, 0);
	pcm_release(&pcm);

	/* cut inside the header: nothing usable */
	truncate_copy(full, cut, 30);
	expect_fail(cut, PARLEY_ERR_AUDIO, "");
}

static void test_truncated_mp3(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char wav[512], mp3[512], cut[512];
	fx_path(fx, "click.wav", wav, sizeof(wav));
	fx_path(fx, "click.mp3", mp3, sizeof(mp3));
	fx_path(fx, "cut.mp3", cut, sizeof(cut));
	write_click_wav(wav);
	assert_int_equal(run("ffmpeg -nostdin -v error -y -i '%s' -b:a 128k '%s'", wav, mp3), 0);
	/* cut in half, and cut mid-frame at an odd size */
	static const double fractions[] = {0.5, 0.77};
	for (size_t i = 0; i < 2; i++) {
		truncate_copy(mp3, cut, (size_t)(file_size(mp3) * fractions[i]) | 1);
		struct pcm pcm;
		struct parley_error err;
		assert_int_equal(decode(cut, &pcm, &err), PARLEY_OK);
		double want = CLICK_SECONDS * fractions[i];
		print_message("mp3 cut to %.0f%%: %.3f s decoded\n", fractions[i] * 100,
			      pcm_seconds(&pcm));
		assert_true(fabs(pcm_seconds(&pcm) - want) < 0.15);
		assert_true(fabs(peak_seconds(&pcm) - 1.0) < 0.005);
		pcm_release(&pcm);
		/* its Xing/LAME tag states 3 s: a warning naming the mp3 header */
		struct warnings w;
		assert_int_equal(decode_warn(cut, &pcm, &w), PARLEY_OK);
		print_message("%s\n", w.last);
		assert_int_equal(w.n, 1);
		assert_non_null(strstr(w.last, "mp3 header promises 3.0 s"));
		pcm_release(&pcm);
	}
	struct warnings w;
	struct pcm pcm;
	assert_int_equal(decode_warn(mp3, &pcm, &w), PARLEY_OK);
	assert_int_equal(w.n, 0);
	pcm_release(&pcm);
}

static void test_cut_m4a_header(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char wav[512], m4a[512], cut[512];
	fx_path(fx, "click.wav", wav, sizeof(wav));
	fx_path(fx, "click.m4a", m4a, sizeof(m4a));
	fx_path(fx, "cut.m4a", cut, sizeof(cut));
	write_click_wav(wav);
	/* ffmpeg writes the moov box at the end: cutting the file loses it */
	assert_int_equal(run("ffmpeg -nostdin -v error -y -i '%s' -c:a aac '%s'", wav, m4a), 0);
	truncate_copy(m4a, cut, file_size(m4a) * 2 / 3);
	expect_fail(cut, PARLEY_ERR_AUDIO, "damaged or incomplete mov file");
}

static void test_random_bytes(void **state)
{
	struct fx *fx = *state;
	char path[512];
	uint8_t buf[16384];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	fx_path(fx, "random.bin", path, sizeof(path));
	write_bytes(path, buf, sizeof(buf));
	expect_fail(path, PARLEY_ERR_AUDIO, "not an audio file");
}

static void test_text_named_wav(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "notes.wav", path, sizeof(path));
	const char *text = "Meeting notes\nCall Mr Tan back about the invoice on Tuesday.\n";
	write_bytes(path, text, strlen(text));
	expect_fail(path, PARLEY_ERR_AUDIO,
		    "not an audio file (ffmpeg: Invalid data found when processing input)");
}

static void test_wrong_extension(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char wav[512], mp3[512], named[512];
	fx_path(fx, "click.wav", wav, sizeof(wav));
	fx_path(fx, "click.mp3", mp3, sizeof(mp3));
	fx_path(fx, "really-an-mp3.wav", named, sizeof(named));
	write_click_wav(wav);
	assert_int_equal(run("ffmpeg -nostdin -v error -y -i '%s' '%s'", wav, mp3), 0);
	assert_int_equal(rename(mp3, named), 0);
	struct pcm pcm;
	struct parley_error err;
	assert_int_equal(decode(named, &pcm, &err), PARLEY_OK);
	assert_true(fabs(peak_seconds(&pcm) - 1.0) <= 0.005);
	pcm_release(&pcm);
}

static void test_png_image(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char png[512], named[512];
	fx_path(fx, "photo.png", png, sizeof(png));
	fx_path(fx, "photo.mp3", named, sizeof(named));
	assert_int_equal(run("ffmpeg -nostdin -v error -y -f lavfi -i color=red:s=32x32 "
			     "-frames:v 1 '%s'", png), 0);
	expect_fail(png, PARLEY_ERR_AUDIO, "not an audio file");
	assert_int_equal(rename(png, named), 0);
	expect_fail(named, PARLEY_ERR_AUDIO, "not an audio file");
}

static void test_video_without_audio(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "video.mp4", path, sizeof(path));
	assert_int_equal(run("ffmpeg -nostdin -v error -y -f lavfi -i testsrc=s=64x64:d=1 "
			     "-pix_fmt yuv420p '%s'", path), 0);
	expect_fail(path, PARLEY_ERR_EMPTY, "no audio stream");
}

static void test_cannot_open(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "missing.wav", path, sizeof(path));
	expect_fail(path, PARLEY_ERR_IO, "cannot open (No such file or directory)");
	expect_fail(fx->dir, PARLEY_ERR_IO, "is a directory");

	/* a path is never an FFmpeg URL */
	struct pcm pcm;
	struct parley_error err;
	assert_int_equal(decode("concat:/etc/passwd|/etc/passwd", &pcm, &err), PARLEY_ERR_IO);
}

static void test_bad_params(void **state)
{
	(void)state;
	struct audio_decode_params p = audio_decode_default_params();
	assert_int_equal(p.rate, 16000);
	assert_true(p.max_seconds == 4 * 3600);
	struct pcm pcm;
	struct parley_error err = {0};
	p.rate = 0;
	assert_int_equal(audio_decode_memory("abc", 3, "x", &p, &pcm, &err), PARLEY_ERR_INVALID);
	p = audio_decode_default_params();
	p.max_seconds = 0;
	assert_int_equal(audio_decode_memory("abc", 3, "x", &p, &pcm, &err), PARLEY_ERR_INVALID);
	assert_int_equal(audio_decode_file(NULL, NULL, &pcm, &err), PARLEY_ERR_INVALID);
	assert_int_equal(audio_decode_memory(NULL, 3, NULL, NULL, &pcm, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "input"));
}

static void test_too_long(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "click.wav", path, sizeof(path));
	write_click_wav(path);
	struct audio_decode_params p = audio_decode_default_params();
	p.max_seconds = 1.0;
	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file(path, &p, &pcm, &err), PARLEY_ERR_TOO_LARGE);
	assert_non_null(strstr(err.msg, "longer than"));
	assert_null(pcm.samples);
}

static bool abort_now(void *user_data)
{
	int *calls = user_data;
	return ++*calls > 3;
}

static void test_abort(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "click.wav", path, sizeof(path));
	write_click_wav(path);
	int calls = 0;
	struct audio_decode_params p = audio_decode_default_params();
	p.abort = abort_now;
	p.user_data = &calls;
	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file(path, &p, &pcm, &err), PARLEY_ERR_ABORTED);
	assert_null(pcm.samples);
}

static void count_progress(double seconds, void *user_data)
{
	double *last = user_data;
	assert_true(seconds >= *last);
	*last = seconds;
}

static void test_progress(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "click.wav", path, sizeof(path));
	write_click_wav(path);
	double last = -1;
	struct audio_decode_params p = audio_decode_default_params();
	p.progress = count_progress;
	p.user_data = &last;
	struct pcm pcm;
	struct parley_error err = {0};
	assert_int_equal(audio_decode_file(path, &p, &pcm, &err), PARLEY_OK);
	assert_true(last >= 0 && last <= pcm_seconds(&pcm));
	pcm_release(&pcm);
}

static void test_memory_matches_file(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char ogg[512];
	fx_path(fx, "tone.ogg", ogg, sizeof(ogg));
	assert_int_equal(run("ffmpeg -nostdin -v error -y -f lavfi -i sine=f=440:d=10 "
			     "-c:a libvorbis '%s'", ogg), 0);
	struct pcm a, b;
	struct parley_error err;
	assert_int_equal(decode(ogg, &a, &err), PARLEY_OK);
	size_t len;
	void *data = read_bytes(ogg, &len);
	assert_int_equal(audio_decode_memory(data, len, "upload.bin", NULL, &b, &err), PARLEY_OK);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.samples, b.samples, a.n * sizeof(int16_t));
	pcm_release(&b);

	/* truncated in memory too: keep what is there */
	assert_int_equal(audio_decode_memory(data, len / 2, "half.ogg", NULL, &b, &err), PARLEY_OK);
	assert_true(b.n > a.n / 5 && b.n < a.n * 2 / 3); /* whole ogg pages only */
	pcm_release(&b);
	free(data);
	pcm_release(&a);
}

struct thread_job {
	const char *path;
	struct pcm pcm;
	enum parley_err rc;
};

static void *thread_decode(void *arg)
{
	struct thread_job *t = arg;
	struct parley_error err = {0};
	t->rc = audio_decode_file(t->path, NULL, &t->pcm, &err);
	return NULL;
}

static void test_threads(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char wav[512], mp3[512];
	fx_path(fx, "click.wav", wav, sizeof(wav));
	fx_path(fx, "click.mp3", mp3, sizeof(mp3));
	write_click_wav(wav);
	assert_int_equal(run("ffmpeg -nostdin -v error -y -i '%s' '%s'", wav, mp3), 0);
	enum { N = 6 };
	pthread_t th[N];
	struct thread_job jobs[N];
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct thread_job){.path = i % 2 ? mp3 : wav};
		assert_int_equal(pthread_create(&th[i], NULL, thread_decode, &jobs[i]), 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(jobs[i].rc, PARLEY_OK);
		assert_int_equal(jobs[i].pcm.n, jobs[i % 2].pcm.n);
		assert_memory_equal(jobs[i].pcm.samples, jobs[i % 2].pcm.samples,
				    jobs[i].pcm.n * sizeof(int16_t));
	}
	for (int i = 0; i < N; i++)
		pcm_release(&jobs[i].pcm);
}

/* ---- wav ---- */

static struct pcm ramp(size_t n, int rate)
{
	struct pcm p = {.n = n, .rate = rate};
	p.samples = malloc((n ? n : 1) * sizeof(int16_t));
	assert_non_null(p.samples);
	for (size_t i = 0; i < n; i++)
		p.samples[i] = (int16_t)((int)(i * 37) - 32768);
	return p;
}

static void test_wav_roundtrip(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "seg.wav", path, sizeof(path));
	struct pcm in = ramp(12345, 16000), out;
	struct parley_error err = {0};
	assert_int_equal(wav_write(path, &in, &err), PARLEY_OK);
	assert_int_equal(file_size(path), 44 + 12345 * 2);
	assert_int_equal(wav_read(path, &out, &err), PARLEY_OK);
	assert_int_equal(out.rate, 16000);
	assert_int_equal(out.n, in.n);
	assert_memory_equal(out.samples, in.samples, in.n * sizeof(int16_t));
	pcm_release(&out);

	/* overwrite with a cut; no temporary file is left behind */
	assert_int_equal(wav_write_range(path, &in, 100, 200, &err), PARLEY_OK);
	assert_int_equal(wav_read(path, &out, &err), PARLEY_OK);
	assert_int_equal(out.n, 100);
	assert_memory_equal(out.samples, in.samples + 100, 100 * sizeof(int16_t));
	pcm_release(&out);
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(access(tmp, F_OK), -1);

	/* an empty cut is a valid, empty WAV */
	assert_int_equal(wav_write_range(path, &in, 7, 7, &err), PARLEY_OK);
	assert_int_equal(wav_read(path, &out, &err), PARLEY_OK);
	assert_int_equal(out.n, 0);
	assert_null(out.samples);

	assert_int_equal(wav_write_range(path, &in, 200, 100, &err), PARLEY_ERR_INVALID);
	assert_int_equal(wav_write_range(path, &in, 0, in.n + 1, &err), PARLEY_ERR_INVALID);
	assert_non_null(strstr(err.msg, "outside the audio"));
	pcm_release(&in);
}

static void test_wav_write_errors(void **state)
{
	struct fx *fx = *state;
	char path[512];
	struct pcm in = ramp(50000, 16000);
	struct parley_error err = {0};

	fx_path(fx, "no/such/dir/x.wav", path, sizeof(path));
	assert_int_equal(wav_write(path, &in, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "No such file or directory"));

	/* "disk full": a file size limit makes write() fail with EFBIG */
	fx_path(fx, "full.wav", path, sizeof(path));
	struct rlimit old, small = {.rlim_cur = 4096};
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	enum parley_err rc = wav_write(path, &in, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	assert_int_equal(rc, PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "cannot write"));
	assert_int_equal(access(path, F_OK), -1); /* destination untouched */
	DIR *d = opendir(fx->dir);                 /* no temporary left */
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		assert_null(strstr(e->d_name, "full.wav"));
	closedir(d);

	struct pcm bad = in;
	bad.rate = 0;
	assert_int_equal(wav_write(path, &bad, &err), PARLEY_ERR_INVALID);
	pcm_release(&in);
}

/* Patch bytes of a valid parley WAV and expect wav_read to refuse it. */
static void expect_wav_read_fail(const char *path, size_t off, const void *bytes, size_t len,
				 size_t truncate_to, enum parley_err code, const char *phrase)
{
	struct pcm in = ramp(1000, 16000), out;
	struct parley_error err = {0};
	assert_int_equal(wav_write(path, &in, &err), PARLEY_OK);
	size_t size;
	uint8_t *data = read_bytes(path, &size);
	if (bytes)
		memcpy(data + off, bytes, len);
	write_bytes(path, data, truncate_to ? truncate_to : size);
	free(data);
	enum parley_err rc = wav_read(path, &out, &err);
	if (rc != code || !strstr(err.msg, phrase))
		print_error("got %s \"%s\", want \"%s\"\n", parley_err_name(rc), err.msg, phrase);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err.msg, phrase));
	assert_non_null(strstr(err.msg, path));
	assert_null(out.samples);
	pcm_release(&in);
}

static void test_wav_read_strict(void **state)
{
	struct fx *fx = *state;
	char path[512];
	fx_path(fx, "x.wav", path, sizeof(path));
	const uint16_t two = 2, three = 3, eight = 8;
	const uint32_t huge = 1u << 30;
	expect_wav_read_fail(path, 0, "RIFX", 4, 0, PARLEY_ERR_AUDIO, "not a WAV file");
	expect_wav_read_fail(path, 8, "AVI ", 4, 0, PARLEY_ERR_AUDIO, "not a WAV file");
	expect_wav_read_fail(path, 20, &three, 2, 0, PARLEY_ERR_AUDIO, "format tag 3");
	expect_wav_read_fail(path, 22, &two, 2, 0, PARLEY_ERR_AUDIO, "2 channels");
	expect_wav_read_fail(path, 34, &eight, 2, 0, PARLEY_ERR_AUDIO, "8 bits");
	expect_wav_read_fail(path, 32, &eight, 2, 0, PARLEY_ERR_AUDIO, "inconsistent fmt");
	expect_wav_read_fail(path, 4, &huge, 4, 0, PARLEY_ERR_AUDIO, "truncated");
	expect_wav_read_fail(path, 40, &huge, 4, 0, PARLEY_ERR_AUDIO, "truncated");
	expect_wav_read_fail(path, 0, NULL, 0, 1000, PARLEY_ERR_AUDIO, "truncated");
	expect_wav_read_fail(path, 0, NULL, 0, 20, PARLEY_ERR_AUDIO, "truncated");
	expect_wav_read_fail(path, 0, NULL, 0, 6, PARLEY_ERR_AUDIO, "not a WAV file");
	expect_wav_read_fail(path, 36, "LIST", 4, 0, PARLEY_ERR_AUDIO, "no data chunk");

	struct pcm out;
	struct parley_error err = {0};
	fx_path(fx, "missing.wav", path, sizeof(path));
	assert_int_equal(wav_read(path, &out, &err), PARLEY_ERR_IO);
	assert_non_null(strstr(err.msg, "cannot open"));
}

/* A WAV with extra chunks (as sox/ffmpeg write them) is still read. */
static void test_wav_read_skips_chunks(void **state)
{
	REQUIRE_FFMPEG();
	struct fx *fx = *state;
	char src[512], path[512];
	fx_path(fx, "src.wav", src, sizeof(src));
	fx_path(fx, "tagged.wav", path, sizeof(path));
	struct pcm in = ramp(4000, 16000), out;
	struct parley_error err = {0};
	assert_int_equal(wav_write(src, &in, &err), PARLEY_OK);
	assert_int_equal(run("ffmpeg -nostdin -v error -y -i '%s' -metadata title=hello "
			     "-c:a pcm_s16le '%s'", src, path), 0);
	assert_true(file_size(path) > 44 + 8000);
	assert_int_equal(wav_read(path, &out, &err), PARLEY_OK);
	assert_int_equal(out.n, in.n);
	assert_memory_equal(out.samples, in.samples, in.n * sizeof(int16_t));
	pcm_release(&out);
	pcm_release(&in);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_click_timing),
		T(test_downmix_and_rate),
		T(test_passthrough_exact),
		T(test_keep_channels),
		T(test_multichannel),
		T(test_empty_file),
		T(test_header_only_wav),
		T(test_truncated_wav),
		T(test_truncated_mp3),
		T(test_cut_m4a_header),
		T(test_random_bytes),
		T(test_text_named_wav),
		T(test_wrong_extension),
		T(test_png_image),
		T(test_video_without_audio),
		T(test_cannot_open),
		T(test_bad_params),
		T(test_too_long),
		T(test_abort),
		T(test_progress),
		T(test_memory_matches_file),
		T(test_threads),
		T(test_wav_roundtrip),
		T(test_wav_write_errors),
		T(test_wav_read_strict),
		T(test_wav_read_skips_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

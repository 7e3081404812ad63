/* vad.c — see vad.h. */
#include "dsp/vad.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/pitch.h"

/*
 * libwebrtc-audio-processing 0.3 exports these C functions but installs no
 * header for them. Prototypes as in webrtc/common_audio/vad/include/
 * webrtc_vad.h of that release (2016), checked against the Debian 12 .so:
 * WebRtcVad_Create() takes no argument and returns the malloc'd instance,
 * WebRtcVad_Free() is a plain free(), and WebRtcVad_Process() compares
 * frame_length as a 64-bit size_t. Returns: Init/set_mode 0 or -1;
 * Process 1 (speech), 0 (no speech), -1 (error).
 */
typedef struct WebRtcVadInst VadInst;
VadInst *WebRtcVad_Create(void);
void WebRtcVad_Free(VadInst *handle);
int WebRtcVad_Init(VadInst *handle);
int WebRtcVad_set_mode(VadInst *handle, int mode);
int WebRtcVad_Process(VadInst *handle, int fs, const int16_t *audio_frame, size_t frame_length);

#define OPEN_MS 90      /* consecutive speech needed to open a region */
#define MAX_FRAME 1440  /* 30 ms at 48 kHz */
#define VOICED_STEP_MS 20 /* pitch looked for every 20 ms (min_voiced) */
#define HANGOVER_DB 6.0 /* trailing "speech" this close to the noise is hangover */

struct vad_params vad_default_params(void)
{
	return (struct vad_params){
		.mode = 2,
		.frame_ms = 30,
		.min_speech = 0.25,
		.min_silence = 0.3,
		.pad = 0.1,
		.energy_floor_db = -55.0,
		.min_voiced = 0.2,
	};
}

struct region_list {
	struct vad_region *v;
	size_t n, cap;
};

static bool region_push(struct region_list *l, double start, double end)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct vad_region *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return false;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->n++;
	return true;
}

static bool rate_supported(int rate)
{
	return rate == 8000 || rate == 16000 || rate == 32000 || rate == 48000;
}

static enum parley_err check_params(const struct pcm *pcm, const struct vad_params *p,
				    struct parley_error *err)
{
	if (!rate_supported(pcm->rate))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"VAD needs 8, 16, 32 or 48 kHz audio, got %d Hz", pcm->rate);
	if (pcm->n > 0 && !pcm->samples)
		return parley_error_set(err, PARLEY_ERR_INVALID, "VAD: audio has no sample buffer");
	if (p->mode < 0 || p->mode > 3)
		return parley_error_set(err, PARLEY_ERR_INVALID, "VAD mode must be 0..3, got %d",
					p->mode);
	if (p->frame_ms != 10 && p->frame_ms != 20 && p->frame_ms != 30)
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"VAD frame must be 10, 20 or 30 ms, got %d", p->frame_ms);
	if (!(p->min_speech >= 0 && p->min_speech < 3600) ||
	    !(p->min_silence >= 0 && p->min_silence < 3600) || !(p->pad >= 0 && p->pad < 3600))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"VAD min_speech, min_silence and pad must be 0..3600 s");
	if (!(p->energy_floor_db <= 0 && p->energy_floor_db >= -200))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"VAD energy_floor_db must be -200..0 dBFS, got %g",
					p->energy_floor_db);
	if (!(p->min_voiced >= 0 && p->min_voiced <= 1))
		return parley_error_set(err, PARLEY_ERR_INVALID,
					"VAD min_voiced must be 0..1, got %g", p->min_voiced);
	return PARLEY_OK;
}

/* Frame RMS in dBFS (digital silence → -INFINITY). */
static double frame_dbfs(const int16_t *s, size_t len)
{
	int64_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += (int32_t)s[i] * s[i];
	if (sum == 0)
		return -INFINITY;
	return 10.0 * log10((double)sum / (double)len / (32768.0 * 32768.0));
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/*
 * WebRTC keeps saying "speech" for ~100 ms after speech stops (its
 * hangover). When a region closes, the silence that closed it tells us the
 * noise level (median frame energy of those non-speech frames); trailing
 * frames within HANGOVER_DB of it are hangover, not speech, and are given
 * back. Never shrinks the region below the frames that opened it.
 */
static size_t trim_hangover(const float *db, size_t first, size_t last, size_t silence_from,
			    size_t silence_n, float *scratch)
{
	memcpy(scratch, db + silence_from, silence_n * sizeof(float));
	qsort(scratch, silence_n, sizeof(float), cmp_float);
	float noise = scratch[silence_n / 2];
	if (isinf(noise))
		return last; /* digital silence: the energy floor already cut it */
	while (last > first && db[last] < noise + HANGOVER_DB)
		last--;
	return last;
}

/*
 * Pass 1: frame decisions through the open/close state machine into raw
 * regions [first speech frame start, last speech frame end].
 */
static enum parley_err find_raw_regions(const struct pcm *pcm, const struct vad_params *p,
					struct region_list *raw, struct parley_error *err)
{
	const size_t flen = (size_t)pcm->rate / 1000 * (size_t)p->frame_ms;
	const double fdur = p->frame_ms / 1000.0;
	const size_t nframes = (pcm->n + flen - 1) / flen;
	const int open_frames = (OPEN_MS + p->frame_ms - 1) / p->frame_ms;
	const double close_frames_d = ceil(p->min_silence / fdur - 1e-9);
	const size_t close_frames = close_frames_d < 1 ? 1 : (size_t)close_frames_d;
	int16_t last[MAX_FRAME];
	enum parley_err rc = PARLEY_OK;

	float *db = malloc((nframes + close_frames) * sizeof(float)); /* + scratch */
	VadInst *vad = WebRtcVad_Create();
	if (!db || !vad) {
		free(db);
		WebRtcVad_Free(vad);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "VAD: out of memory");
	}
	float *scratch = db + nframes;
	if (WebRtcVad_Init(vad) != 0 || WebRtcVad_set_mode(vad, p->mode) != 0) {
		rc = parley_error_set(err, PARLEY_ERR_ENGINE, "VAD: WebRTC VAD failed to initialise");
		goto done;
	}

	bool in_speech = false;
	int run = 0;            /* consecutive speech frames while closed */
	size_t silent = 0;      /* consecutive non-speech frames while open */
	size_t start = 0, last_speech = 0;
	for (size_t f = 0; f < nframes; f++) {
		const int16_t *frame = pcm->samples + f * flen;
		size_t have = pcm->n - f * flen;
		if (have < flen) { /* zero-pad the final partial frame */
			memcpy(last, frame, have * sizeof(int16_t));
			memset(last + have, 0, (flen - have) * sizeof(int16_t));
			frame = last;
		}
		/* Always run WebRTC so its adaptive noise model sees every frame. */
		int v = WebRtcVad_Process(vad, pcm->rate, frame, flen);
		if (v < 0) {
			rc = parley_error_set(err, PARLEY_ERR_ENGINE,
					      "VAD: WebRTC VAD rejected frame %zu (%zu samples at %d Hz)",
					      f, flen, pcm->rate);
			goto done;
		}
		db[f] = (float)frame_dbfs(frame, flen);
		bool speech = v == 1 && db[f] >= p->energy_floor_db;

		if (!in_speech) {
			run = speech ? run + 1 : 0;
			if (run >= open_frames) {
				in_speech = true;
				start = f + 1 - (size_t)run;
				last_speech = f;
				silent = 0;
			}
		} else if (speech) {
			last_speech = f;
			silent = 0;
		} else if (++silent >= close_frames) {
			last_speech = trim_hangover(db, start + (size_t)open_frames - 1, last_speech,
						    f + 1 - silent, silent, scratch);
			if (!region_push(raw, start * fdur, (last_speech + 1) * fdur))
				goto nomem;
			in_speech = false;
			run = 0;
		}
	}
	if (in_speech && !region_push(raw, start * fdur, (last_speech + 1) * fdur))
		goto nomem;
done:
	WebRtcVad_Free(vad);
	free(db);
	return rc;
nomem:
	rc = parley_error_set(err, PARLEY_ERR_NOMEM, "VAD: out of memory");
	goto done;
}

/*
 * Pass 1b (in place): drop raw regions in which fewer than min_voiced of
 * the VOICED_STEP_MS-spaced frames have a pitch (dsp/pitch.h). Speech has
 * vowels; clicks, rustle, keyboards and breath noise that WebRTC takes for
 * speech mostly have none.
 */
static enum parley_err drop_unvoiced(const struct pcm *pcm, const struct vad_params *p,
				     struct region_list *l, struct parley_error *err)
{
	if (p->min_voiced <= 0.0 || l->n == 0)
		return PARLEY_OK;
	struct pitch *pt = pitch_new(pcm->rate, err);
	if (!pt)
		return err ? err->code : PARLEY_ERR_NOMEM;
	const size_t step = (size_t)pcm->rate * VOICED_STEP_MS / 1000;
	size_t out = 0;
	for (size_t i = 0; i < l->n; i++) {
		size_t a = (size_t)(l->v[i].start * pcm->rate), b = (size_t)(l->v[i].end * pcm->rate);
		size_t voiced = 0, total = 0;
		for (size_t c = a + step / 2; c < b && c < pcm->n; c += step, total++)
			voiced += pitch_at(pt, pcm->samples, pcm->n, c) > 0.0;
		if (total > 0 && (double)voiced < p->min_voiced * (double)total)
			continue;
		l->v[out++] = l->v[i];
	}
	l->n = out;
	pitch_free(pt);
	return PARLEY_OK;
}

/* Pass 2 (in place): drop short, pad, clip, merge. */
static void finish_regions(struct region_list *l, const struct vad_params *p, double duration)
{
	size_t out = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct vad_region r = l->v[i];
		if (r.end - r.start < p->min_speech - 1e-9)
			continue;
		r.start = r.start - p->pad < 0 ? 0 : r.start - p->pad;
		r.end = r.end + p->pad > duration ? duration : r.end + p->pad;
		if (r.end <= r.start)
			continue;
		if (out > 0 && r.start <= l->v[out - 1].end) {
			if (r.end > l->v[out - 1].end)
				l->v[out - 1].end = r.end;
			continue;
		}
		l->v[out++] = r;
	}
	l->n = out;
}

enum parley_err vad_detect(const struct pcm *pcm, const struct vad_params *p,
			   struct vad_region **regions, size_t *n, struct parley_error *err)
{
	const struct vad_params defaults = vad_default_params();
	struct region_list l = {0};
	if (regions)
		*regions = NULL;
	if (n)
		*n = 0;
	if (!pcm || !regions || !n)
		return parley_error_set(err, PARLEY_ERR_INVALID, "VAD: NULL argument");
	if (!p)
		p = &defaults;
	enum parley_err rc = check_params(pcm, p, err);
	if (rc)
		return rc;
	if (pcm->n == 0)
		return PARLEY_OK;

	rc = find_raw_regions(pcm, p, &l, err);
	if (rc) {
		free(l.v);
		return rc;
	}
	rc = drop_unvoiced(pcm, p, &l, err);
	if (rc) {
		free(l.v);
		return rc;
	}
	finish_regions(&l, p, pcm_seconds(pcm));
	if (l.n == 0) {
		free(l.v);
		return PARLEY_OK;
	}
	struct vad_region *shrunk = realloc(l.v, l.n * sizeof(*shrunk));
	*regions = shrunk ? shrunk : l.v;
	*n = l.n;
	return PARLEY_OK;
}

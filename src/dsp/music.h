/*
 * music.h — music (on hold, in a queue) in a call: long spans of sustained,
 * continuous tonal sound that is not speech.
 *
 *   struct music_params p = music_default_params();
 *   struct music_span *m; size_t n;
 *   if (music_detect(&pcm, &p, &m, &n, &err) == PARLEY_OK) { ... free(m); }
 *
 * How: 64 ms frames every 20 ms (FFT, 100-4000 Hz). Per frame:
 *  - stability: cosine similarity of the magnitude spectrum with the frame
 *    100 ms earlier. Held notes and chords keep their partials; speech moves
 *    from phone to phone and its pitch glides;
 *  - spectral flatness (geometric / arithmetic mean of the power, 300-3400
 *    Hz: the band 8 kHz telephone audio has): music's
 *    partials make it small (real music on hold ~0.01), noise large (~0.5);
 *  - level (dBFS).
 * Windows of `window` seconds every 0.5 s are music when
 *  - the median stability is >= min_stability,
 *  - at most max_dips of their frames are 15 dB below the window's 90th
 *    percentile level (speech pauses between words and phrases; music is
 *    continuous),
 *  - the median flatness is <= max_flatness (steady noise is stable and
 *    continuous too), and
 *  - the 90th percentile level is >= min_level_dbfs.
 * Overlapping music windows join into spans. A span's edges move in to the
 * first frame from which 80% of the next 0.5 s pass the window tests on
 * their own (flatness, stability over +-100 ms), then out (at most 1.5 s,
 * stepping over rests of up to 100 ms between notes) over frames within
 * 15 dB of the span's median level with flatness <= 0.3 and stability over
 * +-100 ms >= min_stability - 0.1 (at the start: of the frame 100 ms
 * later). Spans shorter than min_span are dropped.
 * Chosen on window statistics (3-s windows, 0.5 s apart; PARLEY_MUSIC_DEBUG=1
 * prints them): of 1357 windows of the real speech in ../shared/data and
 * 456 of generated conversations with white noise at 0-20 dB SNR, 1 and 1
 * passed (no span: a span needs min_span); of 2185 windows of the five real
 * Asterisk music-on-hold pieces (asterisk-moh-opsound-wav), 1395 (64%;
 * percussive pieces are missed). Now (tests/unit/test_tones.c): no span in
 * the 835 s of real speech, spans over 828 of the 1107 s of real music on
 * hold; the generated hold music is found down to 5 dB SNR.
 * Music with long pauses, or speech over music, is not found.
 * Any rate >= 8000 Hz; pure C + libm, no shared state.
 */
#ifndef PARLEY_DSP_MUSIC_H
#define PARLEY_DSP_MUSIC_H

#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

struct music_params {
	double window;         /* seconds per decision window (3) */
	double min_stability;  /* median frame stability in a window (0.7) */
	double max_dips;       /* fraction of frames 15 dB down allowed (0.05) */
	double min_level_dbfs; /* the window's 90th percentile level (-50) */
	double min_span;       /* shortest span reported, s (4) */
	double max_flatness;   /* median spectral flatness in a window (0.1) */
};

struct music_span {
	double start, end;
	double stability; /* median stability over the span */
};

struct music_params music_default_params(void);

/* The median frame stability (as above) over [start, end) seconds of pcm:
 * speech ~0.45-0.55, music ~0.7-1.0. 0 for spans under 0.2 s; -1 when out
 * of memory. */
double music_stability(const struct pcm *pcm, double start, double end);

/* Spans in time order into *out (malloc'd; caller frees; NULL, 0 when
 * none). INVALID (NULL arguments, rate below 8000, window < 1 s), NOMEM. */
enum parley_err music_detect(const struct pcm *pcm, const struct music_params *p,
			     struct music_span **out, size_t *n, struct parley_error *err);

#endif

/*
 * dtmf.h — DTMF key presses (ITU-T Q.23 frequency pairs, Q.24 reception).
 *
 *   struct dtmf_params p = dtmf_default_params();
 *   struct dtmf_press *k; size_t n;
 *   if (dtmf_detect(&pcm, &p, &k, &n, &err) == PARLEY_OK) { ... free(k); }
 *   struct dtmf_seq *s; size_t ns;
 *   dtmf_group(k, n, p.seq_gap, &s, &ns, &err);   // presses -> sequences
 *
 * How: Hann-windowed Goertzel filters at the 8 Q.23 frequencies and at their
 * second harmonics, 25 ms frames every 5 ms. A frame holds a digit when
 *  - one row and one column filter each stand >= peak_db above the other
 *    filters of their group,
 *  - each tone is louder than min_level_dbfs (RMS),
 *  - twist (high-group minus low-group level) lies in [-max_twist_db,
 *    +max_rev_twist_db] (Q.24: 8 dB normal, 4 dB reverse),
 *  - the two tones carry >= min_purity of the frame's energy (speech and
 *    music spread it over many harmonics; this is the main talk-off guard),
 *  - the second harmonics stay harmonic_db below their fundamentals (a
 *    voiced sound whose harmonics happen to hit a row and a column has them;
 *    not checked where the pair's other tone lies within 110 Hz of it:
 *    2 x 697 = 1394 next to 1336, 2 x 770 next to 1477, 2 x 852 next to 1633).
 * Runs of frames with the same digit (dropouts shorter than min_gap bridged)
 * lasting >= min_tone are presses (Q.24: accept 40 ms, reject < 23 ms);
 * frames pass once the tone fills ~80% of them, so a press starts 0.2
 * window into the run's first frame and ends 0.2 window before its last
 * frame ends (within ~10 ms of the tone).
 * Any rate >= 8000 Hz; pure C + libm, no shared state.
 *
 * Cost: 16 Goertzel filters over 25 ms every 5 ms, ~0.001 x real time.
 */
#ifndef PARLEY_DSP_DTMF_H
#define PARLEY_DSP_DTMF_H

#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

struct dtmf_params {
	double min_level_dbfs;   /* each tone's RMS at least this (-40) */
	double max_twist_db;     /* high group may be this much below the low (8) */
	double max_rev_twist_db; /* ... or this much above it (4) */
	double min_purity;       /* the pair's share of the frame energy (0.85) */
	double peak_db;          /* margin over the other filters of a group (8) */
	double harmonic_db;      /* second harmonics at least this far down (15) */
	double min_tone;         /* shortest press, s (0.030) */
	double min_gap;          /* dropouts shorter than this are bridged, s (0.02) */
	double seq_gap;          /* presses closer than this are one sequence, s (2.0) */
};

struct dtmf_press {
	double start, end; /* seconds */
	char digit;        /* 0-9, *, #, A-D */
};

struct dtmf_seq {
	double start, end;  /* first press's start, last press's end */
	size_t first, count; /* presses [first, first + count) */
};

struct dtmf_params dtmf_default_params(void);

/* Presses in time order into *out (malloc'd; caller frees; NULL, 0 when none).
 * INVALID (NULL arguments, rate below 8000), NOMEM. */
enum parley_err dtmf_detect(const struct pcm *pcm, const struct dtmf_params *p,
			    struct dtmf_press **out, size_t *n, struct parley_error *err);

/* Group presses (time order) into sequences: a gap >= seq_gap starts a new
 * one. *out malloc'd (caller frees; NULL, 0 when n == 0). NOMEM. */
enum parley_err dtmf_group(const struct dtmf_press *k, size_t n, double seq_gap,
			   struct dtmf_seq **out, size_t *nout, struct parley_error *err);

#endif

/*
 * prompt.h — recorded prompts: the same recorded audio heard more than once
 * in a call (an IVR menu played again), or a known prompt file found in it.
 *
 *   struct prompt_fp call = {0}, known = {0};
 *   prompt_fingerprint(&pcm, 300.0, &call, &err);   // the first 5 minutes
 *   struct prompt_params p = prompt_default_params();
 *   struct prompt_match *m; size_t n;
 *   prompt_find_repeats(&call, &p, &m, &n, &err);   // m[i]: two occurrences
 *   prompt_fingerprint(&prompt_pcm, 0, &known, &err);
 *   prompt_find_known(&call, &known, &p, &m, &n, &err);
 *   prompt_fp_release(&call);
 *
 * Fingerprint (after Haitsma & Kalker 2002): 64 ms frames every 16 ms; 17
 * log-spaced bands over 300-3400 Hz (so 8 kHz telephone audio and wideband
 * copies agree); 16 bits per frame, bit m = sign of the change over time of
 * the energy difference of bands m and m+1. Frames quieter than
 * min_level_dbfs or than the noise floor (10th percentile level) + 10 dB,
 * or marked excluded (tones, music: looping music repeats too), take no
 * part.
 *
 * Repeats: every active frame votes for the lags (>= min_lag) at which an
 * earlier active frame has the same 16 bits; lags with >= min_votes (the
 * best 8, +-2 frames apart) are checked frame by frame: the bit error rate
 * between frame t and t - lag, averaged over 0.5 s, is <= max_ber (the same
 * recording: ~0.0-0.3 through noise and mu-law; unrelated audio 0.5; up to
 * 0.5 s of mismatch and 1 s of silence are bridged) over a run of >=
 * min_len s that is not longer than the lag (a periodic sound matches
 * itself at one period: not a prompt). The run's edges are
 * the first and last frames that match on their own (<= 4 bits differ).
 * Known prompts: the same with offsets between the prompt's frames and the
 * call's; a match covers >= min_cover of the prompt's active frames.
 *
 * A prompt played once, not in the known folder, is not found (a recorded
 * voice is not told from a live one here). Pure C + libm, no shared state.
 */
#ifndef PARLEY_DSP_PROMPT_H
#define PARLEY_DSP_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/pcm.h"
#include "util/error.h"

#define PROMPT_HOP_SEC 0.016

struct prompt_fp {
	uint16_t *bits; /* per frame */
	bool *active;   /* loud enough and not excluded */
	size_t n;       /* frames; frame i is centred at i * PROMPT_HOP_SEC + 0.032 s */
};

struct prompt_params {
	double min_level_dbfs; /* active frames (-45) */
	double min_len;        /* shortest prompt, s (2.0) */
	double min_lag;        /* shortest distance between two plays, s (3.0) */
	double max_ber;        /* bit error rate of a match over 0.5 s (0.35) */
	int min_votes;         /* frames with identical bits at a lag (8) */
	double min_cover;      /* known prompt: share of its active frames (0.6) */
};

struct prompt_match {
	double start, end;             /* the later occurrence (repeats), or the match */
	double first_start, first_end; /* repeats: the earlier one; known: 0 */
	double ber;                    /* mean bit error rate over the match */
};

struct prompt_params prompt_default_params(void);

/* Fingerprint pcm (16 kHz or 8 kHz mono; any rate >= 8000) from its start;
 * max_seconds > 0 stops there. min_level_dbfs of the defaults decides
 * `active`. INVALID, NOMEM. Release with prompt_fp_release(). */
enum parley_err prompt_fingerprint(const struct pcm *pcm, double max_seconds,
				   struct prompt_fp *out, struct parley_error *err);
void prompt_fp_release(struct prompt_fp *fp);

/* Mark frames inside [start, end) inactive (excluded spans). */
void prompt_fp_exclude(struct prompt_fp *fp, double start, double end);

/* Repeated segments; matches in time order of the later occurrence.
 * *out malloc'd (caller frees; NULL, 0 when none). NOMEM. */
enum parley_err prompt_find_repeats(const struct prompt_fp *fp, const struct prompt_params *p,
				    struct prompt_match **out, size_t *n, struct parley_error *err);

/* Where the known prompt occurs in the call. Same conventions. */
enum parley_err prompt_find_known(const struct prompt_fp *call, const struct prompt_fp *known,
				  const struct prompt_params *p, struct prompt_match **out,
				  size_t *n, struct parley_error *err);

#endif

/*
 * channel_diarize.h — who spoke when in a call recorded with one speaker
 * per channel (stereo PBX recordings: agent left, customer right).
 *
 *   struct chdiar_params p = chdiar_default_params();
 *   struct chdiar_turn *t;
 *   size_t n;
 *   if (chdiar_run(chans, 2, NULL, 0, &p, &t, &n, &err) == PARLEY_OK) {
 *       for (size_t i = 0; i < n; i++)
 *           printf("%.2f %.2f ch%d%s\n", t[i].start, t[i].end, t[i].channel,
 *                  t[i].overlap ? " (overlap)" : "");
 *       free(t);
 *   }
 *
 * How (frames of frame_s):
 *   1. Each channel's speech: the VAD (dsp/vad.h, with no padding) on that
 *      channel alone, limited to the given regions when there are any (the
 *      vad stage's speech on the mix, from which event spans such as IVR
 *      prompts and hold music may have been removed).
 *   2. Crosstalk and echo: a channel hears the other side too, some tens of
 *      dB down. Each frame's level is the power averaged over smooth_s.
 *      Channels recorded at different gains are evened out: each channel's
 *      speech level (the 90th percentile of its speech frames) moves towards
 *      the channels' mean by at most gain_max_db (not fully: a channel that
 *      only ever hears the other side's leak would be lifted to speech
 *      level). A channel is active in a frame when its VAD says speech, its
 *      level is within floor_db of its speech level (else it is a pause),
 *      AND it is at most margin_db below the loudest channel with speech:
 *      the quieter side of a leak (typically 20+ dB down) is not speech of
 *      its own; two people talking at once (levels within the margin) are
 *      both active (real overlap).
 *   3. Gaps of at most bridge are closed (a plosive's burst and its vowel),
 *      activity runs shorter than min_run dropped (stray frames where a
 *      dip of the loud side brings its leak within the margin), then gaps
 *      shorter than fill_gap in a channel's activity filled.
 *   4. Turns: the floor belongs to one channel at a time — the one that
 *      holds it keeps it while it stays active; when it stops, the most
 *      active other channel takes it. Main turns (overlap false) are the
 *      floor's runs and never overlap each other; a channel active while
 *      another holds the floor gets an overlap turn (overlap true) — the
 *      start of an interruption, a backchannel, talking at once.
 *
 * Measured (tests/unit/test_channel_diarize.c, espeak-ng voices, -20 dB
 * crosstalk each way): crosstalk 0.00-0.04 s per 2-4 s of one-sided talk
 * at margins 6, 10 and 14 dB and with one channel 6 dB quieter; talk time
 * per channel within 1.3% of the truth; 1.2 s of both talking at the same
 * level: each side active 1.18-1.20 s. A channel that hears only the
 * other side's leak gets no turns.
 *
 * Thread safety: no global state; calls may run in parallel.
 */
#ifndef PARLEY_DSP_CHANNEL_DIARIZE_H
#define PARLEY_DSP_CHANNEL_DIARIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/pcm.h"
#include "dsp/vad.h"
#include "util/error.h"

#define CHDIAR_CHANNELS_MAX 8

struct chdiar_params {
	double margin_db; /* a channel this far below the loudest is crosstalk; default 10 */
	double frame_s;   /* frame hop; default 0.02 */
	double smooth_s;  /* level averaged over this window; default 0.1 */
	double fill_gap;  /* gaps in a channel's activity shorter than this are filled; 0.3 */
	double bridge;    /* gaps this short are closed before runs are dropped; 0.06 */
	double min_run;   /* activity runs shorter than this are dropped; default 0.15 */
	double gain_max_db; /* channel gain evened out up to this many dB; default 3 */
	double floor_db;    /* frames this far below the channel's speech level are pauses; 40 */
	struct vad_params vad; /* per channel; default vad_default_params() with pad 0
				  and energy_floor_db -65 (word edges; see the .c) */
};

struct chdiar_turn {
	double start, end; /* seconds */
	int channel;
	bool overlap;      /* spoken while another channel held the floor */
};

struct chdiar_params chdiar_default_params(void);

/*
 * ch[0..nch) are the channels (same rate, one the VAD accepts; lengths may
 * differ: the shortest counts), 2 <= nch <= CHDIAR_CHANNELS_MAX. regions
 * (nregions, sorted; NULL/0 = the whole recording) limit where speech can
 * be. On PARLEY_OK *turns (malloc'd, caller frees; NULL when nobody spoke)
 * holds *n turns sorted by start. Errors: PARLEY_ERR_INVALID (arguments,
 * rates), PARLEY_ERR_NOMEM, and the VAD's errors; *turns NULL then.
 */
enum parley_err chdiar_run(const struct pcm *ch, int nch, const struct vad_region *regions,
			   size_t nregions, const struct chdiar_params *p, struct chdiar_turn **turns,
			   size_t *n, struct parley_error *err);

#endif

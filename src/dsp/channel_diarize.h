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
 *      dB down. Each frame's level (power averaged over smooth_s) is taken
 *      relative to the channel's own speech level (the 90th percentile of
 *      its speech frames), so a channel recorded hotter is not favoured. A
 *      channel is active in a frame when its VAD says speech AND its
 *      level is at most margin_db below the loudest other channel
 *      with speech: the quieter side of a leak (typically 20+ dB down) is
 *      not speech of its own; two people talking at once (levels within the
 *      margin) are both active (real overlap).
 *   3. Gaps shorter than fill_gap in a channel's activity are filled, and
 *      activity runs shorter than min_run dropped.
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
	double min_run;   /* activity runs shorter than this are dropped; default 0.15 */
	double gain_max_db; /* channel gain evened out up to this many dB; default 3 */
	struct vad_params vad; /* per channel; default vad_default_params() with pad 0 */
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

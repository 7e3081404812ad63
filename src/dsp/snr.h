/*
 * snr.h — a recording's signal-to-noise ratio, estimated blind (no
 * reference, no speech detector): from the spread of its short-frame
 * energies.
 *
 *   struct snr_params p = snr_default_params();
 *   double db;
 *   if (snr_estimate(&pcm, &p, &db, &err) == PARLEY_OK && db < 12) ... // noisy
 *
 * How: the recording is cut into frame_ms frames; each frame's mean square
 * is taken in dB (relative to full scale; a frame below floor_db, digital
 * silence, counts as floor_db). The noise level is the noise_pct
 * percentile of those levels (the quiet frames: pauses hold only the
 * noise), the speech level the speech_pct percentile (loud frames hold
 * speech plus noise). The estimate is
 *
 *     10 log10(10^(speech/10) - 10^(noise/10)) - noise,
 *
 * (speech power with the noise taken out, over the noise) and is capped at
 * SNR_MAX_DB. A recording with digital silence in its pauses therefore
 * reads far above any noisy one (its noise level is floor_db: a speech level
 * of -25 dBFS reads 65 dB); one whose loud frames are no louder than its quiet ones
 * (noise only, or a constant tone) gets 0. Less than one frame: SNR_MAX_DB
 * (nothing to judge; callers do nothing then).
 *
 * It reads the level of the whole recording, as speech-level SNRs are
 * quoted (the generator's --snr is the noise against the active speech
 * level): pink noise added at 10 dB reads about 11-15 dB here, clean read
 * speech 30 dB and more (README Accuracy, "Noisy recordings").
 *
 * Errors: PARLEY_ERR_INVALID (bad params or rate), PARLEY_ERR_NOMEM,
 * PARLEY_ERR_TOO_LARGE (over SNR_FRAMES_MAX frames).
 * Thread safety: no shared state.
 */
#ifndef PARLEY_DSP_SNR_H
#define PARLEY_DSP_SNR_H

#include "audio/pcm.h"
#include "util/error.h"

#define SNR_MAX_DB 99.0
#define SNR_FRAMES_MAX (100u * 3600u * 24u) /* a day of 10 ms frames */

struct snr_params {
	int frame_ms;      /* frame length, 5..100 ms (20) */
	double noise_pct;  /* percentile read as the noise level, 0..1 (0.15) */
	double speech_pct; /* percentile read as the speech level, noise_pct..1 (0.95) */
	double floor_db;   /* level of digital silence, dBFS (-90) */
};
struct snr_params snr_default_params(void);

/* The estimate in dB, 0..SNR_MAX_DB, into *snr_db. */
enum parley_err snr_estimate(const struct pcm *pcm, const struct snr_params *p, double *snr_db,
			     struct parley_error *err);

#endif

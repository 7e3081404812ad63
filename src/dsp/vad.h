/*
 * vad.h — voice activity detection: where in a recording someone speaks.
 *
 *   struct vad_params p = vad_default_params();
 *   struct vad_region *r;
 *   size_t n;
 *   if (vad_detect(&pcm, &p, &r, &n, &err) == PARLEY_OK) {
 *       for (size_t i = 0; i < n; i++) printf("%.2f-%.2f\n", r[i].start, r[i].end);
 *       free(r);
 *   }
 *
 * How: WebRTC's GMM VAD (libwebrtc-audio-processing 0.3) classifies each
 * frame; frames quieter than energy_floor_db are non-speech whatever WebRTC
 * says (it fires on near-digital-silence and dither). A state machine then
 * smooths the decisions: a region opens after ~90 ms of consecutive speech
 * frames (3 frames of 30 ms, 5 of 20 ms, 9 of 10 ms) and starts at the first
 * of them; it closes once min_silence of non-speech follows, ending where
 * the last speech frame ends, so gaps shorter than min_silence never split
 * a region. WebRTC's own hangover (~100 ms of "speech" after speech stops)
 * is given back: trailing frames within 6 dB of the noise level measured in
 * the closing silence are not speech. Regions whose detected speech is
 * shorter than min_speech are dropped, and so are regions in which fewer than
 * min_voiced (0.2) of the 20 ms-spaced frames have a pitch (dsp/pitch.h,
 * YIN): speech has vowels, while the rustle, clicks, keyboard and breath
 * noise WebRTC takes for speech in quiet rooms have none. The rest are
 * extended by pad on both
 * sides, clipped to [0, duration] and merged where the padding makes them
 * touch.
 *
 * Timing (tests/unit/test_vad.c, espeak-ng speech, defaults): starts are
 * pad (0.1 s) early, ends pad + about one frame late, in digital silence and
 * in white noise up to -40 dBFS; both edges within 0.2 s.
 *
 * The voicing check, measured on the real recordings of `make bench-real`
 * (diarization DER pooled over the ten AMI meeting excerpts, collar 0.25;
 * missed / false alarm / confusion): min_voiced 0 -> 0.1 -> 0.15 -> 0.2 ->
 * 0.25: DER 58.5 -> 46.3 -> 41.3 -> 39.2 -> 37.8% (false alarm 25.7 -> 10.0
 * -> 4.1 -> 2.1 -> 0.5%, missed 23.8 -> 25.0 -> 25.9 -> 25.9 -> 26.7%).
 * Split half: the even-numbered files alone choose 0.25 (the odd ones then
 * 35.1%), the odd ones alone 0.25 (the even ones then 41.8%); 0.2 is kept, a
 * step on the side of not missing quiet talkers. Leave one out (choose on
 * nine files, score the tenth, pool): 39.2%. Speech kept on 42 real
 * single-speaker and telephone files: 372.6 s -> 369.8 s (the call-centre
 * call -1.1 s, the porcupine keyword list -1.7 s); the generated
 * conversations (2-4 speakers, clean, 10 dB, telephone) score identically.
 * Cost: one YIN frame per 20 ms of detected speech (~0.0005 x real time).
 *
 * Thread safety: each call owns its VAD instance; calls may run in
 * parallel.
 */
#ifndef PARLEY_DSP_VAD_H
#define PARLEY_DSP_VAD_H

#include <stddef.h>

#include "audio/pcm.h"
#include "util/error.h"

struct vad_region {
	double start, end; /* seconds from the start of the buffer, start < end */
};

struct vad_params {
	int mode;               /* WebRTC aggressiveness 0 (least) .. 3 (most); default 2 */
	int frame_ms;           /* 10, 20 or 30; default 30 */
	double min_speech;      /* drop regions with less speech than this; default 0.25 s */
	double min_silence;     /* gaps shorter than this do not split; default 0.3 s */
	double pad;             /* extend each region on both sides; default 0.1 s */
	double energy_floor_db; /* frames below this RMS dBFS are non-speech; default -55 */
	double min_voiced;      /* drop regions with a pitch in fewer of their frames; 0 = off */
};

struct vad_params vad_default_params(void);

/*
 * Find speech regions in pcm (p NULL = defaults). pcm->rate must be 8000,
 * 16000, 32000 or 48000 Hz (the rates WebRTC VAD accepts).
 *
 * On PARLEY_OK, *regions is a malloc'd array of *n regions sorted by start,
 * non-overlapping and inside [0, pcm_seconds(pcm)]; the caller frees it with
 * free(). No speech gives PARLEY_OK with *regions NULL and *n 0.
 * Errors: PARLEY_ERR_INVALID (NULL arguments, unsupported rate, parameter
 * out of range), PARLEY_ERR_NOMEM, PARLEY_ERR_ENGINE (WebRTC VAD failed).
 * On failure *regions is NULL and *n is 0.
 */
enum parley_err vad_detect(const struct pcm *pcm, const struct vad_params *p,
			   struct vad_region **regions, size_t *n, struct parley_error *err);

#endif

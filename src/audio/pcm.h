/*
 * pcm.h — a buffer of mono signed 16-bit samples at a known rate.
 * Every stage after decode works on 16 kHz mono (PCM_RATE).
 */
#ifndef PARLEY_AUDIO_PCM_H
#define PARLEY_AUDIO_PCM_H

#include <stddef.h>
#include <stdint.h>

#define PCM_RATE 16000

struct pcm {
	int16_t *samples; /* owned; free with pcm_release() */
	size_t n;         /* number of samples */
	int rate;         /* samples per second */
};

/* Free the samples and zero the struct. Accepts NULL. */
void pcm_release(struct pcm *pcm);

/* Duration in seconds. */
double pcm_seconds(const struct pcm *pcm);

#endif

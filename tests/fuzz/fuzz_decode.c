/*
 * fuzz_decode.c — libFuzzer target for audio_decode_memory() (container
 * probing and decoding of uploaded bytes). Inputs are capped at 1 MB and
 * output at 30 s. Checks the contract: success gives a non-empty buffer at
 * the requested rate within the limit; failure gives a permanent code, a
 * message naming the input and no buffer. Decoded audio is also run
 * through vad_detect(), whose region invariants are checked. The same bytes
 * are decoded again keeping the channels (audio_decode_memory_channels):
 * (also: audio_decode_measure_memory gives the same outcome and length)
 * the same result code; 0 or 2..8 channels, each the mix's length and rate;
 * channel diarization over them keeps its invariants (turns sorted, inside
 * the audio, main turns never overlapping).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/decode.h"
#include "dsp/channel_diarize.h"
#include "dsp/vad.h"

#define FUZZ_MAX_INPUT (1u << 20)
#define FUZZ_MAX_SECONDS 30.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vad(const struct pcm *pcm)
{
	struct vad_region *r = NULL;
	size_t n = 0;
	struct parley_error err = {0};
	if (vad_detect(pcm, NULL, &r, &n, &err) != PARLEY_OK)
		__builtin_trap();
	double duration = pcm_seconds(pcm);
	for (size_t i = 0; i < n; i++) {
		if (!(r[i].start >= 0 && r[i].start < r[i].end && r[i].end <= duration))
			__builtin_trap();
		if (i > 0 && !(r[i - 1].end < r[i].start))
			__builtin_trap();
	}
	free(r);
}

static void check_channels(const uint8_t *data, size_t size, const struct audio_decode_params *p,
			   enum parley_err want, const struct pcm *mix1)
{
	struct pcm mix;
	struct audio_channels ch;
	struct parley_error err = {0};
	enum parley_err rc = audio_decode_memory_channels(data, size, "fuzz", p, &mix, &ch, &err);
	if (rc != want && !(rc == PARLEY_ERR_NOMEM || want == PARLEY_ERR_NOMEM))
		__builtin_trap();
	if (rc != PARLEY_OK) {
		if (ch.n != 0 || mix.samples)
			__builtin_trap();
		return;
	}
	if (ch.n == 1 || ch.n > AUDIO_DECODE_CHANNELS_MAX || (mix1 && mix.n != mix1->n))
		__builtin_trap();
	for (int c = 0; c < ch.n; c++)
		if (!ch.ch[c].samples || ch.ch[c].n != mix.n || ch.ch[c].rate != mix.rate)
			__builtin_trap();
	if (ch.n >= 2) {
		struct chdiar_turn *t = NULL;
		size_t n = 0;
		if (chdiar_run(ch.ch, ch.n, NULL, 0, NULL, &t, &n, &err) != PARLEY_OK)
			__builtin_trap();
		double duration = pcm_seconds(&mix), main_end = 0;
		for (size_t i = 0; i < n; i++) {
			if (!(t[i].start >= 0 && t[i].start < t[i].end && t[i].end <= duration + 1e-9) ||
			    t[i].channel < 0 || t[i].channel >= ch.n ||
			    (i > 0 && t[i].start < t[i - 1].start))
				__builtin_trap();
			if (!t[i].overlap) {
				if (t[i].start < main_end - 1e-9)
					__builtin_trap();
				main_end = t[i].end;
			}
		}
		free(t);
	}
	pcm_release(&mix);
	audio_channels_release(&ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	struct audio_decode_params p = audio_decode_default_params();
	p.max_seconds = FUZZ_MAX_SECONDS;
	struct pcm pcm;
	struct parley_error err = {0};
	enum parley_err rc = audio_decode_memory(data, size, "fuzz", &p, &pcm, &err);
	/* counting without keeping (upload checks) agrees with decoding */
	double counted = -1;
	struct parley_error merr = {0};
	enum parley_err mrc = audio_decode_measure_memory(data, size, "fuzz", &p, &counted, &merr);
	if (mrc != rc || (rc == PARLEY_OK && fabs(counted - pcm_seconds(&pcm)) > 1e-9))
		__builtin_trap();
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_AUDIO && rc != PARLEY_ERR_EMPTY && rc != PARLEY_ERR_TOO_LARGE &&
		    rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || strncmp(err.msg, "fuzz: ", 6) != 0 || pcm.samples || pcm.n)
			__builtin_trap();
		check_channels(data, size, &p, rc, NULL);
		return 0;
	}
	if (!pcm.samples || pcm.n == 0 || pcm.rate != PCM_RATE ||
	    pcm.n > (size_t)(FUZZ_MAX_SECONDS * PCM_RATE))
		__builtin_trap();
	check_vad(&pcm);
	check_channels(data, size, &p, PARLEY_OK, &pcm);
	pcm_release(&pcm);
	return 0;
}

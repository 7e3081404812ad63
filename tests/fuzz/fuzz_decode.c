/*
 * fuzz_decode.c — libFuzzer target for audio_decode_memory() (container
 * probing and decoding of uploaded bytes). Inputs are capped at 1 MB and
 * output at 30 s. Checks the contract: success gives a non-empty buffer at
 * the requested rate within the limit; failure gives a permanent code, a
 * message naming the input and no buffer. Decoded audio is also run
 * through vad_detect(), whose region invariants are checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/decode.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	struct audio_decode_params p = audio_decode_default_params();
	p.max_seconds = FUZZ_MAX_SECONDS;
	struct pcm pcm;
	struct parley_error err = {0};
	enum parley_err rc = audio_decode_memory(data, size, "fuzz", &p, &pcm, &err);
	if (rc != PARLEY_OK) {
		if (rc != PARLEY_ERR_AUDIO && rc != PARLEY_ERR_EMPTY && rc != PARLEY_ERR_TOO_LARGE &&
		    rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || strncmp(err.msg, "fuzz: ", 6) != 0 || pcm.samples || pcm.n)
			__builtin_trap();
		return 0;
	}
	if (!pcm.samples || pcm.n == 0 || pcm.rate != PCM_RATE ||
	    pcm.n > (size_t)(FUZZ_MAX_SECONDS * PCM_RATE))
		__builtin_trap();
	check_vad(&pcm);
	pcm_release(&pcm);
	return 0;
}

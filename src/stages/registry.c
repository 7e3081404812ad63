/*
 * registry.c — every stage, in pipeline order. Adding a stage is one file in
 * src/stages/ and one row here.
 */
#include "stages/stage.h"

extern const struct stage stage_decode;
extern const struct stage stage_vad;
extern const struct stage stage_diarize;
extern const struct stage stage_stt;
extern const struct stage stage_words;
extern const struct stage stage_samples;

const struct stage *const stage_table[] = {
	&stage_decode,  /* any audio → 16 kHz mono audio.wav */
	&stage_vad,     /* speech regions */
	&stage_diarize, /* speaker turns */
	&stage_stt,     /* timed words per turn */
	&stage_words,   /* corrections, target counts */
	&stage_samples, /* voice sample per speaker */
};

const size_t stage_count = sizeof(stage_table) / sizeof(stage_table[0]);

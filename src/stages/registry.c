/*
 * registry.c — every stage, in pipeline order. Adding a stage is one file in
 * src/stages/ and one row here.
 */
#include "stages/stage.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

extern const struct stage stage_decode;
extern const struct stage stage_ivr;
extern const struct stage stage_denoise;
extern const struct stage stage_vad;
extern const struct stage stage_diarize;
extern const struct stage stage_lid;
extern const struct stage stage_stt;
extern const struct stage stage_words;
extern const struct stage stage_metrics;
extern const struct stage stage_samples;
extern const struct stage stage_answers;
extern const struct stage stage_verdicts;
extern const struct stage stage_tick1, stage_tick2, stage_tick3, stage_tick4, stage_tick5,
	stage_tick6;

const struct stage *const stage_table[] = {
	&stage_decode,  /* any audio → 16 kHz mono audio.wav */
	&stage_ivr,     /* call events: tones, DTMF, music/hold, IVR prompts (optional) */
	&stage_denoise, /* optional: noise suppressed copies of the audio */
	&stage_vad,     /* speech regions */
	&stage_diarize, /* speaker turns */
	&stage_lid,     /* optional: the conversation's language */
	&stage_stt,     /* timed words per turn */
	&stage_words,   /* corrections, target counts */
	&stage_metrics, /* call metrics per role (optional) */
	&stage_samples, /* voice sample per speaker */
	&stage_answers, /* the batch's questionnaire answered (optional, issue 14 llm1) */
	&stage_verdicts, /* the call's verdict from the audit's rules and answers (optional) */
};
const size_t stage_count = sizeof(stage_table) / sizeof(stage_table[0]);

/* Test stages: cheap, countable effects (chaos test, bench-queue); named by
 * --pipeline/--stages only, never part of the default pipeline. */
const struct stage *const stage_test_table[] = {
	&stage_tick1, &stage_tick2, &stage_tick3, &stage_tick4, &stage_tick5, &stage_tick6,
};
const size_t stage_test_count = sizeof(stage_test_table) / sizeof(stage_test_table[0]);

const size_t stage_count_all = sizeof(stage_table) / sizeof(stage_table[0]) +
			       sizeof(stage_test_table) / sizeof(stage_test_table[0]);

const struct stage *stage_at(size_t i)
{
	return i < stage_count ? stage_table[i] : stage_test_table[i - stage_count];
}

/* Presets: named pipelines a configuration selects (README "Call
 * analysis"). A stage that lands later is added to its row here. */
static const struct stage_preset presets[] = {
	{"call", "decode,ivr,vad,diarize,lid,stt,words,metrics", "channels.mode=separate",
	 "call analysis: call events (IVR, hold, tones), channels as speakers, language, "
	 "speech to text, call metrics (--denoise adds denoise)"},
	{"audit", "decode,ivr,vad,diarize,lid,stt,words,metrics,answers,verdicts",
	 "channels.mode=separate",
	 "call audit: the call preset, then the batch's questionnaire answered (answers) and "
	 "its rules' verdict (verdicts); README \"Call audits\""},
};
#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

const struct stage_preset *stage_preset_find(const char *name)
{
	for (size_t i = 0; i < NPRESETS; i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

static char preset_names[256];
static pthread_once_t preset_names_once = PTHREAD_ONCE_INIT;

static void preset_names_build(void)
{
	for (size_t i = 0, used = 0; i < NPRESETS && used < sizeof(preset_names); i++)
		used += (size_t)snprintf(preset_names + used, sizeof(preset_names) - used, "%s%s",
					 i ? ", " : "", presets[i].name);
}

const char *stage_preset_names(void)
{
	pthread_once(&preset_names_once, preset_names_build);
	return preset_names;
}

static const struct {
	const char *name;
	const char *stages;
} pipeline_aliases[] = {
	{"noop", "tick1,tick2,tick3,tick4,tick5,tick6"},
};

const char *stage_pipeline_alias(const char *name)
{
	for (size_t i = 0; i < sizeof(pipeline_aliases) / sizeof(pipeline_aliases[0]); i++)
		if (strcmp(pipeline_aliases[i].name, name) == 0)
			return pipeline_aliases[i].stages;
	const struct stage_preset *p = stage_preset_find(name);
	return p ? p->stages : NULL;
}

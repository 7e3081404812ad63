/*
 * ivr_scan.h — every call event of a recording from its audio: call-progress
 * tones, SIT and beeps (tones.h), DTMF (dtmf.h), music (music.h), recorded
 * IVR prompts (prompt.h). The ivr stage runs it on the mix or on each
 * channel; tests and benches call it directly.
 *
 *   struct ivr_scan_params p = ivr_scan_default_params();
 *   struct ivr_event *ev; size_t n;
 *   int chan[2] = {0, 1};
 *   ivr_scan(pcms, chan, 2, &p, &ev, &n, &err);   // or (&mix, (int[]){-1}, 1, ...)
 *
 * Per source, in order (each later step ignores what an earlier one found):
 *  1. music spans (p.music); 2. tones, SIT and beeps, dropped inside music;
 *  3. DTMF presses, dropped inside music and tone events, grouped into
 *     sequences (a gap of dtmf.seq_gap starts a new one); 4. repeated prompts
 *     in the first prompt_seconds, with music, tones and DTMF excluded from
 *     the fingerprint, each occurrence >= half speech (dsp/vad.h) and not
 *     music-like (median spectral stability, music_stability(), <= 0.65:
 *     recorded prompts 0.45-0.53, music on hold 0.7-1.0; looping music that
 *     the music step missed repeats too): both occurrences become
 *     ivr_prompt events; 5. known prompts (p.known).
 * Several sources (the legs of a stereo call): an event also found, by
 * the same kind and overlapping by half, on another channel where it is
 * 10 dB or more louder is that channel's crosstalk and is dropped.
 * Music is "music" while nobody has talked yet (queue music) and "hold"
 * after the first live speech: a VAD region of >= 1 s, in any source,
 * outside every event.
 * Detail (JSON object text): tones {"country","tones"}; sit {"tones"};
 * beep {"freq"}; dtmf {"count"} and "digits" only when p.digits (digits
 * are personal data); music/hold {"stability"}; ivr_prompt {"source":
 * "repeat","play":1|2,"ber"} or {"source":"known","prompt":NAME,"ber"}.
 */
#ifndef PARLEY_DSP_IVR_SCAN_H
#define PARLEY_DSP_IVR_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "audio/pcm.h"
#include "dsp/dtmf.h"
#include "dsp/music.h"
#include "dsp/prompt.h"
#include "dsp/tones.h"
#include "util/error.h"

#define IVR_KIND_MAX 16
#define IVR_DETAIL_MAX 256
#define IVR_PROMPT_NAME_MAX 64

struct ivr_known_prompt {
	char name[IVR_PROMPT_NAME_MAX]; /* [A-Za-z0-9_.-] only */
	struct prompt_fp fp;
};

struct ivr_scan_params {
	struct tone_params tones;
	struct dtmf_params dtmf;
	struct music_params music;
	struct prompt_params prompt;
	bool find_music;       /* true */
	bool digits;           /* put the digits in the detail (false) */
	double prompt_seconds; /* 300 */
	const struct ivr_known_prompt *known; /* NULL = none */
	size_t nknown;
};

struct ivr_event {
	char kind[IVR_KIND_MAX];
	double start, end;
	int channel; /* as given for the source; -1 = the mix */
	char detail[IVR_DETAIL_MAX];
};

struct ivr_scan_params ivr_scan_default_params(void);

/* Events of all sources, by start. *out malloc'd (caller frees; NULL, 0
 * when none). Errors of the detectors (INVALID, NOMEM, ENGINE from VAD). */
enum parley_err ivr_scan(const struct pcm *src, const int *channel, size_t nsrc,
			 const struct ivr_scan_params *p, struct ivr_event **out, size_t *n,
			 struct parley_error *err);

#endif

/*
 * diarize_exec.h — diarization by an external command ("diarize.engine":
 * "exec:COMMAND"), e.g. a pyannote script.
 *
 * The command gets the recording's decoded audio (16 kHz mono WAV) as its
 * last argument, PARLEY_SPEAKERS (0 = unknown), PARLEY_MIN_SPEAKERS and
 * PARLEY_MAX_SPEAKERS in its environment, and prints RTTM on stdout
 * ("SPEAKER file 1 START DUR <NA> <NA> NAME <NA> <NA>", parsed by
 * eval/rttm.h; the file column is ignored). Exit status as exec_run.h.
 *
 * Speakers are numbered by first appearance. parley's main turns never
 * overlap (stt, words and samples read them); where the command's segments
 * overlap, the later segment keeps only its part after the earlier one ends
 * and the overlapped part becomes an overlap turn (export shows those).
 */
#ifndef PARLEY_ENGINES_DIARIZE_EXEC_H
#define PARLEY_ENGINES_DIARIZE_EXEC_H

#include <stddef.h>

#include "dsp/diarize.h"
#include "util/error.h"

struct diarize_exec_params {
	const char *command;   /* the text after "exec:" */
	double timeout;        /* default 600 s */
	int num_speakers;      /* 0 = unknown */
	int min_speakers, max_speakers;
};
struct diarize_exec_params diarize_exec_default_params(void);

/* On PARLEY_OK *turns (malloc'd, time order) holds *nturns turns of
 * *nspeakers speakers. PARLEY_ERR_ENGINE for output that is not RTTM. */
enum parley_err diarize_exec_run(const struct diarize_exec_params *p, const char *audio_path,
				 struct diar_turn **turns, size_t *nturns, int *nspeakers,
				 struct parley_error *err);

#endif

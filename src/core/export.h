/*
 * export.h — write a finished recording's outputs from the store:
 *
 *   OUT/<name>/transcript.json   speakers (with "role" and "channel": null unless
 *                                the call stages gave one), segments (with "role"
 *                                when the speaker has one), words, counts, engines,
 *                                and "transcribed": whether the words stage ran (false:
 *                                words and counts are empty because no recogniser ran);
 *                                the stages' export hooks add their parts ("metrics")
 *   OUT/<name>/transcript.srt    SubRip cues "speaker-1: text" ("speaker-1 (agent): text"
 *                                when the speaker has a role)
 *   OUT/<name>/transcript.vtt    WebVTT cues with <v speaker-1> voice tags (likewise)
 *   OUT/<name>/transcript.rttm   NIST RTTM speaker turns (plain speaker names)
 *   OUT/<name>/transcript.txt    "[00:01.2 - 00:04.8] speaker-1: text" (likewise)
 *   OUT/<name>/samples/speaker-<n>.wav
 *
 * and OUT/summary.csv: recording,speaker,word,count,role — one row per recording
 * × speaker × target word (role "" when none); OUT/metrics.csv:
 * recording,scope,name,value — the call metrics (stage metrics), written only
 * when some recording has them; OUT/warnings.csv: recording,stage,warning —
 * a row per warning (a recording processed anyway whose file held less than
 * its header promised), written only when there is one (else removed).
 * transcript.json's "warnings" holds the same for its recording:
 * [{"stage": "decode", "message": "..."}], [] when none.
 * A turn's text is its speaker's words whose middle falls in it (turns of
 * different speakers overlap only in calls diarized by channel); cues are in
 * time order. Every file is written atomically, and the outputs
 * hold no clock times, so exporting the same store twice gives identical bytes.
 * Speakers are named speaker-1, speaker-2, … (index + 1) everywhere.
 */
#ifndef PARLEY_CORE_EXPORT_H
#define PARLEY_CORE_EXPORT_H

#include <jansson.h>

#include "store/store.h"
#include "text/lexicon.h"
#include "util/error.h"

struct export_params {
	const char *out_dir;  /* OUT */
	const char *data_dir; /* where recordings/<id>/ live */
	const char *engines_json; /* JSON object text describing the engines, or NULL */
	const struct lexicon *lexicon; /* the lexicon the words stage used, or NULL.
					  With it, every target word in transcript.json
					  gets "counted": true/false (false: below its
					  threshold, so not in "counts") */
};

enum parley_err export_recording(struct store *st, const struct export_params *p,
				 const struct store_recording *rec, struct parley_error *err);

/* Write OUT/summary.csv for every done recording of the batch. */
enum parley_err export_summary(struct store *st, const struct export_params *p, int64_t batch_id,
			       struct parley_error *err);

/* A recording's warnings as transcript.json holds them, for the HTTP views
 * (recording view, batch results): *out a new array [{"stage","message"}]
 * in the order written, [] when none (the caller owns it; NULL on error). */
enum parley_err export_warnings_json(struct store *st, int64_t batch_id, int64_t rec_id,
				     json_t **out, struct parley_error *err);

/* Format seconds as "HH:MM:SS,mmm" (SRT, sep ',') or "HH:MM:SS.mmm" (VTT, sep '.'). */
void export_timestamp(double seconds, char sep, char *out, size_t size);

#endif

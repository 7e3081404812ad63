/*
 * stage.h — the contract of a pipeline stage.
 *
 * A stage is one step of a recording's pipeline (decode, vad, diarize, stt,
 * words, samples). It reads the artifacts of earlier stages (the decoded
 * audio in the recording's data directory, rows in the store), computes its
 * results, and then calls stage_commit(): one transaction that replaces the
 * stage's old results and marks the stage done. A stage knows nothing of
 * queues, leases or HTTP.
 *
 * Adding a stage: write src/stages/<name>.c defining
 *     static const char *const <name>_tables[] = {"answers", NULL};
 *     const struct stage stage_<name> = {
 *         .name = "<name>", .description = "what it does", .run = <name>_run,
 *         .result_tables = <name>_tables,   // rows it writes (reset when the input changes)
 *         .options = "llm",                 // the configuration sections it reads
 *         .export = <name>_export,          // optional: its part of the outputs
 *         .optional = true,                 // only when a stage list or preset names it
 *     };
 * and add one row to the table in src/stages/registry.c.
 */
#ifndef PARLEY_STAGES_STAGE_H
#define PARLEY_STAGES_STAGE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#include "stages/pipeline_config.h"
#include "store/store.h"
#include "util/error.h"

#define STAGE_PATH_MAX 4096

struct stage_env; /* per-worker engines, built lazily: see stages/env.h */
/* What stage_commit needs that is no stage's business (the lease it checks,
 * the next stage it moves on to, the clocks of stage_runs): owned and filled
 * by the pipeline runner, defined in stages/stage_commit.h. */
struct stage_commit;

struct stage_ctx {
	struct store *store;
	const struct store_recording *rec;
	char rec_dir[STAGE_PATH_MAX]; /* the recording's data directory (exists) */
	const struct pipeline_config *cfg; /* the batch's configuration (stages/pipeline_config.h) */
	struct stage_env *env;
	volatile sig_atomic_t *stop; /* non-zero: stop as soon as possible */
	const char *stage_name;      /* set by the pipeline */
	struct stage_commit *commit; /* the pipeline's; only stage_commit() reads it */
	/* The recording's pipeline (its batch's stages, in order); NULL = unknown
	 * (tests): stage_in_pipeline() then says false. */
	const struct stage *const *pipeline;
	size_t pipeline_count;
};

/* A stage's part of a recording's outputs (`parley run`, `parley export`):
 * called for every stage of the registry, done or not, before
 * transcript.json is written. */
struct stage_export {
	struct store *store;
	const struct store_recording *rec;
	const char *rec_dir;    /* the recording's data directory */
	const char *out_dir;    /* OUT/<name>/ (exists) */
	bool done;              /* the stage is done for this recording */
	json_t *transcript;     /* transcript.json being built: add keys to it */
};

struct stage {
	const char *name;
	const char *description;
	enum parley_err (*run)(struct stage_ctx *ctx, struct parley_error *err);
	/* The result tables it writes (rows keyed by recording_id), NULL-terminated;
	 * NULL = none. A recording whose input changed loses these rows. */
	const char *const *result_tables;
	/* The pipeline configuration sections it reads ("diarize"), space-separated;
	 * NULL = none (`parley config --keys` says which stage reads a key). */
	const char *options;
	/* Writes its part of the outputs; NULL = nothing of its own. */
	enum parley_err (*export)(const struct stage_export *x, struct parley_error *err);
	/* Not part of the default pipeline: runs only when a batch's stage list
	 * or preset names it (the call stages: ivr, denoise, lid, metrics). */
	bool optional;
	/* Reads and writes no file of the recording's directory (the test
	 * stages): a run of only such stages does not create it. */
	bool no_files;
};

/* Save results and mark the stage done in one transaction. save() writes the
 * results with store_*_put (which replace old rows). The same transaction
 * first checks that the worker still holds the recording's lease (renewing
 * it; ctx->commit says whose) — a worker whose lease was taken over commits
 * nothing (PARLEY_ERR_BUSY), so a stage's effect is recorded once even when
 * two workers ran it — and moves the recording's next stage on. The
 * pipeline runner may keep that transaction open for the recording's next
 * quick stages (core/pipeline.h, commit coalescing): results and done mark
 * still commit, or are lost, together. */
typedef enum parley_err (*stage_save_fn)(struct store *st, int64_t rec_id, void *data,
					 struct parley_error *err);
enum parley_err stage_commit(struct stage_ctx *ctx, stage_save_fn save, void *data,
			     struct parley_error *err);

/* Path of a file in the recording's data directory, into out[STAGE_PATH_MAX]. */
enum parley_err stage_path(const struct stage_ctx *ctx, const char *file, char *out,
			   struct parley_error *err);

/* Is the stage called name part of the recording's pipeline? */
bool stage_in_pipeline(const struct stage_ctx *ctx, const char *name);

/* Load the recording's 16 kHz mono audio: the denoise stage's
 * audio.denoised.wav when the denoise stage is in the recording's pipeline
 * (it runs before every stage that loads audio, but ivr), else the decode
 * stage's audio.wav. */
struct pcm;
enum parley_err stage_load_audio(const struct stage_ctx *ctx, struct pcm *pcm,
				 struct parley_error *err);
/* The decode stage's audio.wav, never denoised (the ivr stage: noise
 * suppressors eat tones). */
enum parley_err stage_load_audio_original(const struct stage_ctx *ctx, struct pcm *pcm,
					  struct parley_error *err);

#define STAGE_AUDIO_FILE "audio.wav"
#define STAGE_DENOISED_FILE "audio.denoised.wav"

/* A source with two or more channels also has each channel alone, 16 kHz
 * mono, as audio.ch0.wav, audio.ch1.wav, … (decode stage; at most
 * STAGE_CHANNELS_MAX, the first ones of the source). */
#define STAGE_CHANNEL_FILE_FMT "audio.ch%d.wav"
#define STAGE_CHANNELS_MAX 8

/* How many channel files the decode stage wrote: 0 = a mono source (or one
 * decoded before channels were kept), else 2..STAGE_CHANNELS_MAX. */
int stage_channel_count(const struct stage_ctx *ctx);
/* Load channel ch (0 <= ch < stage_channel_count()) as 16 kHz mono: the
 * denoise stage's audio.chN.denoised.wav when the denoise stage is in the
 * recording's pipeline, else the decode stage's audio.chN.wav. */
enum parley_err stage_load_channel(const struct stage_ctx *ctx, int ch, struct pcm *pcm,
				   struct parley_error *err);
/* The decode stage's audio.chN.wav, never denoised (the ivr stage). */
enum parley_err stage_load_channel_original(const struct stage_ctx *ctx, int ch, struct pcm *pcm,
					    struct parley_error *err);
#define STAGE_CHANNEL_DENOISED_FMT "audio.ch%d.denoised.wav"

/* The segments kind the stt stage saves (one segment spanning the
 * recording) when its recogniser heard denoised audio (stt.denoise_below or
 * the denoise stage); none when it heard the original. Recordings recognised
 * before it was saved have none: original. The words stage reads it. */
#define STAGE_STT_DENOISED_KIND "stt_denoised"

/* The registry (src/stages/registry.c): stage_table holds every stage in
 * pipeline order (the default pipeline); stage_test_table the test stages
 * (tick1..tick6, src/stages/tick.c), never part of the default pipeline.
 * stage_at(i) walks both: real stages first, for i < stage_count_all. */
extern const struct stage *const stage_table[];
extern const size_t stage_count;      /* rows of stage_table */
extern const struct stage *const stage_test_table[];
extern const size_t stage_test_count; /* rows of stage_test_table */
extern const size_t stage_count_all;  /* stage_count + stage_test_count */
const struct stage *stage_at(size_t i);
/* Any stage by name, test stages included; NULL when unknown. */
const struct stage *stage_find(const char *name);
/* Does the stage read configuration section `section` (its options)? */
bool stage_reads(const struct stage *s, const char *section);
/* Every result table of every stage, once each, into out[0..max) followed
 * by NULL; returns how many. */
size_t stage_result_tables(const char **out, size_t max);
/* Named pipelines: "noop" = the six test stages, and the presets. NULL
 * when unknown. */
const char *stage_pipeline_alias(const char *name);

/* A preset: a named pipeline a configuration selects ("preset": "call",
 * --preset call). One row of the table in registry.c. */
struct stage_preset {
	const char *name;        /* "call" */
	const char *stages;      /* its stages, comma-separated */
	/* configuration values it sets, "key=value" comma-separated; set when the
	 * preset is, so keys given after it (and a file's sections) override them */
	const char *settings;
	const char *description;
};
const struct stage_preset *stage_preset_find(const char *name); /* NULL when unknown */
const char *stage_preset_names(void);                           /* "call" */

#endif

/*
 * stage_commit.h — the part of a stage's context that only the pipeline
 * runner (src/core/pipeline.c) and stage_commit() (src/stages/stage.c) see:
 * the lease the commit checks and renews, the next stage it moves the
 * recording on to, the clocks written to stage_runs, and whether the stage
 * committed. Stages never include this header.
 *
 * Coalescing (core/pipeline.h, commit_window): with `hold` set, the stage's
 * writes stay in an open durable transaction (`open`) that the runner
 * commits later, together with the next quick stages of the same recording
 * (and the recording's finish); a stage committing while `open` writes into
 * that transaction instead of beginning one. A failed commit rolls back
 * the held stages too (they are redone: results and done mark go together).
 */
#ifndef PARLEY_STAGES_STAGE_COMMIT_H
#define PARLEY_STAGES_STAGE_COMMIT_H

#include <stdbool.h>

struct stage_commit {
	const char *owner;           /* the lease holder ("host:pid"); NULL = no lease check */
	double lease_seconds;        /* the commit renews the lease for this long */
	const char *next_stage;      /* the stage after this one in the batch's pipeline ("" = last) */
	double cpu_start, wall_start; /* when the stage started, for stage_runs */
	bool committed;               /* set by stage_commit when it committed (or held) */
	bool hold;                    /* in: leave the transaction open after the writes */
	bool open;                    /* a transaction holding uncommitted stages is open */
};

#endif

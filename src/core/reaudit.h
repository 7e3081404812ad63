/*
 * reaudit.h — audit a finished batch again with a new questionnaire and/or
 * rules, or from a chosen stage (issue 14 part 5), without transcribing it
 * again; and the changes between two audit versions.
 *
 *   struct reaudit_params p = {.rules = new_rules};       // questionnaire kept
 *   struct reaudit_result res;
 *   reaudit_run(st, batch, &p, &res, &err);   // version 2, from "verdicts"
 *   ... workers rerun verdicts for every recording ...
 *   reaudit_changes(&ctx, batch, 1, 2, 0, 100, &page, &err);
 *
 * What reruns: an explicit from_stage; else "answers" when the
 * questionnaire changed, "verdicts" when only the rules did (AUDIT.md);
 * nothing changed and no stage given is INVALID. The stage must be in the
 * batch's pipeline. Every recording that is done or failed and has every
 * stage before it done loses its runs of that stage and the later ones and
 * goes back to the queue at that stage (store_batch.h sbatch_reset_from);
 * the earlier stages (decode … stt) are not run again. A new audit version
 * (store_audit_add, from_stage recorded) becomes current in the same
 * transaction, so the rerun stages write the new version's answers and
 * verdicts while the old version's rows stay queryable.
 * Only when the batch has started and nothing of it is pending, held or
 * running: CONFLICT "batch N is still running" otherwise.
 */
#ifndef PARLEY_CORE_REAUDIT_H
#define PARLEY_CORE_REAUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "core/batches.h"
#include "store/store.h"
#include "util/error.h"

struct reaudit_params {
	const char *questionnaire; /* NULL: keep the current one */
	const char *rules;         /* NULL: keep the current one */
	const char *from_stage;    /* NULL: decided by what changed */
};

struct reaudit_result {
	int version;                          /* the new audit version */
	char from_stage[STORE_STAGE_NAME_MAX];
	int64_t reset;                        /* recordings queued again */
};

enum parley_err reaudit_run(struct store *st, int64_t batch, const struct reaudit_params *p,
			    struct reaudit_result *out, struct parley_error *err);

/* The HTTP/CLI request {"questionnaire": text|object, "rules": text,
 * "from_stage": name}: run it, push the queue (ctx->on_queued), and answer
 * {"version","from_stage","requeued"}. */
enum parley_err reaudit_request(const struct batches_ctx *c, int64_t batch, const json_t *req,
				json_t **out, struct parley_error *err);

/* Per recording (id > after, at most limit looked at), what changed from
 * version `from` to version `to` (0, 0: the previous and the current one):
 * {"from","to","changes":[{"recording","name","old":{"verdict","score",
 * "max_score"}|null,"new":…,"answers":[{"question","old","new"}],
 * "rules_fired":[…],"rules_cleared":[…]}],"next":ID|null}. Only recordings
 * whose verdict, score, answers or fired rules differ are listed. */
enum parley_err reaudit_changes(const struct batches_ctx *c, int64_t batch, int from, int to,
				int64_t after, int limit, json_t **out, struct parley_error *err);

#endif

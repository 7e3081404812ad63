/* diarize_exec.c — see diarize_exec.h. */
#include "engines/diarize_exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/exec_run.h"
#include "eval/rttm.h"

struct diarize_exec_params diarize_exec_default_params(void)
{
	struct diarize_exec_params p = {NULL, 600, 0, 1, 8};
	return p;
}

static int seg_cmp(const void *x, const void *y)
{
	const struct rttm_segment *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

enum parley_err diarize_exec_run(const struct diarize_exec_params *p, const char *audio_path,
				 struct diar_turn **turns, size_t *nturns, int *nspeakers,
				 struct parley_error *err)
{
	*turns = NULL;
	*nturns = 0;
	*nspeakers = 0;
	char e1[48], e2[48], e3[48];
	snprintf(e1, sizeof(e1), "PARLEY_SPEAKERS=%d", p->num_speakers);
	snprintf(e2, sizeof(e2), "PARLEY_MIN_SPEAKERS=%d", p->min_speakers);
	snprintf(e3, sizeof(e3), "PARLEY_MAX_SPEAKERS=%d", p->max_speakers);
	const char *env[] = {e1, e2, e3, NULL};
	const char *args[] = {audio_path};
	struct exec_run_params xp = exec_run_default_params();
	xp.command = p->command;
	xp.args = args;
	xp.nargs = 1;
	xp.env = env;
	xp.timeout = p->timeout > 0 ? p->timeout : 600;
	xp.what = "diarize exec";
	char *out = NULL;
	size_t len = 0;
	enum parley_err rc = exec_run(&xp, &out, &len, err);
	if (rc)
		return rc;
	struct rttm r;
	rc = rttm_parse(out, len, "diarize exec output", &r, err);
	free(out);
	if (rc)
		return parley_error_set(err, rc == PARLEY_ERR_NOMEM ? rc : PARLEY_ERR_ENGINE, "%s",
					err ? err->msg : "diarize exec: not RTTM");
	qsort(r.segs, r.nsegs, sizeof(*r.segs), seg_cmp);
	/* speakers by first appearance in time */
	int *map = malloc((r.nspeakers + 1) * sizeof(*map));
	struct diar_turn *t = calloc(2 * r.nsegs + 1, sizeof(*t));
	if (!map || !t) {
		free(map);
		free(t);
		rttm_release(&r);
		return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory in diarize exec");
	}
	for (size_t i = 0; i < r.nspeakers; i++)
		map[i] = -1;
	int next = 0;
	size_t n = 0;
	double main_end = -1;
	for (size_t i = 0; i < r.nsegs; i++) {
		const struct rttm_segment *s = &r.segs[i];
		if (s->end <= s->start)
			continue;
		if (map[s->speaker] < 0)
			map[s->speaker] = next++;
		int spk = map[s->speaker];
		if (s->start >= main_end) {
			t[n++] = (struct diar_turn){s->start, s->end, spk, false};
			main_end = s->end;
		} else if (s->end <= main_end) {
			t[n++] = (struct diar_turn){s->start, s->end, spk, true};
		} else {
			t[n++] = (struct diar_turn){s->start, main_end, spk, true};
			t[n++] = (struct diar_turn){main_end, s->end, spk, false};
			main_end = s->end;
		}
	}
	free(map);
	rttm_release(&r);
	*turns = t;
	*nturns = n;
	*nspeakers = next;
	return PARLEY_OK;
}

/*
 * progress.h — the run's progress display: on a terminal a bar redrawn in
 * place ("[#####-----] 3/7 recordings  0.12 h audio  ETA 0:42"); otherwise a
 * plain line each time a recording finishes.
 */
#ifndef PARLEY_CLI_PROGRESS_H
#define PARLEY_CLI_PROGRESS_H

#include <stdbool.h>

#include "store/store.h"

struct progress {
	bool tty, quiet;
	double started;
	int last_finished;
	int width_drawn;
};

void progress_init(struct progress *p, bool tty, bool quiet);
void progress_update(struct progress *p, const struct store_progress *sp);
void progress_finish(struct progress *p);

#endif

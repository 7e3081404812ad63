/* progress.c — see progress.h. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

#define BAR_WIDTH 24

void progress_init(struct progress *p, bool tty, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->tty = tty;
	p->quiet = quiet;
	p->started = time_mono();
	p->last_finished = -1;
}

static void format_eta(double seconds, char *out, size_t size)
{
	if (seconds < 0 || seconds > 360000) {
		snprintf(out, size, "--:--");
		return;
	}
	long s = (long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
	else
		snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

void progress_update(struct progress *p, const struct store_progress *sp)
{
	if (p->quiet)
		return;
	int finished = sp->done + sp->failed;
	double elapsed = time_mono() - p->started;
	/* ETA from the audio processed so far; durations of recordings not yet
	 * decoded are estimated by the mean of those that are. */
	double mean = sp->decoded ? sp->audio_known / sp->decoded : 0;
	double remaining_audio = sp->audio_known - sp->audio_done + mean * (sp->total - sp->decoded);
	double rate = elapsed > 0 ? sp->audio_done / elapsed : 0;
	char eta[32];
	format_eta(rate > 0 ? remaining_audio / rate : -1, eta, sizeof(eta));
	if (p->tty) {
		int filled = sp->total ? finished * BAR_WIDTH / sp->total : 0;
		char bar[BAR_WIDTH + 1];
		for (int i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < filled ? '#' : '-';
		bar[BAR_WIDTH] = '\0';
		fprintf(stderr, "\r[%s] %d/%d recordings  %.2f h audio  %d failed  ETA %s ", bar, finished,
			sp->total, sp->audio_done / 3600.0, sp->failed, eta);
		p->width_drawn = 1;
	} else if (finished != p->last_finished) {
		fprintf(stderr, "parley: %d/%d recordings finished (%d failed), %.2f h audio, ETA %s\n",
			finished, sp->total, sp->failed, sp->audio_done / 3600.0, eta);
	}
	p->last_finished = finished;
	fflush(stderr);
}

void progress_finish(struct progress *p)
{
	if (p->tty && p->width_drawn)
		fputc('\n', stderr);
}

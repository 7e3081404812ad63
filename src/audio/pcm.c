/* pcm.c — see pcm.h. */
#include "audio/pcm.h"

#include <stdlib.h>
#include <string.h>

void pcm_release(struct pcm *pcm)
{
	if (!pcm)
		return;
	free(pcm->samples);
	memset(pcm, 0, sizeof(*pcm));
}

double pcm_seconds(const struct pcm *pcm)
{
	return pcm->rate > 0 ? (double)pcm->n / pcm->rate : 0.0;
}

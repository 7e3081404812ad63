/* json_nomem.c — see json_nomem.h. */
#include "util/json_nomem.h"

#include <stdlib.h>

static void *(*alloc_fn)(size_t) = malloc;
static _Thread_local bool failed; /* an allocation failed on this thread since the reset */

static void *noting_alloc(size_t n)
{
	void *p = alloc_fn(n);
	if (!p)
		failed = true;
	return p;
}

void json_nomem_install(void *(*alloc)(size_t), void (*release)(void *))
{
	alloc_fn = alloc ? alloc : malloc;
	json_set_alloc_funcs(noting_alloc, release ? release : free);
}

void json_nomem_reset(void)
{
	failed = false;
}

bool json_load_nomem(const json_t *result, const json_error_t *je)
{
	return !result && (failed || json_error_code(je) == json_error_out_of_memory ||
			   je->text[0] == '\0');
}

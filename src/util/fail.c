/* fail.c — see fail.h. */
#include "util/fail.h"

#include <stdatomic.h>

struct fail_hook {
	fail_hook_fn fn;
	void *user_data;
};

/* One pointer, so a reader sees a whole hook or none. */
static _Atomic(const struct fail_hook *) current;
static struct fail_hook slots[2];
static int slot;

void fail_hook_set(fail_hook_fn fn, void *user_data)
{
	if (!fn) {
		atomic_store(&current, NULL);
		return;
	}
	slot ^= 1;
	slots[slot] = (struct fail_hook){fn, user_data};
	atomic_store(&current, &slots[slot]);
}

bool fail_point(const char *point)
{
	const struct fail_hook *h = atomic_load_explicit(&current, memory_order_acquire);
	return h && h->fn(point, h->user_data);
}

/*
 * json_nomem.h — did a jansson load (json_loads, json_loadb, …) fail for
 * lack of memory rather than because the document is bad? Out of memory is
 * the reader's trouble, to be said as such (PARLEY_ERR_NOMEM, retried),
 * never "invalid input":
 *
 *   json_nomem_reset();
 *   json_t *v = json_loadb(body, len, 0, &je);
 *   if (json_load_nomem(v, &je))
 *       return parley_error_set(err, PARLEY_ERR_NOMEM, "out of memory reading …");
 *
 * jansson itself reports a failed allocation inside its lexer as a syntax
 * error ("string or '}' expected near …", "invalid token"), so its word is
 * not enough: json_nomem_install() gives jansson an allocator that notes,
 * per thread, that an allocation failed. Without it installed the answer
 * rests on what jansson says (json_error_out_of_memory, or no reason at all:
 * its lexer could not start).
 */
#ifndef PARLEY_UTIL_JSON_NOMEM_H
#define PARLEY_UTIL_JSON_NOMEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* jansson allocates through alloc (malloc when NULL) and frees with
 * release (free when NULL), each failed allocation noted on its thread.
 * Call once at start, before threads (json_set_alloc_funcs is global). */
void json_nomem_install(void *(*alloc)(size_t), void (*release)(void *));

/* Forget this thread's failed allocations: call before the load. */
void json_nomem_reset(void);

/* The load that gave result failed for lack of memory. */
bool json_load_nomem(const json_t *result, const json_error_t *je);

#endif

/*
 * jschema.h — a small JSON Schema subset validator over jansson, so parley
 * checks every LLM answer itself (llama.cpp and Ollama accept json_schema
 * and may ignore it).
 *
 * Keywords: type (a name or an array of names: object, array, string,
 * integer, number, boolean, null), properties, required,
 * additionalProperties (boolean or schema), enum, items, minItems, maxItems,
 * minimum, maximum, minLength, maxLength (in code points). "title",
 * "description", "$schema", "$id", "default", "examples" are ignored. Any
 * other keyword is refused by jschema_check (a schema parley cannot enforce
 * is an error, not a silent pass). Nesting is limited to JSCHEMA_MAX_DEPTH.
 *
 *   if (jschema_check(schema, &err)) ...            // once, at configuration
 *   if (jschema_validate(schema, reply, &err)) ...  // "$.answers[2].score: 7 is
 *                                                   //  above the maximum 5"
 */
#ifndef PARLEY_UTIL_JSCHEMA_H
#define PARLEY_UTIL_JSCHEMA_H

#include <jansson.h>

#include "util/error.h"

#define JSCHEMA_MAX_DEPTH 32

/* PARLEY_ERR_INVALID naming the first unsupported or malformed keyword. */
enum parley_err jschema_check(const json_t *schema, struct parley_error *err);

/* PARLEY_OK, or PARLEY_ERR_INVALID with the path of the first mismatch and
 * what is wrong. The schema must have passed jschema_check. */
enum parley_err jschema_validate(const json_t *schema, const json_t *value,
				 struct parley_error *err);

#endif

/*
 * batch_config.h — a batch's pipeline configuration in the store
 * (batches.config): written when a batch is created or submitted to, read
 * by every worker, export and sessions result.
 *
 *   struct pipeline_config c;
 *   batch_config_load(st, batch, &c, &err);      // the defaults for an old batch
 *   ...
 *   pipeline_config_release(&c);
 */
#ifndef PARLEY_CORE_BATCH_CONFIG_H
#define PARLEY_CORE_BATCH_CONFIG_H

#include <stdint.h>

#include "stages/pipeline_config.h"
#include "store/store.h"
#include "util/error.h"

/* The batch's configuration into *out (initialised here; release it with
 * pipeline_config_release). A batch stored before configurations existed
 * ("" or "{}") gets the defaults. A stored text that does not parse is
 * INVALID ("batch 7 configuration:1:2: …"). */
enum parley_err batch_config_load(struct store *st, int64_t batch_id, struct pipeline_config *out,
				  struct parley_error *err);

/* Store cfg as the batch's configuration (canonical JSON). cfg NULL: no
 * configuration was given — keep the stored one, or store the defaults when
 * the batch has none. A batch that already holds a different configuration
 * is not changed: CONFLICT naming the first key that differs (its finished
 * recordings were processed with the stored one). */
enum parley_err batch_config_store(struct store *st, int64_t batch_id, const char *batch_name,
				   const struct pipeline_config *cfg, struct parley_error *err);

#endif

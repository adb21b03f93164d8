/* runtime: the plugin instances of one configuration, their scheduler
 * threads and the pipeline between them. A reload builds a second runtime
 * completely before the first is stopped. */
#ifndef COLLECTORD_CORE_RUNTIME_H
#define COLLECTORD_CORE_RUNTIME_H

#include "core/conf.h"

struct runtime;

/* Load every enabled plugin of `cfg` and create its instance, in config
 * order. `cfg` is borrowed for the runtime's life. Errors are logged as one
 * line each; on failure nothing stays loaded. `once`: the pipeline runs in
 * the caller's thread (for --once and --check). */
int runtime_create(const struct daemon_cfg *cfg, int once, struct runtime **out);
/* Start one thread per source and the pipeline's dispatcher thread. */
int runtime_start(struct runtime *rt);
/* --once: poll every source once in order and run the pipeline.
 * 0 if every enabled source produced a record and every sink took every
 * record, 1 otherwise. */
int runtime_once(struct runtime *rt);
/* Stop sources, drain the queue, flush sinks, destroy instances in reverse
 * order and unload. NULL-safe. */
void runtime_destroy(struct runtime *rt);
/* Number of enabled instances. */
size_t runtime_count(const struct runtime *rt);

#endif

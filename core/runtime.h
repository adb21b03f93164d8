/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runtime: the running instances of the current configuration. A reload
 * validates the new configuration completely first, keeps the instances
 * that did not change, and replaces only the others. */
#ifndef COLLECTORD_CORE_RUNTIME_H
#define COLLECTORD_CORE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"

struct runtime;

/* Load every enabled plugin of `cfg`, check its settings and create() its
 * instance, in config order; start nothing (this is all --check does).
 * `cfg` is borrowed until runtime_reload or runtime_destroy. `run_flags`:
 * COLLECTOR_RUN_*. Errors are logged as one line each; on failure nothing
 * stays loaded. */
int runtime_create(const struct daemon_cfg *cfg, uint32_t run_flags, struct runtime **out);
/* start() every instance, then the dispatcher and one thread per source. */
int runtime_start(struct runtime *rt);
/*
 * Move to `ncfg` (borrowed from now on; the caller frees the old one after
 * success). Every new instance is created and checked first: on any error
 * nothing changes and a negative errno comes back. Then instances whose
 * plugin, interval and settings are unchanged keep running untouched; the
 * others are stopped (sinks flushed, state saved) and their replacements
 * started.
 */
int runtime_reload(struct runtime *rt, const struct daemon_cfg *ncfg);
/* --once: poll every source once, run the pipeline, wait (bounded) for
 * every sink to deliver. 0 when every source produced a record and every
 * sink delivered everything; 1 otherwise (each culprit named in a line). */
int runtime_once(struct runtime *rt);
/* Stop sources, drain the queue, flush sinks (bounded), stop and destroy
 * instances in reverse order, log the totals. NULL-safe. */
void runtime_destroy(struct runtime *rt);
/* 1 when `rt` runs from `cfg` (a reload that swapped but could not start
 * everything still uses the new config). */
int runtime_uses(const struct runtime *rt, const struct daemon_cfg *cfg);
/* Number of enabled instances. */
size_t runtime_count(const struct runtime *rt);
/* 1 while every thread makes progress (for the systemd watchdog): no poll
 * and no record has been stuck for more than `limit_ms`. */
int runtime_healthy(struct runtime *rt, int64_t limit_ms);

#endif

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
 * A reload in two halves, so that the slow one can run off the main thread.
 * runtime_next_new (main thread) takes what the new instances need from
 * `rt` (0, or -ENOMEM); runtime_prepare (any thread) creates and checks
 * every instance of `ncfg` and touches nothing of `rt`: 0, or a negative
 * errno when `ncfg` cannot run, each reason logged, nothing changed.
 * `ncfg` is borrowed from then on.
 */
struct runtime_next;
int runtime_next_new(const struct runtime *rt, struct runtime_next **out);
int runtime_prepare(struct runtime_next *next, const struct daemon_cfg *ncfg);
/* An abandoned or failed reload: close what prepare made. NULL-safe. */
void runtime_next_free(struct runtime_next *next);
/*
 * The second half, after a prepare that returned 0 (main thread): `rt` runs
 * from the new config from now on, whatever happens (the caller frees the
 * old one). Instances whose plugin, interval and settings are unchanged
 * keep running untouched; the others are stopped (sinks flushed, state
 * saved) and their replacements started. Returns how many of those could
 * not start (each named in a line; they stay stopped until the next
 * reload): 0 when all did. Takes `next`.
 */
unsigned runtime_switch(struct runtime *rt, struct runtime_next *next);
/* --once: poll every source once, run the pipeline, wait (bounded) for
 * every sink to deliver. 0 when every source produced a record and every
 * sink delivered everything; 1 otherwise (each culprit named in a line). */
int runtime_once(struct runtime *rt);
/* Stop sources, drain the queue, flush sinks (bounded), stop and destroy
 * instances in reverse order, log the totals. NULL-safe. */
void runtime_destroy(struct runtime *rt);
/* Number of enabled instances. */
size_t runtime_count(const struct runtime *rt);
/* 1 while every thread makes progress (for the systemd watchdog): no poll
 * and no record has been stuck for more than `limit_ms`. */
int runtime_healthy(struct runtime *rt, int64_t limit_ms);

#endif

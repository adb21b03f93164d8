/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline: records from the sources through the calculators to the sinks,
 * on one dispatcher thread, with a bounded retry queue per sink. */
#ifndef COLLECTORD_CORE_PIPELINE_H
#define COLLECTORD_CORE_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

#include "core/instance.h"

struct pipeline;

/* `sync`: no thread; pipeline_submit runs the record at once (--once). */
int pipeline_new(int sync, struct pipeline **out);
/* Let the dispatcher run what is queued, then end its thread. */
void pipeline_stop(struct pipeline *pl);
/* pipeline_stop, then free. NULL-safe. Does not
 * touch the stages' instances. */
void pipeline_free(struct pipeline *pl);

/* The calculators and sinks, in order (the array is copied, the instances
 * borrowed). Only while paused or before pipeline_start. */
int pipeline_set_stages(struct pipeline *pl, struct instance *const *stages, size_t n);
int pipeline_start(struct pipeline *pl);
/* Hold the dispatcher between two records, so stages can change; resume. */
void pipeline_pause(struct pipeline *pl);
void pipeline_resume(struct pipeline *pl);

/* A record emitted by `from` (taken). From a source: queued (or run now when
 * sync). From a calculator inside its process(): it runs after the current
 * record, from the stage after `from`. */
void pipeline_submit(struct pipeline *pl, struct instance *from, collector_record *rec);

/*
 * Deliver what the sinks among `stages` still keep: retry their queues and
 * call flush() until everything is out or the monotonic clock reaches
 * `deadline_ms`. What is left is dropped, counted and logged in one line per
 * sink, which names `timeout_ms` (the flush_timeout the deadline came from,
 * shared by every sink). Call while paused (or sync). Returns the number of
 * sinks that did not deliver.
 */
int pipeline_flush(struct instance *const *stages, size_t n, int64_t deadline_ms,
                   int64_t timeout_ms);

/* The newest record of every producer, noted as records are submitted (for
 * the host API's source_fresh_until_ns); borrowed for the pipeline's life. */
struct fresh_book *pipeline_book(struct pipeline *pl);

/* How long the dispatcher has been inside one record (ms), 0 when idle. */
int64_t pipeline_busy_ms(struct pipeline *pl);
/* Records the queue dropped because the sinks were too slow. */
unsigned long pipeline_dropped(struct pipeline *pl);

#endif

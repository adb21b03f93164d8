/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched: a source's thread, polling on a fixed-rate grid with backoff. */
#ifndef COLLECTORD_CORE_SCHED_H
#define COLLECTORD_CORE_SCHED_H

#include <stdint.h>

#include "core/instance.h"

/* Start the polling thread of source `in`. 0 or a negative errno. */
int sched_start(struct instance *in);
/* Ask it to stop (its poll sees is_stopping()), wait for it. NULL-safe. */
void sched_stop(struct instance *in);
/* One poll with the failure bookkeeping; returns the poll's result. */
int sched_poll(struct instance *in);
/* How long the source has been inside one poll (ms), 0 when not polling. */
int64_t sched_busy_ms(const struct instance *in);

#endif

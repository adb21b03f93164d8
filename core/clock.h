/* SPDX-License-Identifier: GPL-2.0-or-later */
/* clock: the monotonic clock as the scheduler and the pipeline use it, and
 * the wall clock the core stamps with. */
#ifndef COLLECTORD_CORE_CLOCK_H
#define COLLECTORD_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds (0 when the clock fails, which Linux never does
 * for CLOCK_MONOTONIC). */
int64_t clock_mono_ms(void);
/* The absolute CLOCK_MONOTONIC time `wait_ms` from now, for
 * pthread_cond_timedwait on a condition variable set to that clock.
 * 0, or -1 when the clock fails. */
int clock_mono_after(int64_t wait_ms, struct timespec *ts);
/* CLOCK_REALTIME in ns since the Unix epoch (0 when the clock fails). */
int64_t clock_real_ns(void);

#endif

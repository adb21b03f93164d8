/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/sched.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/clock.h"
#include "core/command.h"

#define BACKOFF_MAX_SHIFT 3         /* a failing source waits up to 8 intervals */
#define BACKOFF_MAX_MS (600 * 1000) /* ... but at most 10 minutes more than one */

int sched_poll(struct instance *in)
{
    int64_t now = clock_mono_ms();
    int rc;

    in->poll_since_ms = now ? now : 1;
    rc = in->lp->desc.poll(in->state);
    in->poll_since_ms = 0;
    if (rc == 0) {
        in->polls_ok++;
        if (in->failing)
            log_msg(in->name, COLLECTOR_LOG_INFO, "polling again after %lu failure(s)",
                    in->failures);
        in->failing = 0;
        in->failures = 0;
        return 0;
    }
    in->failures++;
    in->polls_failed++;
    /* The plugin says why (it knows the device); the host only counts and
     * backs off, so a failure is reported once, not twice. */
    if (!in->failing || rc != in->last_rc)
        log_msg(in->name, COLLECTOR_LOG_DEBUG, "poll failed: %s (backing off)",
                strerror(rc < 0 ? -rc : rc));
    in->failing = 1;
    in->last_rc = rc;
    return rc;
}

int64_t sched_busy_ms(const struct instance *in)
{
    int64_t since = in->poll_since_ms;

    return since ? clock_mono_ms() - since : 0;
}

/* The delay before the next poll after a failure. */
static int64_t backoff_ms(const struct instance *in)
{
    unsigned shift = in->failures < BACKOFF_MAX_SHIFT ? (unsigned)in->failures : BACKOFF_MAX_SHIFT;
    int64_t delay = in->interval_ms << shift;

    return delay > in->interval_ms + BACKOFF_MAX_MS ? in->interval_ms + BACKOFF_MAX_MS : delay;
}

static void *source_main(void *arg)
{
    struct instance *in = arg;
    int64_t interval = in->interval_ms;
    int64_t next = clock_mono_ms();

    for (;;) {
        int64_t now;

        pthread_mutex_lock(&in->lock);
        if (in->stop) {
            pthread_mutex_unlock(&in->lock);
            break;
        }
        in->cmd_wake = 0;
        pthread_mutex_unlock(&in->lock);

        if (clock_mono_ms() >= next) {
            if (sched_poll(in) == 0) {
                /* Fixed rate: the next slot of the grid, skipping missed ones. */
                now = clock_mono_ms();
                next += interval;
                if (next <= now)
                    next += ((now - next) / interval + 1) * interval;
            } else {
                next = clock_mono_ms() + backoff_ms(in); /* the grid restarts after it */
            }
        }
        /* Commands run here, between polls, on this thread (core/command.c). */
        if (in->host.commands != NULL)
            command_run_queued(in->host.commands, in);

        pthread_mutex_lock(&in->lock);
        while (!in->stop && !in->cmd_wake) {
            struct timespec ts;
            int64_t wait_ms = next - clock_mono_ms();
            if (wait_ms <= 0 || clock_mono_after(wait_ms, &ts) != 0)
                break;
            pthread_cond_timedwait(&in->tick, &in->lock, &ts);
        }
        pthread_mutex_unlock(&in->lock);
    }
    return NULL;
}

int sched_start(struct instance *in)
{
    int rc = pthread_create(&in->thread, NULL, source_main, in);

    if (rc != 0) {
        log_msg(in->name, COLLECTOR_LOG_ERROR, "cannot start a thread: %s", strerror(rc));
        return -rc;
    }
    in->thread_started = 1;
    return 0;
}

void sched_stop(struct instance *in)
{
    if (in == NULL || !in->thread_started)
        return;
    pthread_mutex_lock(&in->lock);
    in->stop = 1;
    pthread_cond_broadcast(&in->tick);
    pthread_mutex_unlock(&in->lock);
    host_request_stop(&in->host);
    pthread_join(in->thread, NULL);
    in->thread_started = 0;
}

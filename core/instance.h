/* SPDX-License-Identifier: GPL-2.0-or-later */
/* instance: one configured plugin instance through its life: open (load,
 * check settings, create), start, stop, close. */
#ifndef COLLECTORD_CORE_INSTANCE_H
#define COLLECTORD_CORE_INSTANCE_H

#include <pthread.h>
#include <stdint.h>

#include <collector/plugin.h>

#include "core/conf.h"
#include "core/hostapi.h"
#include "core/loader.h"

/* Records a sink asked the host to keep (write() returned -EAGAIN). */
struct sink_queue {
    collector_record **v; /* ring of `cap` */
    size_t head, len, cap;
    size_t bytes;         /* what the records in it take (record_bytes) */
    int64_t next_try_ms;  /* monotonic; retry no earlier */
    int64_t backoff_ms;
    int last_rc;
    size_t delivered; /* from the queue since it was last empty */
    size_t refused;   /* ... and what the sink refused from it then */
    int stalled;      /* a retry since then delivered nothing (an outage) */
    size_t most;      /* the most records it held since it was last empty */
};

struct instance {
    char name[64], plugin[64];
    uint32_t kind;
    int64_t interval_ms;
    char *file;           /* config file it was written in */
    unsigned line;
    char *fingerprint;    /* plugin, kind, interval and normalised settings */
    struct loaded_plugin *lp;
    struct collector_host host;
    void *state;
    int created, started;

    /* A source's thread. `lock` guards `stop`; `tick` wakes the sleeper. */
    pthread_mutex_t lock;
    pthread_cond_t tick;
    int stop;
    int cmd_wake; /* a command is queued or finished (core/command.c) */
    pthread_t thread;
    int thread_started;
    /* Sources: touched only by the source's own thread (sched.c), or by the
     * main thread under --once, when no source thread runs. */
    unsigned long polls_ok, polls_failed, failures;
    _Atomic int64_t poll_since_ms; /* inside poll() since (monotonic), 0 when not; the
                                      main thread reads it for the watchdog */
    unsigned long records; /* emitted: by the source's thread, or by the pipeline's
                              thread for a calculator that emits */

    /* Sources: the commands this instance allows (its `control` setting). */
    char **control;
    size_t ncontrol;

    /* Calculators and sinks: touched only by the pipeline's thread (and by
     * the main thread once that thread is paused or stopped: retire). */
    struct sink_queue q;
    unsigned long written, dropped, process_failures;
    /* Sinks: records that reached the sink's stage, and why the host
     * dropped some (dropped = the sum of these). */
    unsigned long received, dropped_full, dropped_deadline, dropped_refused;
    /* "Say it once" state of the one thread that calls this instance: the
     * source's thread for a source (sched_poll), the pipeline's thread for
     * a calculator or a sink (pipeline.c). An instance has one kind, so
     * one writer. */
    int failing, last_rc;
};

/* The instance behind a host handle (the handle is embedded). */
struct instance *instance_of(struct collector_host *host);

/*
 * Find, trust-check and load `ic`'s plugin, check and normalise its settings
 * (setdefs), check its interval floor, and create() it. Nothing is started:
 * this is all --check does. Errors: one line each, logged; a negative errno.
 * `claims` is borrowed for the call.
 */
int instance_open(const struct daemon_cfg *cfg, const struct instance_cfg *ic,
                  struct host_claims *claims, uint32_t run_flags, struct instance **out);
/* start() if the plugin has one. 0 or a negative errno (the plugin logged why). */
int instance_start(struct instance *in);
/* stop() if it was started. */
void instance_stop(struct instance *in);
/* destroy(), unload, free. NULL-safe. Stop it first. */
void instance_close(struct instance *in);

/* 1 when the plugin understands -EAGAIN from write()/flush() (ABI >= 1.1). */
int instance_can_retry(const struct instance *in);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostapi: the const table of services every plugin instance gets, and the
 * per-instance host handle behind it. */
#ifndef COLLECTORD_CORE_HOSTAPI_H
#define COLLECTORD_CORE_HOSTAPI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

/* Where emitted records go: takes `rec` (also on failure). */
typedef int (*host_emit_fn)(void *ctx, struct collector_host *host, collector_record *rec);
/* Optional log capture (tests): gets the formatted message without the time prefix. */
typedef void (*host_log_fn)(void *ctx, int level, const char *message);

struct fresh_book;

/* Resources instances claimed (api->claim), shared by the instances of one
 * configuration; owned by the runtime or testhost that made it. */
struct host_claims;
struct command_center;
struct host_claims *host_claims_new(void);
/* The record producers of the configuration (for api->producers); the
 * names are copied. 0 or -ENOMEM. */
int host_claims_add_producer(struct host_claims *c, const char *name);
void host_claims_free(struct host_claims *c); /* NULL-safe */

/* Records a sink took and reported lost afterwards (api->records_lost), by
 * reason: slots are claimed once (state 0 free, 1 being named, 2 named) and
 * counted atomically, so any thread may report without a lock. */
#define HOST_LOST_REASONS 4
struct host_lost {
    atomic_int state;
    char why[80];
    atomic_ulong n;
};

/* One per plugin instance; owned by whoever runs the instance (sched, testhost). */
struct collector_host {
    char name[64];        /* instance name */
    int64_t interval_ms;  /* sources: poll interval */
    const char *state_dir; /* borrowed, outlives the instance */
    atomic_int stopping;  /* set by host_request_stop */
    int stop_pipe[2];     /* [0] becomes readable on stop; -1 until host_stop_open */
    int stop_pipe_failed; /* host_stop_open said why once */
    host_emit_fn emit;    /* NULL: emit() frees the record and fails with -ENOTSUP */
    void *emit_ctx;
    host_log_fn log_hook; /* NULL: log to stderr through log.c */
    void *log_ctx;
    int setting_errors;   /* setting_error() calls: the plugin said what is wrong */
    uint32_t run_flags;   /* COLLECTOR_RUN_* */
    struct host_claims *claims; /* borrowed; NULL: every claim succeeds */
    int64_t fallback_interval_ms; /* collector.interval: freshness when a source's is unknown */
    struct fresh_book *book; /* borrowed: producers' newest records; NULL: none known */
    struct host_lost lost[HOST_LOST_REASONS]; /* the last slot also takes any other reason */
    /* ABI 1.2 commands (core/command.c, set by the runtime; NULL: command_submit
     * fails with -ENOSYS). Hooks, so this file links without the runtime. */
    struct command_center *commands; /* borrowed */
    int (*command_submit)(struct command_center *cc, const struct collector_command *cmd,
                          uint64_t *id, char *reason, size_t size);
    void (*command_done)(struct command_center *cc, uint64_t id, uint32_t outcome,
                         const char *detail);
    int (*command_allowed)(struct command_center *cc, const char *source, const char *name);
};

/* The table plugins see (static, same for all instances). */
const struct collector_host_api *hostapi_table(void);

/* Set up / tear down a host handle: copies `name` (truncated to 63 bytes);
 * opens no fd. host_fini is NULL-safe and idempotent. */
int host_init(struct collector_host *host, const char *name, int64_t interval_ms,
              const char *state_dir);
/* Open the stop pipe if it is not open yet: at start, or when a plugin asks
 * for stop_fd() outside --check (which gets -1 and holds no fd). 0 or a
 * negative errno, said once in one line (naming the open-file limit when
 * that is the cause). Main thread, or after start. */
int host_stop_open(struct collector_host *host);
void host_fini(struct collector_host *host);
/* What a sink reported lost (api->records_lost): the total, and the reasons
 * as "N reason, M reason" into buf (may be NULL). Read when the sink is
 * stopped. */
unsigned long host_lost_total(const struct collector_host *host, char *buf, size_t cap);
/* is_stopping() turns 1 and the stop fd becomes readable. Async-signal-safe. */
void host_request_stop(struct collector_host *host);

#endif

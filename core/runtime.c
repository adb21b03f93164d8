/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "core/clock.h"
#include "core/fresh.h"
#include "core/command.h"
#include "core/ctlsock.h"
#include "core/hostapi.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/sched.h"

struct runtime {
    const struct daemon_cfg *cfg;
    uint32_t run_flags;
    struct pipeline *pl;
    struct command_center *cc; /* ABI 1.2 commands */
    struct ctlsock *ctl;       /* the control socket, while running */
    struct instance **inst; /* config order: sources, calculators, sinks */
    size_t n;
    int started;
};

static int on_emit(void *ctx, struct collector_host *host, collector_record *rec)
{
    struct instance *in = instance_of(host);

    in->records++;
    if (in->kind == COLLECTOR_KIND_SOURCE)
        command_note_record(in->host.commands, in->name, rec);
    pipeline_submit(ctx, in, rec);
    return 0;
}

/* Open every enabled instance of `cfg`; all or nothing. */
static int open_all(const struct daemon_cfg *cfg, uint32_t run_flags, struct pipeline *pl,
                    struct command_center *cc, struct instance ***out, size_t *nout)
{
    struct instance **v = calloc(cfg->ninst ? cfg->ninst : 1, sizeof(*v));
    struct host_claims *claims = host_claims_new();
    size_t n = 0;
    int rc = 0;

    if (v == NULL || claims == NULL) {
        free(v);
        host_claims_free(claims);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->ninst; i++) {
        const struct instance_cfg *ic = &cfg->inst[i];
        if (!ic->enabled) {
            log_msg(LOG_CORE, COLLECTOR_LOG_DEBUG, "%s: disabled in %s:%u", ic->name, ic->file,
                    ic->line);
            continue;
        }
        rc = instance_open(cfg, ic, claims, run_flags, &v[n]);
        if (rc < 0)
            break;
        v[n]->host.emit = on_emit;
        v[n]->host.emit_ctx = pl;
        v[n]->host.book = pipeline_book(pl);
        v[n]->host.commands = cc;
        v[n]->host.command_submit = command_submit;
        v[n]->host.command_done = command_done;
        v[n]->host.command_allowed = command_allowed;
        n++;
    }
    host_claims_free(claims);
    if (rc < 0) {
        while (n > 0)
            instance_close(v[--n]);
        free(v);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int set_stages(struct runtime *rt)
{
    struct instance **stages = calloc(rt->n ? rt->n : 1, sizeof(*stages));
    size_t k = 0;
    int rc;

    if (stages == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i]->kind != COLLECTOR_KIND_SOURCE)
            stages[k++] = rt->inst[i];
    rc = pipeline_set_stages(rt->pl, stages, k);
    free(stages);
    return rc;
}

int runtime_create(const struct daemon_cfg *cfg, uint32_t run_flags, struct runtime **out)
{
    struct runtime *rt = calloc(1, sizeof(*rt));
    int rc;

    if (rt == NULL)
        return -ENOMEM;
    rt->cfg = cfg;
    rt->run_flags = run_flags;
    rc = pipeline_new((run_flags & (COLLECTOR_RUN_ONCE | COLLECTOR_RUN_CHECK)) != 0, &rt->pl);
    if (rc == 0)
        rc = command_center_new(cfg->state_dir, rt->pl, &rt->cc);
    if (rc == 0)
        rc = open_all(cfg, run_flags, rt->pl, rt->cc, &rt->inst, &rt->n);
    if (rc == 0)
        rc = set_stages(rt);
    if (rc == 0)
        rc = command_set_instances(rt->cc, rt->inst, rt->n);
    if (rc < 0) {
        runtime_destroy(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

size_t runtime_count(const struct runtime *rt)
{
    return rt ? rt->n : 0;
}

/* start() the instances not started yet, sinks first (a source's first
 * record must find them ready); then the threads. */
static int start_instances(struct runtime *rt)
{
    for (size_t k = rt->n; k-- > 0;) {
        int rc = instance_start(rt->inst[k]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int start_threads(struct runtime *rt)
{
    int rc = pipeline_start(rt->pl);

    for (size_t i = 0; rc == 0 && i < rt->n; i++) {
        struct instance *in = rt->inst[i];
        if (in->kind == COLLECTOR_KIND_SOURCE && !in->thread_started)
            rc = sched_start(in);
    }
    return rc;
}

int runtime_start(struct runtime *rt)
{
    int rc = start_instances(rt);

    if (rc == 0)
        rc = start_threads(rt);
    if (rc == 0)
        rc = command_start(rt->cc);
    if (rc < 0)
        return rc;
    if (rt->cfg->control_socket[0] != '\0')
        ctlsock_start(rt->cfg->control_socket, rt->cfg->control_socket_default, rt->cc,
                      &rt->ctl); /* logs why it could not */
    rt->started = 1;
    log_msg(LOG_CORE, COLLECTOR_LOG_INFO, "running %zu instance(s) from %s", rt->n, rt->cfg->path);
    return 0;
}

/* A sink's one line of totals, once it is stopped: what reached it, what
 * was written and what was dropped, with the reasons (the host's and those
 * the sink reported with records_lost), so written + dropped = received. */
static void log_sink_totals(const struct instance *in)
{
    char lost_why[400], why[600] = "";
    unsigned long lost = host_lost_total(&in->host, lost_why, sizeof(lost_why));
    unsigned long written = in->written > lost ? in->written - lost : 0;
    const struct {
        unsigned long n;
        const char *what;
    } host_why[] = {
        {in->dropped_full, "past the retry queue's bound"},
        {in->dropped_deadline, "not delivered within flush_timeout"},
        {in->dropped_refused, "refused by the sink"},
    };
    size_t used = 0;

    for (size_t i = 0; i < sizeof(host_why) / sizeof(host_why[0]); i++) {
        if (host_why[i].n == 0 || used >= sizeof(why))
            continue;
        int w = snprintf(why + used, sizeof(why) - used, "%s%lu %s", used ? ", " : "",
                         host_why[i].n, host_why[i].what);
        used += w > 0 ? (size_t)w : 0;
    }
    if (lost > 0 && used < sizeof(why))
        snprintf(why + used, sizeof(why) - used, "%s%s", used ? ", " : "", lost_why);
    log_msg(in->name, in->dropped + lost > 0 ? COLLECTOR_LOG_WARNING : COLLECTOR_LOG_INFO,
            "%lu record(s) received: %lu written, %lu dropped%s%s%s", in->received, written,
            in->dropped + lost, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

static void log_totals(const struct instance *in)
{
    if (in->kind == COLLECTOR_KIND_SOURCE)
        log_msg(in->name, COLLECTOR_LOG_INFO, "%lu poll(s) ok, %lu failed, %lu record(s)",
                in->polls_ok, in->polls_failed, in->records);
    else if (in->kind == COLLECTOR_KIND_SINK)
        log_sink_totals(in);
}

/* Stop and close instances (the pipeline must be paused or stopped):
 * sources' threads first, then a bounded flush of the sinks, then stop()
 * and destroy() in reverse order. */
static void retire(struct runtime *rt, struct instance **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i]->kind == COLLECTOR_KIND_SOURCE)
            sched_stop(v[i]);
    pipeline_flush(v, n, clock_mono_ms() + rt->cfg->flush_timeout_ms, rt->cfg->flush_timeout_ms);
    for (size_t i = n; i-- > 0;) {
        /* stop() first: a sink reports there what it took and could not deliver;
         * an instance that never started has nothing to say */
        int was_started = v[i]->started;
        instance_stop(v[i]);
        if (was_started &&
            (!(rt->run_flags & (COLLECTOR_RUN_ONCE | COLLECTOR_RUN_CHECK)) || v[i]->dropped > 0 ||
             host_lost_total(&v[i]->host, NULL, 0) > 0))
            log_totals(v[i]);
        /* its records' freshness does not answer for a successor */
        fresh_book_forget(pipeline_book(rt->pl), v[i]->name);
        instance_close(v[i]);
    }
}

struct runtime_next {
    uint32_t run_flags;
    struct pipeline *pl; /* only stored into the new instances (emit_ctx) */
    struct command_center *cc; /* likewise (their commands) */
    const struct daemon_cfg *cfg;
    struct instance **inst;
    size_t n;
};

int runtime_next_new(const struct runtime *rt, struct runtime_next **out)
{
    struct runtime_next *next = calloc(1, sizeof(*next));

    if (next == NULL)
        return -ENOMEM;
    next->run_flags = rt->run_flags;
    next->pl = rt->pl;
    next->cc = rt->cc;
    *out = next;
    return 0;
}

int runtime_prepare(struct runtime_next *next, const struct daemon_cfg *ncfg)
{
    int rc = open_all(ncfg, next->run_flags, next->pl, next->cc, &next->inst, &next->n);

    if (rc == 0)
        next->cfg = ncfg;
    return rc;
}

void runtime_next_free(struct runtime_next *next)
{
    if (next == NULL)
        return;
    while (next->n > 0)
        instance_close(next->inst[--next->n]);
    free(next->inst);
    free(next);
}

unsigned runtime_switch(struct runtime *rt, struct runtime_next *next)
{
    struct instance **nv = next->inst;
    size_t nn = next->n, live = 0;
    unsigned kept = 0, started = 0, failed = 0;

    /* Unchanged instances stay; their freshly created twins go unstarted.
     * What is left in rt->inst afterwards is retired. */
    for (size_t j = 0; j < nn; j++) {
        for (size_t i = 0; i < rt->n; i++) {
            struct instance *o = rt->inst[i];
            if (o == NULL || strcmp(o->name, nv[j]->name) != 0 ||
                strcmp(o->fingerprint, nv[j]->fingerprint) != 0)
                continue;
            instance_close(nv[j]);
            nv[j] = o;
            rt->inst[i] = NULL;
            kept++;
            break;
        }
    }
    pipeline_pause(rt->pl);
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i] != NULL)
            rt->inst[live++] = rt->inst[i];
    /* commands go to the new set from now on, never to a retiring instance */
    command_set_instances(rt->cc, nv, nn);
    retire(rt, rt->inst, live);
    /* ABI 1.0 promises a flush on SIGHUP; a kept sink gets it too. */
    for (size_t j = 0; j < nn; j++)
        if (nv[j]->started && nv[j]->kind == COLLECTOR_KIND_SINK && nv[j]->lp->desc.flush)
            nv[j]->lp->desc.flush(nv[j]->state);
    free(rt->inst);
    rt->inst = nv;
    rt->n = nn;
    rt->cfg = next->cfg;
    next->inst = NULL;
    next->n = 0;
    runtime_next_free(next);
    /* Start the new ones, sinks first; one that cannot start is left out
     * (it is tried again at the next reload): moved past rt->n, and closed
     * only once the command centre no longer lists it. */
    for (size_t k = nn; k-- > 0;) {
        struct instance *in = rt->inst[k];
        if (in->started)
            continue;
        if (instance_start(in) == 0) {
            started++;
            continue;
        }
        failed++;
        memmove(&rt->inst[k], &rt->inst[k + 1], (rt->n - k - 1) * sizeof(*rt->inst));
        rt->inst[--rt->n] = in;
    }
    command_set_instances(rt->cc, rt->inst, rt->n);
    for (size_t k = rt->n; k < nn; k++)
        instance_close(rt->inst[k]);
    if (set_stages(rt) < 0)
        failed++; /* out of memory: the old stages stay */
    pipeline_resume(rt->pl);
    if (start_threads(rt) < 0)
        failed++; /* said by sched_start */
    log_msg(LOG_CORE, COLLECTOR_LOG_INFO, "reloaded %s: %u instance(s) kept, %u started%s",
            rt->cfg->path, kept, started, failed ? ", some could not start" : "");
    return failed;
}

int runtime_once(struct runtime *rt)
{
    char failed[512] = "";
    int64_t deadline;
    size_t n;
    int ok = 1;

    if (start_instances(rt) < 0)
        return 1;
    rt->started = 1;
    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = rt->inst[i];
        unsigned long before = in->records;
        int rc;
        if (in->kind != COLLECTOR_KIND_SOURCE)
            continue;
        rc = sched_poll(in);
        if (rc != 0) {
            log_msg(in->name, COLLECTOR_LOG_ERROR, "poll failed: %s", strerror(rc < 0 ? -rc : rc));
            ok = 0;
        } else if (in->records == before) {
            log_msg(in->name, COLLECTOR_LOG_ERROR, "poll produced no record");
            ok = 0;
        }
    }
    /* One sink at a time within one deadline (as pipeline_flush does), so
     * the exit can name the sinks that did not deliver. */
    deadline = clock_mono_ms() + rt->cfg->flush_timeout_ms;
    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = rt->inst[i];
        int undelivered;
        if (in->kind != COLLECTOR_KIND_SINK)
            continue;
        undelivered = pipeline_flush(&rt->inst[i], 1, deadline, rt->cfg->flush_timeout_ms) > 0;
        if (in->dropped > 0)
            log_msg(in->name, COLLECTOR_LOG_ERROR, "did not deliver %lu record(s)", in->dropped);
        if (undelivered || in->dropped > 0) {
            n = strlen(failed);
            snprintf(failed + n, sizeof(failed) - n, "%s%s", n ? ", " : "", in->name);
            ok = 0;
        }
    }
    if (failed[0] != '\0')
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "--once: not delivered by sink(s): %s", failed);
    return ok ? 0 : 1;
}

int runtime_healthy(struct runtime *rt, int64_t limit_ms)
{
    if (pipeline_busy_ms(rt->pl) > limit_ms)
        return 0;
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i]->kind == COLLECTOR_KIND_SOURCE && sched_busy_ms(rt->inst[i]) > limit_ms)
            return 0;
    return 1;
}

void runtime_destroy(struct runtime *rt)
{
    unsigned long dropped;

    if (rt == NULL)
        return;
    /* 0. no new commands: waiters are released, the socket closes */
    command_stop(rt->cc);
    ctlsock_stop(rt->ctl);
    rt->ctl = NULL;
    if (rt->cc != NULL)
        command_set_instances(rt->cc, NULL, 0); /* what is in flight ends FAILED */
    /* 1. sources stop: no new records */
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i]->kind == COLLECTOR_KIND_SOURCE)
            sched_stop(rt->inst[i]);
    /* 2. the dispatcher runs what is queued, then ends */
    pipeline_stop(rt->pl);
    dropped = rt->pl ? pipeline_dropped(rt->pl) : 0;
    if (dropped > 0)
        log_msg(LOG_CORE, COLLECTOR_LOG_WARNING, "%lu record(s) dropped: the sinks were too slow",
                dropped);
    /* 3. sinks deliver (bounded), then everything stops in reverse order */
    if (rt->pl != NULL)
        retire(rt, rt->inst, rt->n);
    else
        for (size_t i = rt->n; i-- > 0;)
            instance_close(rt->inst[i]);
    free(rt->inst);
    command_center_free(rt->cc);
    pipeline_free(rt->pl);
    free(rt);
}

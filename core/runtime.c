/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "core/command.h"
#include "core/ctlsock.h"
#include "core/hostapi.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/sched.h"

#define CORE "collectord"

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
            log_msg(CORE, COLLECTOR_LOG_DEBUG, "%s: disabled in %s:%u", ic->name, ic->file,
                    ic->line);
            continue;
        }
        rc = instance_open(cfg, ic, claims, run_flags, &v[n]);
        if (rc < 0)
            break;
        v[n]->host.emit = on_emit;
        v[n]->host.emit_ctx = pl;
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
    if (rc == 0)
        rc = command_set_instances(rt->cc, rt->inst, rt->n);
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
    log_msg(CORE, COLLECTOR_LOG_INFO, "running %zu instance(s) from %s", rt->n, rt->cfg->path);
    return 0;
}

static void log_totals(const struct instance *in)
{
    if (in->kind == COLLECTOR_KIND_SOURCE)
        log_msg(in->name, COLLECTOR_LOG_INFO, "%lu poll(s) ok, %lu failed, %lu record(s)",
                in->polls_ok, in->polls_failed, in->records);
    else if (in->kind == COLLECTOR_KIND_SINK)
        log_msg(in->name, COLLECTOR_LOG_INFO, "%lu record(s) written, %lu dropped", in->written,
                in->dropped);
}

/* Stop and close instances (the pipeline must be paused or stopped):
 * sources' threads first, then a bounded flush of the sinks, then stop()
 * and destroy() in reverse order. */
static void retire(struct runtime *rt, struct instance **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i]->kind == COLLECTOR_KIND_SOURCE)
            sched_stop(v[i]);
    pipeline_flush(v, n, rt->cfg->flush_timeout_ms);
    for (size_t i = n; i-- > 0;) {
        if (!(rt->run_flags & (COLLECTOR_RUN_ONCE | COLLECTOR_RUN_CHECK)) || v[i]->dropped > 0)
            log_totals(v[i]);
        instance_stop(v[i]);
        instance_close(v[i]);
    }
}

int runtime_reload(struct runtime *rt, const struct daemon_cfg *ncfg)
{
    struct instance **nv = NULL, **old = NULL;
    size_t nn = 0, nold = 0;
    unsigned kept = 0, started = 0;
    int rc = open_all(ncfg, rt->run_flags, rt->pl, rt->cc, &nv, &nn);

    if (rc < 0)
        return rc;
    old = calloc(rt->n ? rt->n : 1, sizeof(*old));
    if (old == NULL) {
        while (nn > 0)
            instance_close(nv[--nn]);
        free(nv);
        return -ENOMEM;
    }
    /* Unchanged instances stay; their freshly created twins go unstarted. */
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
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i] != NULL)
            old[nold++] = rt->inst[i];

    /* commands go to the new set from now on, never to a retiring instance */
    command_set_instances(rt->cc, nv, nn);
    pipeline_pause(rt->pl);
    retire(rt, old, nold);
    /* ABI 1.0 promises a flush on SIGHUP; a kept sink gets it too. */
    for (size_t j = 0; j < nn; j++)
        if (nv[j]->started && nv[j]->kind == COLLECTOR_KIND_SINK && nv[j]->lp->desc.flush)
            nv[j]->lp->desc.flush(nv[j]->state);
    free(old);
    free(rt->inst);
    rt->inst = nv;
    rt->n = nn;
    rt->cfg = ncfg;
    rc = set_stages(rt);
    for (size_t k = nn; rc == 0 && k-- > 0;) {
        if (nv[k]->started)
            continue;
        rc = instance_start(nv[k]);
        started++;
    }
    pipeline_resume(rt->pl);
    if (rc == 0)
        rc = start_threads(rt);
    log_msg(CORE, COLLECTOR_LOG_INFO, "reloaded %s: %u instance(s) kept, %u started", ncfg->path,
            kept, started);
    return rc < 0 ? rc : 0;
}

int runtime_once(struct runtime *rt)
{
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
    if (pipeline_flush(rt->inst, rt->n, rt->cfg->flush_timeout_ms) > 0)
        ok = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const struct instance *in = rt->inst[i];
        if (in->kind == COLLECTOR_KIND_SINK && in->dropped > 0) {
            log_msg(in->name, COLLECTOR_LOG_ERROR, "did not deliver %lu record(s)", in->dropped);
            ok = 0;
        }
    }
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
        log_msg(CORE, COLLECTOR_LOG_WARNING, "%lu record(s) dropped: the sinks were too slow",
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

int runtime_uses(const struct runtime *rt, const struct daemon_cfg *cfg)
{
    return rt != NULL && rt->cfg == cfg;
}

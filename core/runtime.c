#include "config.h"

#include "core/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <collector/plugin.h>

#include "core/hostapi.h"
#include "core/loader.h"
#include "core/log.h"
#include "core/record.h"
#include "core/settings.h"

#define CORE "collectord"
#define QUEUE_MAX 1024
#define BACKOFF_MAX_SHIFT 3       /* a failing source waits up to 8 intervals */
#define BACKOFF_MAX_MS (600 * 1000) /* ... but at most 10 minutes more than one */

struct instance {
    const struct instance_cfg *cfg;
    struct loaded_plugin *lp;
    struct collector_host host;
    void *state;
    int created;
    struct runtime *rt;
    pthread_t thread;
    int thread_started;
    /* Counters of a source; written by its own thread (or the main thread
     * in once mode) and by the emit path, which runs in that same thread. */
    unsigned long records;
    unsigned long failures;
    unsigned long polls_ok, polls_failed; /* totals, logged at shutdown */
    int failing;   /* last callback failed: log only state changes */
    int last_rc;
};

struct runtime {
    const struct daemon_cfg *cfg;
    struct instance *inst;
    size_t n;
    int once;
    unsigned long sink_failures; /* once mode: a sink refused a record */

    /* `lock` protects queue, qhead, qlen, stopping, sources_done, dropped. */
    pthread_mutex_t lock;
    pthread_cond_t tick; /* sources sleep on it until their next poll (monotonic) */
    pthread_cond_t work; /* the dispatcher sleeps on it */
    collector_record *queue[QUEUE_MAX];
    size_t qhead, qlen;
    int stopping;
    int sources_done;
    unsigned long dropped;
    pthread_t dispatcher;
    int dispatcher_started;
    int sync_ready;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *errtext(int rc)
{
    return strerror(rc < 0 ? -rc : rc);
}

/* Run one record through the calculators and sinks; frees it. Runs on the
 * dispatcher thread (or the caller's in once mode), so the callbacks of a
 * calculator or sink never overlap. */
static void pipeline_run(struct runtime *rt, collector_record *rec)
{
    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = &rt->inst[i];
        int rc;

        if (!in->created || in->cfg->kind == COLLECTOR_KIND_SOURCE)
            continue;
        if (in->cfg->kind == COLLECTOR_KIND_CALCULATOR)
            rc = in->lp->desc.process(in->state, rec);
        else
            rc = in->lp->desc.write(in->state, rec);
        if (rc != 0) {
            in->failures++;
            if (in->cfg->kind == COLLECTOR_KIND_SINK)
                rt->sink_failures++;
            if (!in->failing || in->last_rc != rc)
                log_msg(in->cfg->name, COLLECTOR_LOG_WARNING, "%s failed: %s (record from %s)",
                        in->cfg->kind == COLLECTOR_KIND_SINK ? "write" : "process",
                        errtext(rc), record_source(rec));
            in->failing = 1;
            in->last_rc = rc;
        } else if (in->failing) {
            log_msg(in->cfg->name, COLLECTOR_LOG_INFO, "working again after %lu failure(s)",
                    in->failures);
            in->failing = 0;
            in->failures = 0;
        }
    }
    record_free(rec);
}

static int on_emit(void *ctx, struct collector_host *host, collector_record *rec)
{
    struct runtime *rt = ctx;
    struct instance *in = NULL;

    for (size_t i = 0; i < rt->n; i++)
        if (&rt->inst[i].host == host)
            in = &rt->inst[i];
    if (in != NULL)
        in->records++;
    if (rt->once) {
        pipeline_run(rt, rec);
        return 0;
    }
    pthread_mutex_lock(&rt->lock);
    if (rt->qlen == QUEUE_MAX) {
        /* The sinks are behind: the oldest record goes, the newest stays. */
        record_free(rt->queue[rt->qhead]);
        rt->qhead = (rt->qhead + 1) % QUEUE_MAX;
        rt->qlen--;
        if (rt->dropped++ % 100 == 0)
            log_msg(CORE, COLLECTOR_LOG_WARNING,
                    "pipeline queue full: dropped %lu oldest record(s) so far", rt->dropped);
    }
    rt->queue[(rt->qhead + rt->qlen) % QUEUE_MAX] = rec;
    rt->qlen++;
    pthread_cond_signal(&rt->work);
    pthread_mutex_unlock(&rt->lock);
    return 0;
}

static void *dispatcher_main(void *arg)
{
    struct runtime *rt = arg;

    pthread_mutex_lock(&rt->lock);
    for (;;) {
        collector_record *rec;
        while (rt->qlen == 0 && !rt->sources_done)
            pthread_cond_wait(&rt->work, &rt->lock);
        if (rt->qlen == 0)
            break;
        rec = rt->queue[rt->qhead];
        rt->qhead = (rt->qhead + 1) % QUEUE_MAX;
        rt->qlen--;
        pthread_mutex_unlock(&rt->lock);
        pipeline_run(rt, rec);
        pthread_mutex_lock(&rt->lock);
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

/* One poll, with the state-change logging and the backoff it implies.
 * Returns the delay in ms until the next poll is allowed. */
static int64_t poll_source(struct instance *in)
{
    int64_t interval = in->cfg->interval_ms;
    int rc = in->lp->desc.poll(in->state);

    if (rc == 0) {
        in->polls_ok++;
        if (in->failing)
            log_msg(in->cfg->name, COLLECTOR_LOG_INFO, "polling again after %lu failure(s)",
                    in->failures);
        in->failing = 0;
        in->failures = 0;
        return interval;
    }
    in->failures++;
    in->polls_failed++;
    /* The plugin says why (it knows the device); the host only counts and
     * backs off, so a failure is reported once, not twice. */
    if (!in->failing || rc != in->last_rc)
        log_msg(in->cfg->name, COLLECTOR_LOG_DEBUG, "poll failed: %s (backing off)", errtext(rc));
    in->failing = 1;
    in->last_rc = rc;
    {
        unsigned shift = in->failures < BACKOFF_MAX_SHIFT ? (unsigned)in->failures
                                                          : BACKOFF_MAX_SHIFT;
        int64_t delay = interval << shift;
        if (delay > interval + BACKOFF_MAX_MS)
            delay = interval + BACKOFF_MAX_MS;
        return delay;
    }
}

static void *source_main(void *arg)
{
    struct instance *in = arg;
    struct runtime *rt = in->rt;
    int64_t interval = in->cfg->interval_ms;
    int64_t next = mono_ms();

    for (;;) {
        int64_t delay, now;

        pthread_mutex_lock(&rt->lock);
        if (rt->stopping) {
            pthread_mutex_unlock(&rt->lock);
            break;
        }
        pthread_mutex_unlock(&rt->lock);

        delay = poll_source(in);
        now = mono_ms();
        if (delay == interval) {
            /* Fixed rate: the next slot of the grid, skipping missed ones. */
            next += interval;
            if (next <= now)
                next += ((now - next) / interval + 1) * interval;
        } else {
            next = now + delay; /* backing off: the grid restarts after it */
        }

        pthread_mutex_lock(&rt->lock);
        while (!rt->stopping) {
            struct timespec ts;
            int64_t wait_ms = next - mono_ms();
            if (wait_ms <= 0)
                break;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t)(wait_ms / 1000);
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&rt->tick, &rt->lock, &ts);
        }
        pthread_mutex_unlock(&rt->lock);
    }
    return NULL;
}

/* Refuse a plugin file, or its directory, that others may write to. */
static int check_permissions(const char *file, char *err, size_t err_size)
{
    char dir[4096];
    const char *slash = strrchr(file, '/');
    struct stat st;

    if (stat(file, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(err, err_size,
                 "%s: writable by group or others: refusing to load it (chmod go-w)", file);
        return -EPERM;
    }
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
    if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
        snprintf(err, err_size,
                 "%s: directory %s is writable by group or others: refusing to load plugins "
                 "from it (chmod go-w)",
                 file, dir);
        return -EPERM;
    }
    return 0;
}

static int check_keys(const struct instance *in)
{
    static const char *const host_keys[] = {"plugin", "name", "enabled", "interval", NULL};
    const char *const *known = in->lp->desc.settings;
    const config_setting_t *g = in->cfg->group;

    if (known == NULL)
        return 0;
    for (unsigned i = 0; i < (unsigned)config_setting_length(g); i++) {
        const config_setting_t *m = config_setting_get_elem(g, i);
        const char *key = config_setting_name(m);
        int ok = 0;
        for (const char *const *k = host_keys; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok) {
            char list[512] = "";
            size_t used = 0;
            for (const char *const *k = known; *k; k++) {
                int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", *k);
                if (w < 0 || (size_t)w >= sizeof(list) - used)
                    break;
                used += (size_t)w;
            }
            log_msg(CORE, COLLECTOR_LOG_ERROR,
                    "%s:%u: %s: unknown setting \"%s\" (plugin %s knows: %s)", in->cfg->file,
                    config_setting_source_line(m), in->cfg->name, key, in->cfg->plugin, list);
            return -EINVAL;
        }
    }
    return 0;
}

static int instance_open(struct runtime *rt, struct instance *in)
{
    const struct daemon_cfg *cfg = rt->cfg;
    char file[4096], err[9300];
    int rc;

    rc = loader_find(in->cfg->plugin, cfg->plugin_path, file, sizeof(file));
    if (rc < 0) {
        log_msg(CORE, COLLECTOR_LOG_ERROR, "%s:%u: plugin \"%s\": no %s.so in %s", in->cfg->file,
                in->cfg->line, in->cfg->plugin, in->cfg->plugin, cfg->plugin_path);
        return rc;
    }
    rc = check_permissions(file, err, sizeof(err));
    if (rc == 0)
        rc = loader_open(file, in->cfg->kind, &in->lp, err, sizeof(err));
    if (rc < 0) {
        log_msg(CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s", in->cfg->file, in->cfg->line, err);
        return rc;
    }
    rc = check_keys(in);
    if (rc < 0)
        return rc;
    rc = host_init(&in->host, in->cfg->name,
                   in->cfg->kind == COLLECTOR_KIND_SOURCE ? in->cfg->interval_ms : 0,
                   cfg->state_dir);
    if (rc < 0)
        return rc;
    in->host.emit = on_emit;
    in->host.emit_ctx = rt;
    rc = in->lp->desc.create(hostapi_table(), &in->host, settings_wrap(in->cfg->group),
                             &in->state);
    if (rc != 0) {
        if (in->host.setting_errors == 0) /* else its own line named the setting */
            log_msg(CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s: plugin %s refused to start: %s",
                    in->cfg->file, in->cfg->line, in->cfg->name, in->cfg->plugin,
                    rc < 0 ? errtext(rc) : "see above");
        return rc < 0 ? rc : -EINVAL;
    }
    in->created = 1;
    return 0;
}

int runtime_create(const struct daemon_cfg *cfg, int once, struct runtime **out)
{
    struct runtime *rt = calloc(1, sizeof(*rt));
    pthread_condattr_t ca;
    int rc = 0;

    if (rt == NULL)
        return -ENOMEM;
    rt->cfg = cfg;
    rt->once = once;
    pthread_mutex_init(&rt->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->tick, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&rt->work, NULL);
    rt->sync_ready = 1;
    rt->inst = calloc(cfg->ninst ? cfg->ninst : 1, sizeof(*rt->inst));
    if (rt->inst == NULL) {
        runtime_destroy(rt);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->ninst; i++) {
        struct instance *in;
        if (!cfg->inst[i].enabled) {
            log_msg(CORE, COLLECTOR_LOG_DEBUG, "%s: disabled in %s:%u", cfg->inst[i].name,
                    cfg->inst[i].file, cfg->inst[i].line);
            continue;
        }
        in = &rt->inst[rt->n++];
        in->cfg = &cfg->inst[i];
        in->rt = rt;
        in->host.stop_pipe[0] = in->host.stop_pipe[1] = -1;
        rc = instance_open(rt, in);
        if (rc < 0)
            break;
    }
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

int runtime_start(struct runtime *rt)
{
    int rc = pthread_create(&rt->dispatcher, NULL, dispatcher_main, rt);
    if (rc != 0)
        return -rc;
    rt->dispatcher_started = 1;
    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = &rt->inst[i];
        if (in->cfg->kind != COLLECTOR_KIND_SOURCE)
            continue;
        rc = pthread_create(&in->thread, NULL, source_main, in);
        if (rc != 0) {
            log_msg(in->cfg->name, COLLECTOR_LOG_ERROR, "cannot start a thread: %s",
                    strerror(rc));
            return -rc;
        }
        in->thread_started = 1;
    }
    log_msg(CORE, COLLECTOR_LOG_INFO, "running %zu instance(s) from %s", rt->n, rt->cfg->path);
    return 0;
}

int runtime_once(struct runtime *rt)
{
    int ok = 1;

    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = &rt->inst[i];
        unsigned long before = in->records;
        int rc;
        if (in->cfg->kind != COLLECTOR_KIND_SOURCE)
            continue;
        rc = in->lp->desc.poll(in->state);
        if (rc != 0) {
            log_msg(in->cfg->name, COLLECTOR_LOG_ERROR, "poll failed: %s", errtext(rc));
            ok = 0;
        } else if (in->records == before) {
            log_msg(in->cfg->name, COLLECTOR_LOG_ERROR, "poll produced no record");
            ok = 0;
        }
    }
    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = &rt->inst[i];
        if (in->cfg->kind == COLLECTOR_KIND_SINK && in->lp->desc.flush &&
            in->lp->desc.flush(in->state) != 0)
            ok = 0;
    }
    if (rt->sink_failures > 0)
        ok = 0;
    return ok ? 0 : 1;
}

void runtime_destroy(struct runtime *rt)
{
    if (rt == NULL)
        return;
    /* 1. sources stop: no new records */
    pthread_mutex_lock(&rt->lock);
    rt->stopping = 1;
    pthread_cond_broadcast(&rt->tick);
    pthread_mutex_unlock(&rt->lock);
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i].cfg->kind == COLLECTOR_KIND_SOURCE && rt->inst[i].created)
            host_request_stop(&rt->inst[i].host);
    for (size_t i = 0; i < rt->n; i++)
        if (rt->inst[i].thread_started)
            pthread_join(rt->inst[i].thread, NULL);
    /* 2. the dispatcher drains what is queued, then ends */
    pthread_mutex_lock(&rt->lock);
    rt->sources_done = 1;
    pthread_cond_signal(&rt->work);
    pthread_mutex_unlock(&rt->lock);
    if (rt->dispatcher_started)
        pthread_join(rt->dispatcher, NULL);
    while (rt->qlen > 0) { /* never started: free what is left */
        record_free(rt->queue[rt->qhead]);
        rt->qhead = (rt->qhead + 1) % QUEUE_MAX;
        rt->qlen--;
    }
    /* 3. sinks flush, then everything is destroyed in reverse order */
    for (size_t i = 0; i < rt->n; i++) {
        struct instance *in = &rt->inst[i];
        if (in->created && in->cfg->kind == COLLECTOR_KIND_SINK && in->lp->desc.flush)
            in->lp->desc.flush(in->state);
    }
    for (size_t i = 0; i < rt->n && !rt->once; i++) {
        struct instance *in = &rt->inst[i];
        if (in->created && in->cfg->kind == COLLECTOR_KIND_SOURCE)
            log_msg(in->cfg->name, COLLECTOR_LOG_INFO, "%lu poll(s) ok, %lu failed, %lu record(s)",
                    in->polls_ok, in->polls_failed, in->records);
    }
    if (rt->dropped > 0)
        log_msg(CORE, COLLECTOR_LOG_WARNING, "%lu record(s) dropped: the sinks were too slow",
                rt->dropped);
    for (size_t i = rt->n; i-- > 0;) {
        struct instance *in = &rt->inst[i];
        if (in->created)
            in->lp->desc.destroy(in->state);
        host_fini(&in->host);
        loader_close(in->lp);
    }
    free(rt->inst);
    if (rt->sync_ready) {
        pthread_cond_destroy(&rt->tick);
        pthread_cond_destroy(&rt->work);
        pthread_mutex_destroy(&rt->lock);
    }
    free(rt);
}

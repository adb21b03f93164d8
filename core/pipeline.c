/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/pipeline.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/fresh.h"
#include "core/log.h"
#include "core/record.h"

#define QUEUE_MAX 1024      /* records between the sources and the dispatcher */
#define SINKQ_MAX 1024      /* records one sink asked the host to keep */
/* ... and the memory they may take: a sink that never takes anything (a
 * broker that never acknowledges) costs at most this much (a record with 16
 * cells is about 2 kB, so the record bound comes first for those). */
#define SINKQ_BYTES_MAX (4u << 20)
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 60000
/* A sink that took some of what it kept and then asked to wait (a window of
 * unacknowledged publishes, full for a moment) is working: try again soon,
 * with no longer backoff. Backing off while it works let the queue outgrow
 * what each retry could take, up to its bound (records dropped). */
#define RETRY_BUSY_MS 100
/* A sink's queue that held this many records and then emptied was a burst
 * (the start-up's, or an outage): the heap's pages it left free are given
 * back (malloc_trim) instead of staying resident in the holes between live
 * chunks. */
#define TRIM_AFTER_RECORDS 16
#define DERIVED_MAX 64      /* records calculators may emit per record */

struct derived {
    collector_record *rec;
    size_t stage;
};

struct pipeline {
    int sync;
    struct fresh_book *book; /* every producer's newest record (locks itself) */
    /* `lock` guards the queue, `stopping`, `dropped`, `next_retry_ms`. */
    pthread_mutex_t lock;
    pthread_cond_t work;
    collector_record *queue[QUEUE_MAX];
    size_t qhead, qlen;
    int stopping;
    unsigned long dropped;
    int64_t next_retry_ms; /* 0: no sink waits for a retry */
    pthread_t thread;
    int started;

    /* Held by the dispatcher while it runs a record; pause() takes it. */
    pthread_mutex_t run_lock;
    struct instance **stages;
    size_t nstages;
    /* Only the running thread touches these. */
    size_t current_stage;
    collector_record *current;
    struct derived derived[DERIVED_MAX];
    size_t nderived;
    _Atomic int64_t busy_since_ms;
};


static const char *errtext(int rc)
{
    return strerror(rc < 0 ? -rc : rc);
}

/* ---- a sink's retry queue ---- */

static collector_record *sinkq_pop(struct instance *in)
{
    struct sink_queue *q = &in->q;
    collector_record *rec = q->v[q->head];

    q->head = (q->head + 1) % q->cap;
    q->len--;
    q->bytes -= record_bytes(rec);
    return rec;
}

/* Keep `rec` (taken) at the end of the queue; past the bound in records or
 * bytes the oldest go, counted. */
static int sinkq_push(struct instance *in, collector_record *rec)
{
    struct sink_queue *q = &in->q;
    size_t size = record_bytes(rec);

    if (q->cap == 0) {
        q->v = calloc(SINKQ_MAX, sizeof(*q->v));
        if (q->v == NULL) {
            record_free(rec);
            return -ENOMEM;
        }
        q->cap = SINKQ_MAX;
    }
    while (q->len == q->cap || (q->len > 0 && q->bytes + size > SINKQ_BYTES_MAX)) {
        record_free(sinkq_pop(in));
        in->dropped_full++;
        if (in->dropped++ % 100 == 0)
            log_msg(in->name, COLLECTOR_LOG_WARNING,
                    "retry queue full (%zu records, %zu kB): dropped the oldest, %lu so far",
                    q->len, q->bytes / 1024, in->dropped_full);
    }
    q->v[(q->head + q->len) % q->cap] = rec;
    q->len++;
    q->bytes += size;
    if (q->len > q->most)
        q->most = q->len;
    return 0;
}

static void note_failure(struct instance *in, int rc, const collector_record *rec)
{
    if (!in->failing || in->last_rc != rc)
        log_msg(in->name, COLLECTOR_LOG_WARNING, "%s failed: %s (record from %s)",
                in->kind == COLLECTOR_KIND_SINK ? "write" : "process", errtext(rc),
                record_source(rec));
    in->failing = 1;
    in->last_rc = rc;
}

static void note_success(struct instance *in)
{
    if (in->failing)
        log_msg(in->name, COLLECTOR_LOG_INFO, "working again");
    in->failing = 0;
}

/* The sink answered `rc` for `rec` (borrowed). */
static void sink_result(struct instance *in, const collector_record *rec, int rc, int64_t now)
{
    if (rc == 0) {
        in->written++;
        note_success(in);
        return;
    }
    if (rc == -EAGAIN && instance_can_retry(in)) {
        collector_record *copy = record_clone(rec);
        if (copy != NULL && sinkq_push(in, copy) == 0) {
            if (in->q.backoff_ms == 0)
                in->q.backoff_ms = RETRY_FIRST_MS;
            in->q.next_try_ms = now + in->q.backoff_ms;
            in->q.last_rc = rc;
            return;
        }
        rc = -ENOMEM;
    }
    in->dropped++;
    in->dropped_refused++;
    note_failure(in, rc, rec);
}

/* The queue is empty or given up: no retry pending, a new outage counts anew. */
static void sinkq_settled(struct instance *in)
{
    in->q.backoff_ms = 0;
    in->q.next_try_ms = 0;
    in->q.delivered = 0;
    in->q.refused = 0;
    in->q.stalled = 0;
}

/* Write what `in` keeps, oldest first, until it asks to wait again. */
static void sink_retry(struct instance *in, int64_t now)
{
    size_t before = in->q.len;

    while (in->q.len > 0) {
        collector_record *rec = in->q.v[in->q.head];
        int rc = in->lp->desc.write(in->state, rec);
        if (rc == -EAGAIN && in->q.len < before) {
            in->q.backoff_ms = RETRY_FIRST_MS;
            in->q.next_try_ms = now + RETRY_BUSY_MS;
            return;
        }
        if (rc == -EAGAIN) {
            in->q.backoff_ms = in->q.backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                                    : in->q.backoff_ms * 2;
            in->q.next_try_ms = now + in->q.backoff_ms;
            in->q.stalled = 1;
            return;
        }
        sinkq_pop(in);
        if (rc == 0) {
            in->q.delivered++;
            in->written++;
            note_success(in);
        } else {
            in->q.refused++;
            in->dropped++;
            in->dropped_refused++;
            note_failure(in, rc, rec);
        }
        record_free(rec);
    }
    /* said after an outage, not after every moment of a full window; what
     * the sink refused is not "delivered" */
    if (before > 0 && in->q.stalled && in->q.refused > 0)
        log_msg(in->name, COLLECTOR_LOG_INFO,
                "of the record(s) it had kept: %zu delivered, %zu refused (dropped)",
                in->q.delivered, in->q.refused);
    else if (before > 0 && in->q.stalled)
        log_msg(in->name, COLLECTOR_LOG_INFO, "delivered the %zu record(s) it had kept",
                in->q.delivered);
    if (in->q.most >= TRIM_AFTER_RECORDS) {
        int gave = malloc_trim(0);
        log_msg(in->name, COLLECTOR_LOG_DEBUG, "its queue (at most %zu records) emptied: %s",
                in->q.most, gave ? "free heap pages given back" : "no heap page to give back");
    }
    in->q.most = 0;
    sinkq_settled(in);
}

/* ---- running records ---- */

/* `rec` (borrowed) reaches sink `in`: behind what it keeps, or written. */
static void sink_take(struct instance *in, const collector_record *rec, int64_t now)
{
    in->received++;
    if (in->q.len > 0) {
        collector_record *copy = record_clone(rec); /* keep the order */
        if (copy == NULL || sinkq_push(in, copy) < 0) {
            in->dropped++;
            in->dropped_refused++; /* out of memory */
        }
        return;
    }
    sink_result(in, rec, in->lp->desc.write(in->state, rec), now);
}

static void run_record(struct pipeline *pl, collector_record *rec, size_t from_stage)
{
    int64_t now = clock_mono_ms();
    uint32_t kind = record_kind(rec);

    for (size_t i = from_stage; i < pl->nstages; i++) {
        struct instance *in = pl->stages[i];
        int rc;

        if (!loader_takes_kind(in->lp, kind))
            continue; /* an event goes only to the plugins that ask for it */
        if (in->kind == COLLECTOR_KIND_CALCULATOR) {
            pl->current_stage = i;
            pl->current = rec;
            rc = in->lp->desc.process(in->state, rec);
            pl->current = NULL;
            if (rc != 0) {
                in->process_failures++;
                note_failure(in, rc, rec);
            } else {
                note_success(in);
            }
        } else {
            sink_take(in, rec, now);
        }
    }
    record_free(rec);
}

/* A record and everything the calculators emitted while it ran. */
static void run_with_derived(struct pipeline *pl, collector_record *rec)
{
    size_t next = 0;

    pl->nderived = 0;
    run_record(pl, rec, 0);
    while (next < pl->nderived) {
        struct derived d = pl->derived[next++];
        run_record(pl, d.rec, d.stage);
    }
    pl->nderived = 0;
}

static void retry_due(struct pipeline *pl, int64_t now)
{
    int64_t next = 0;

    for (size_t i = 0; i < pl->nstages; i++) {
        struct instance *in = pl->stages[i];
        if (in->kind != COLLECTOR_KIND_SINK || in->q.len == 0)
            continue;
        if (in->q.next_try_ms <= now)
            sink_retry(in, now);
        if (in->q.len > 0 && (next == 0 || in->q.next_try_ms < next))
            next = in->q.next_try_ms;
    }
    pthread_mutex_lock(&pl->lock);
    pl->next_retry_ms = next;
    pthread_mutex_unlock(&pl->lock);
}

void pipeline_submit(struct pipeline *pl, struct instance *from, collector_record *rec)
{
    if (from != NULL && from->kind == COLLECTOR_KIND_CALCULATOR) {
        /* Inside process() on the running thread: after the current record. */
        if (pl->nderived == DERIVED_MAX || pl->current == NULL) {
            log_msg(from->name, COLLECTOR_LOG_WARNING,
                    "emitted a record outside process() or too many: dropped");
            record_free(rec);
            return;
        }
        record_set_interval_ms(rec, record_interval_ms(pl->current));
        (void)fresh_book_note(pl->book, rec); /* out of memory: the source stays unknown */
        pl->derived[pl->nderived].rec = rec;
        pl->derived[pl->nderived].stage = pl->current_stage + 1;
        pl->nderived++;
        return;
    }
    (void)fresh_book_note(pl->book, rec);
    if (pl->sync) {
        pthread_mutex_lock(&pl->run_lock);
        run_with_derived(pl, rec);
        pthread_mutex_unlock(&pl->run_lock);
        return;
    }
    pthread_mutex_lock(&pl->lock);
    if (pl->qlen == QUEUE_MAX) {
        /* The sinks are behind: the oldest record goes, the newest stays. */
        record_free(pl->queue[pl->qhead]);
        pl->qhead = (pl->qhead + 1) % QUEUE_MAX;
        pl->qlen--;
        if (pl->dropped++ % 100 == 0)
            log_msg(LOG_CORE, COLLECTOR_LOG_WARNING,
                    "pipeline queue full: dropped %lu oldest record(s) so far", pl->dropped);
    }
    pl->queue[(pl->qhead + pl->qlen) % QUEUE_MAX] = rec;
    pl->qlen++;
    pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->lock);
}

static void *dispatcher_main(void *arg)
{
    struct pipeline *pl = arg;

    pthread_mutex_lock(&pl->lock);
    for (;;) {
        collector_record *rec = NULL;
        int64_t now;

        while (pl->qlen == 0 && !pl->stopping) {
            if (pl->next_retry_ms > 0) {
                int64_t wait = pl->next_retry_ms - clock_mono_ms();
                struct timespec ts;
                if (wait <= 0 || clock_mono_after(wait, &ts) != 0)
                    break;
                pthread_cond_timedwait(&pl->work, &pl->lock, &ts);
            } else {
                pthread_cond_wait(&pl->work, &pl->lock);
            }
        }
        if (pl->qlen == 0 && pl->stopping)
            break;
        if (pl->qlen > 0) {
            rec = pl->queue[pl->qhead];
            pl->qhead = (pl->qhead + 1) % QUEUE_MAX;
            pl->qlen--;
        }
        pthread_mutex_unlock(&pl->lock);

        pthread_mutex_lock(&pl->run_lock);
        now = clock_mono_ms();
        pl->busy_since_ms = now ? now : 1;
        if (rec != NULL)
            run_with_derived(pl, rec);
        retry_due(pl, clock_mono_ms());
        pl->busy_since_ms = 0;
        pthread_mutex_unlock(&pl->run_lock);

        pthread_mutex_lock(&pl->lock);
    }
    pthread_mutex_unlock(&pl->lock);
    return NULL;
}

int pipeline_new(int sync, struct pipeline **out)
{
    struct pipeline *pl = calloc(1, sizeof(*pl));
    pthread_condattr_t ca;

    if (pl == NULL)
        return -ENOMEM;
    if (fresh_book_new(&pl->book) < 0) {
        free(pl);
        return -ENOMEM;
    }
    pl->sync = sync;
    pthread_mutex_init(&pl->lock, NULL);
    pthread_mutex_init(&pl->run_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pl->work, &ca);
    pthread_condattr_destroy(&ca);
    *out = pl;
    return 0;
}

int pipeline_set_stages(struct pipeline *pl, struct instance *const *stages, size_t n)
{
    struct instance **copy = calloc(n ? n : 1, sizeof(*copy));

    if (copy == NULL)
        return -ENOMEM;
    if (n > 0)
        memcpy(copy, stages, n * sizeof(*copy));
    free(pl->stages);
    pl->stages = copy;
    pl->nstages = n;
    return 0;
}

int pipeline_start(struct pipeline *pl)
{
    int rc;

    if (pl->sync || pl->started)
        return 0;
    rc = pthread_create(&pl->thread, NULL, dispatcher_main, pl);
    if (rc != 0)
        return -rc;
    pl->started = 1;
    return 0;
}

void pipeline_pause(struct pipeline *pl)
{
    pthread_mutex_lock(&pl->run_lock);
}

void pipeline_resume(struct pipeline *pl)
{
    pthread_mutex_unlock(&pl->run_lock);
    pthread_mutex_lock(&pl->lock);
    pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->lock);
}

int pipeline_flush(struct instance *const *stages, size_t n, int64_t deadline_ms,
                   int64_t timeout_ms)
{
    int undelivered = 0;

    for (size_t i = 0; i < n; i++) {
        struct instance *in = stages[i];
        int rc = 0, can_retry = instance_can_retry(in);

        if (in->kind != COLLECTOR_KIND_SINK || !in->created || !in->started)
            continue;
        for (;;) {
            if (in->q.len > 0)
                sink_retry(in, clock_mono_ms());
            rc = in->lp->desc.flush ? in->lp->desc.flush(in->state) : 0;
            if ((rc == 0 && in->q.len == 0) || !can_retry || (rc < 0 && rc != -EAGAIN))
                break;
            if (clock_mono_ms() >= deadline_ms)
                break;
            {
                struct timespec ts = {0, 100 * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        if (in->q.len > 0 || rc != 0) {
            size_t left = in->q.len;
            while (in->q.len > 0)
                record_free(sinkq_pop(in));
            in->dropped += left;
            in->dropped_deadline += left;
            undelivered++;
            if (left > 0)
                log_msg(in->name, COLLECTOR_LOG_ERROR,
                        "%zu record(s) dropped: not delivered within %.3g s (%s)", left,
                        (double)timeout_ms / 1000.0,
                        in->q.last_rc == -EAGAIN ? "the sink was not ready"
                                                 : errtext(in->q.last_rc));
            else
                log_msg(in->name, COLLECTOR_LOG_ERROR, "flush did not complete: %s",
                        rc == -EAGAIN ? "still delivering at the deadline" : errtext(rc));
        }
        sinkq_settled(in);
    }
    return undelivered;
}

struct fresh_book *pipeline_book(struct pipeline *pl)
{
    return pl->book;
}

int64_t pipeline_busy_ms(struct pipeline *pl)
{
    int64_t since = pl->busy_since_ms;

    return since ? clock_mono_ms() - since : 0;
}

unsigned long pipeline_dropped(struct pipeline *pl)
{
    unsigned long d;

    pthread_mutex_lock(&pl->lock);
    d = pl->dropped;
    pthread_mutex_unlock(&pl->lock);
    return d;
}

void pipeline_stop(struct pipeline *pl)
{
    if (pl == NULL || !pl->started)
        return;
    pthread_mutex_lock(&pl->lock);
    pl->stopping = 1;
    pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->lock);
    pthread_join(pl->thread, NULL); /* it drains the queue first */
    pl->started = 0;
}

void pipeline_free(struct pipeline *pl)
{
    if (pl == NULL)
        return;
    pipeline_stop(pl);
    while (pl->qlen > 0) { /* never started, or sync: free what is left */
        record_free(pl->queue[pl->qhead]);
        pl->qhead = (pl->qhead + 1) % QUEUE_MAX;
        pl->qlen--;
    }
    free(pl->stages);
    fresh_book_free(pl->book);
    pthread_cond_destroy(&pl->work);
    pthread_mutex_destroy(&pl->run_lock);
    pthread_mutex_destroy(&pl->lock);
    free(pl);
}

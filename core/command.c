/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/command.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/instance.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/record.h"
#include "core/statefile.h"

#define SLOTS 128   /* commands queued, in flight, or recently finished */
#define RETURNS_MAX 32
#define SOURCES_MAX 64

enum { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct slot {
    int state;
    uint64_t id;
    struct instance *in; /* queued or running: its source */
    char target[64], name[32], value[8], origin[128];
    uint32_t flags;
    int64_t duration_ms;
    int64_t started_ms; /* monotonic */
    uint32_t outcome;
    char detail[256];
};

/* A switch that goes back to `value` at `due_ns` (realtime). */
struct timed_return {
    int used;
    char target[64], name[32], value[8];
    int64_t due_ns;
    uint64_t inflight; /* the timer's own command, while it runs */
};

/* What the newest record of a source said about its switches. */
static const char *const switch_metrics[] = {"charge_switch", "discharge_switch",
                                             "balancer_switch", "charging_enabled",
                                             "discharging_enabled", NULL};
#define NSWITCH 5
struct seen {
    char name[64];
    int64_t time_ns, fresh_until_ns;
    int sw[NSWITCH]; /* -1 unknown */
};

struct command_center {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* an outcome, a return, stop */
    const char *state_dir;
    struct pipeline *pl;
    struct instance **inst;
    size_t n;
    /* SLOTS slots, mapped, of which the first `used` have ever held a
     * command: a free slot is reused before a new one is taken, and nothing reads
     * past `used`, so the pages of slots never used are never touched (68 kB
     * that a calloc would write, or a scan read, resident for the daemon's
     * life on a host that sends no command) */
    struct slot *slots;
    size_t used;
    uint64_t next_id;
    struct timed_return ret[RETURNS_MAX];
    struct seen seen[SOURCES_MAX];
    size_t nseen;
    int stopping, started;
    int64_t timeout_ms; /* COMMAND_TIMEOUT_MS, or less for test suites */
    pthread_t thread;
};

const char *command_outcome_name(uint32_t outcome)
{
    switch (outcome) {
    case COLLECTOR_OUTCOME_CONFIRMED:
        return "confirmed";
    case COLLECTOR_OUTCOME_REFUSED:
        return "refused";
    case COLLECTOR_OUTCOME_NOT_CONFIRMED:
        return "not confirmed";
    case COLLECTOR_OUTCOME_FAILED:
        return "failed";
    default:
        return "unknown";
    }
}

int command_center_new(const char *state_dir, struct pipeline *pl, struct command_center **out)
{
    struct command_center *cc = calloc(1, sizeof(*cc));
    pthread_condattr_t ca;

    if (cc == NULL)
        return -ENOMEM;
    cc->slots = mmap(NULL, SLOTS * sizeof(*cc->slots), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cc->slots == MAP_FAILED) { /* zero-filled: SLOT_FREE */
        free(cc);
        return -ENOMEM;
    }
    cc->state_dir = state_dir;
    cc->pl = pl;
    cc->next_id = 1;
    cc->timeout_ms = COMMAND_TIMEOUT_MS;
    {
        /* COLLECTOR_COMMAND_TIMEOUT_MS lowers the limit for test suites; never set it in
         * production (like COLLECTOR_INTERVAL_FLOOR_MS) */
        const char *env = getenv("COLLECTOR_COMMAND_TIMEOUT_MS");
        char *end;
        long long v = env != NULL && *env != '\0' ? strtoll(env, &end, 10) : 0;
        if (v > 0 && v < COMMAND_TIMEOUT_MS && *end == '\0')
            cc->timeout_ms = v;
    }
    pthread_mutex_init(&cc->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cc->changed, &ca);
    pthread_condattr_destroy(&ca);
    *out = cc;
    return 0;
}

/* ---- timed returns, persisted ---- */

static void returns_save(struct command_center *cc)
{
    char buf[RETURNS_MAX * 128 + 1];
    size_t len = 0;
    int rc;

    for (size_t i = 0; i < RETURNS_MAX; i++) {
        const struct timed_return *r = &cc->ret[i];
        int k;
        if (!r->used)
            continue;
        k = snprintf(buf + len, sizeof(buf) - len, "%s %s %s %" PRId64 "\n", r->target, r->name,
                     r->value, r->due_ns);
        if (k < 0 || (size_t)k >= sizeof(buf) - len)
            break;
        len += (size_t)k;
    }
    rc = statefile_write(cc->state_dir, COMMAND_STATE_FILE, buf, len);
    if (rc < 0)
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR,
                "cannot save the pending timed returns in %s/%s: %s (they will not survive a "
                "restart)",
                cc->state_dir, COMMAND_STATE_FILE, strerror(-rc));
}

static void returns_load(struct command_center *cc)
{
    char buf[RETURNS_MAX * 128 + 1], *line, *next;
    size_t len = 0, k = 0;
    unsigned lineno = 0;
    int rc = statefile_read(cc->state_dir, COMMAND_STATE_FILE, buf, sizeof(buf) - 1, &len);

    if (rc == -ENOENT)
        return;
    if (rc < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s/%s: cannot read the pending timed returns: %s",
                cc->state_dir, COMMAND_STATE_FILE, strerror(-rc));
        return;
    }
    buf[len] = '\0';
    for (line = buf; line != NULL && *line != '\0'; line = next) {
        char target[64], name[32], value[8];
        long long due;
        struct timed_return *r;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (sscanf(line, "%63s %31s %7s %lld", target, name, value, &due) != 4 ||
            !names_is_instance(target) || !names_is_symbol(name) ||
            (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) || k == RETURNS_MAX) {
            log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s/%s:%u: not a timed return, ignored",
                    cc->state_dir, COMMAND_STATE_FILE, lineno);
            continue;
        }
        r = &cc->ret[k++];
        r->used = 1;
        snprintf(r->target, sizeof(r->target), "%s", target);
        snprintf(r->name, sizeof(r->name), "%s", name);
        snprintf(r->value, sizeof(r->value), "%s", value);
        r->due_ns = due;
        log_msg(target, COLLECTOR_LOG_INFO, "pending: %s returns to %s in %lld s (from %s)",
                name, value, (long long)((due - clock_real_ns()) / 1000000000), COMMAND_STATE_FILE);
    }
}

static struct timed_return *return_find(struct command_center *cc, const char *target,
                                        const char *name)
{
    for (size_t i = 0; i < RETURNS_MAX; i++)
        if (cc->ret[i].used && strcmp(cc->ret[i].target, target) == 0 &&
            strcmp(cc->ret[i].name, name) == 0)
            return &cc->ret[i];
    return NULL;
}

/* ---- outcomes: audit line, event record, waiters ---- */

static struct instance *find_instance(struct command_center *cc, const char *name)
{
    for (size_t i = 0; i < cc->n; i++)
        if (strcmp(cc->inst[i]->name, name) == 0)
            return cc->inst[i];
    return NULL;
}

static void fmt_duration(char *buf, size_t size, int64_t ms)
{
    if (ms <= 0)
        snprintf(buf, size, "%s", "");
    else if (ms % 3600000 == 0)
        snprintf(buf, size, " for %lld h", (long long)(ms / 3600000));
    else if (ms % 60000 == 0)
        snprintf(buf, size, " for %lld min", (long long)(ms / 60000));
    else
        snprintf(buf, size, " for %.3g s", (double)ms / 1000.0);
}

/* Make the event record of a finished slot (under the lock); submitted by
 * the caller after unlocking. */
static collector_record *outcome_event(struct command_center *cc, const struct slot *s)
{
    collector_record *rec = NULL;
    struct instance *in = find_instance(cc, s->target);

    if (record_new(s->target, clock_real_ns(), &rec) < 0)
        return NULL;
    record_set_kind(rec, COLLECTOR_RECORD_EVENT);
    record_set_interval_ms(rec, in ? in->interval_ms : 0);
    record_set_int(rec, "command_id", (int64_t)s->id);
    record_set_string(rec, "command", s->name);
    record_set_string(rec, "requested", s->value);
    record_set_string(rec, "outcome", command_outcome_name(s->outcome));
    record_set_string(rec, "origin", s->origin);
    record_set_string(rec, "detail", s->detail);
    if (s->duration_ms > 0)
        record_set_int(rec, "duration_ms", s->duration_ms);
    return rec;
}

/* Settle the timed returns after an outcome (under the lock). */
static void settle_returns(struct command_center *cc, const struct slot *s)
{
    struct timed_return *r = return_find(cc, s->target, s->name);
    int timer = strcmp(s->origin, "timer") == 0;

    if (timer && r != NULL && r->inflight != 0) { /* one timer command per switch */
        r->inflight = 0;
        if (s->outcome == COLLECTOR_OUTCOME_CONFIRMED) {
            r->used = 0;
        } else {
            r->due_ns = clock_real_ns() + (int64_t)COMMAND_RETRY_RETURN_MS * 1000000;
            log_msg(s->target, COLLECTOR_LOG_WARNING,
                    "timed return of %s to %s %s: trying again in %d s", s->name, s->value,
                    command_outcome_name(s->outcome), COMMAND_RETRY_RETURN_MS / 1000);
        }
        returns_save(cc);
        return;
    }
    if (s->outcome != COLLECTOR_OUTCOME_CONFIRMED || timer)
        return;
    if (s->duration_ms > 0) {
        if (r == NULL)
            for (size_t i = 0; i < RETURNS_MAX && r == NULL; i++)
                if (!cc->ret[i].used)
                    r = &cc->ret[i];
        if (r == NULL) {
            log_msg(s->target, COLLECTOR_LOG_ERROR,
                    "%s: no room for another timed return (%d): it will not return by itself",
                    s->name, RETURNS_MAX);
            return;
        }
        memset(r, 0, sizeof(*r));
        r->used = 1;
        snprintf(r->target, sizeof(r->target), "%s", s->target);
        snprintf(r->name, sizeof(r->name), "%s", s->name);
        snprintf(r->value, sizeof(r->value), "%s", strcmp(s->value, "on") == 0 ? "off" : "on");
        r->due_ns = clock_real_ns() + s->duration_ms * 1000000;
        returns_save(cc);
    } else if (r != NULL && r->inflight == 0) {
        /* a later command of the same switch replaces the pending return */
        log_msg(s->target, COLLECTOR_LOG_INFO, "pending return of %s to %s cancelled by command %" PRIu64,
                s->name, r->value, s->id);
        r->used = 0;
        returns_save(cc);
    }
}

/* Finish slot `s` (under the lock): audit, returns, waiters; returns the
 * event to submit after unlocking. */
static collector_record *finish(struct command_center *cc, struct slot *s, uint32_t outcome,
                                const char *detail)
{
    char dur[32];
    int64_t took = s->started_ms ? clock_mono_ms() - s->started_ms : 0;

    s->state = SLOT_DONE;
    s->in = NULL;
    s->outcome = outcome;
    snprintf(s->detail, sizeof(s->detail), "%s", detail ? detail : "");
    for (char *p = s->detail; *p; p++) /* one line, whatever a plugin says */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fmt_duration(dur, sizeof(dur), s->duration_ms);
    log_msg(s->target,
            outcome == COLLECTOR_OUTCOME_CONFIRMED ? COLLECTOR_LOG_INFO : COLLECTOR_LOG_WARNING,
            "command %" PRIu64 " from %s: %s %s%s: %s%s%s (%lld ms)", s->id, s->origin, s->name,
            s->value, dur, command_outcome_name(outcome), s->detail[0] ? ": " : "", s->detail,
            (long long)took);
    settle_returns(cc, s);
    pthread_cond_broadcast(&cc->changed);
    return outcome_event(cc, s);
}

/* Into the pipeline like a source's record (its source is the battery). */
static void submit_event(struct command_center *cc, collector_record *ev)
{
    if (ev == NULL)
        return;
    if (cc->pl != NULL)
        pipeline_submit(cc->pl, NULL, ev);
    else
        record_free(ev);
}

static struct slot *slot_new(struct command_center *cc)
{
    struct slot *oldest = NULL;

    for (size_t i = 0; i < cc->used; i++) {
        struct slot *s = &cc->slots[i];
        if (s->state == SLOT_FREE)
            return s;
        if (s->state == SLOT_DONE && (oldest == NULL || s->id < oldest->id))
            oldest = s;
    }
    if (cc->used < SLOTS) /* a finished command's slot is kept while others are left */
        return &cc->slots[cc->used++];
    return oldest;
}

static struct slot *slot_find(struct command_center *cc, uint64_t id)
{
    for (size_t i = 0; i < cc->used; i++)
        if (cc->slots[i].state != SLOT_FREE && cc->slots[i].id == id)
            return &cc->slots[i];
    return NULL;
}

/* Wake `in`'s poll thread (cc->lock held: `in` is alive while it is in the
 * set, and it leaves the set before it is closed). */
static void wake(struct instance *in)
{
    if (in == NULL)
        return;
    pthread_mutex_lock(&in->lock);
    in->cmd_wake = 1;
    pthread_cond_broadcast(&in->tick);
    pthread_mutex_unlock(&in->lock);
}

/* ---- checks ---- */

static const struct collector_command_def *find_def(const struct instance *in, const char *name)
{
    const struct collector_command_def *d;

    if (in->lp->desc.abi_minor < 2 || in->lp->desc.commands == NULL ||
        in->lp->desc.command == NULL)
        return NULL;
    for (d = in->lp->desc.commands; d->name != NULL; d++)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

static int allowed(const struct instance *in, const char *name)
{
    for (size_t i = 0; i < in->ncontrol; i++)
        if (strcmp(in->control[i], name) == 0)
            return 1;
    return 0;
}

/* The reasons a command is refused before it is queued (under the lock). */
static int check(struct command_center *cc, const struct collector_command *cmd,
                 struct instance **in_out, char *reason, size_t size)
{
    struct instance *in;
    const struct collector_command_def *def;
    size_t queued = 0, running = 0;

    if (cc->stopping) {
        snprintf(reason, size, "the daemon is stopping");
        return -ECANCELED;
    }
    in = find_instance(cc, cmd->target);
    if (in == NULL || in->kind != COLLECTOR_KIND_SOURCE) {
        snprintf(reason, size, "no source named \"%s\"", cmd->target);
        return -ENOENT;
    }
    def = find_def(in, cmd->name);
    if (def == NULL) {
        snprintf(reason, size, "%s (plugin %s) has no command \"%s\"", in->name, in->plugin,
                 cmd->name);
        return -EOPNOTSUPP;
    }
    if (def->type == COLLECTOR_SETTING_BOOL && strcmp(cmd->value, "on") != 0 &&
        strcmp(cmd->value, "off") != 0) {
        snprintf(reason, size, "%s takes on or off, not \"%s\"", cmd->name, cmd->value);
        return -EINVAL;
    }
    if (!allowed(in, cmd->name)) {
        snprintf(reason, size, "%s is not allowed on %s (its control setting does not list it)",
                 cmd->name, in->name);
        return -EPERM;
    }
    for (size_t i = 0; i < cc->used; i++) {
        if (cc->slots[i].in != in)
            continue;
        queued += cc->slots[i].state == SLOT_QUEUED;
        running += cc->slots[i].state == SLOT_RUNNING;
    }
    if (queued >= COMMAND_QUEUE_MAX) {
        snprintf(reason, size, "busy: %zu command(s) in flight and %zu waiting for %s", running,
                 queued, in->name);
        return -EBUSY;
    }
    for (size_t i = 0; i < cc->n; i++) {
        struct instance *c = cc->inst[i];
        char why[200] = "";
        int rc;
        if (c->kind != COLLECTOR_KIND_CALCULATOR || c->lp->desc.abi_minor < 2 ||
            c->lp->desc.vet_command == NULL)
            continue;
        rc = c->lp->desc.vet_command(c->state, cmd, why, sizeof(why));
        if (rc != 0) {
            why[sizeof(why) - 1] = '\0';
            /* an instance name is at most 63 bytes; a reason is one line */
            snprintf(reason, size, "%.63s: %.120s", c->name, why[0] ? why : "refused");
            return -EPERM;
        }
    }
    *in_out = in;
    return 0;
}

int command_allowed(struct command_center *cc, const char *source, const char *name)
{
    struct instance *in;
    int ok = 0;

    pthread_mutex_lock(&cc->lock);
    in = find_instance(cc, source);
    /* control lists only commands the plugin offers (read_control) */
    if (in != NULL && in->kind == COLLECTOR_KIND_SOURCE)
        ok = allowed(in, name);
    pthread_mutex_unlock(&cc->lock);
    return ok;
}

int command_submit(struct command_center *cc, const struct collector_command *cmd,
                   uint64_t *id, char *reason, size_t size)
{
    struct collector_command c;
    struct instance *in = NULL;
    struct slot *s;
    collector_record *ev = NULL;
    char why[256] = "";
    int rc;

    if (cc == NULL || cmd == NULL || cmd->target == NULL || cmd->name == NULL)
        return -EINVAL;
    c = *cmd;
    if (c.value == NULL)
        c.value = "";
    if (c.origin == NULL || c.origin[0] == '\0')
        c.origin = "unknown";
    pthread_mutex_lock(&cc->lock);
    c.id = cc->next_id++;
    rc = check(cc, &c, &in, why, sizeof(why));
    s = slot_new(cc);
    if (s == NULL && rc == 0) {
        snprintf(why, sizeof(why), "busy: %d commands pending in the daemon", SLOTS);
        rc = -EBUSY;
    }
    if (s != NULL) {
        memset(s, 0, sizeof(*s));
        s->id = c.id;
        snprintf(s->target, sizeof(s->target), "%s", c.target);
        snprintf(s->name, sizeof(s->name), "%s", c.name);
        snprintf(s->value, sizeof(s->value), "%s", c.value);
        snprintf(s->origin, sizeof(s->origin), "%s", c.origin);
        s->flags = c.flags;
        s->duration_ms = c.duration_ms > 0 ? c.duration_ms : 0;
        s->state = SLOT_QUEUED;
        s->in = in;
        if (rc < 0)
            ev = finish(cc, s, COLLECTOR_OUTCOME_REFUSED, why);
    } else {
        log_msg(c.target, COLLECTOR_LOG_WARNING, "command %" PRIu64 " from %s: %s %s: refused: %s",
                c.id, c.origin, c.name, c.value, why);
    }
    if (rc == 0) {
        log_msg(c.target, COLLECTOR_LOG_DEBUG, "command %" PRIu64 " from %s: %s %s: queued",
                c.id, c.origin, c.name, c.value);
        wake(in);
    }
    pthread_mutex_unlock(&cc->lock);
    if (id != NULL)
        *id = c.id;
    if (reason != NULL && size > 0)
        snprintf(reason, size, "%s", why);
    submit_event(cc, ev);
    return rc;
}

void command_done(struct command_center *cc, uint64_t id, uint32_t outcome, const char *detail)
{
    struct slot *s;
    collector_record *ev = NULL;
    struct instance *in;

    if (cc == NULL)
        return;
    if (outcome < COLLECTOR_OUTCOME_CONFIRMED || outcome > COLLECTOR_OUTCOME_FAILED)
        outcome = COLLECTOR_OUTCOME_FAILED;
    pthread_mutex_lock(&cc->lock);
    s = slot_find(cc, id);
    if (s == NULL || s->state != SLOT_RUNNING) {
        pthread_mutex_unlock(&cc->lock);
        log_msg(LOG_CORE, COLLECTOR_LOG_DEBUG, "command %" PRIu64 ": late or unknown outcome %s ignored",
                id, command_outcome_name(outcome));
        return;
    }
    in = s->in;
    ev = finish(cc, s, outcome, detail);
    wake(in); /* its next command may run now */
    pthread_mutex_unlock(&cc->lock);
    submit_event(cc, ev);
}

int command_wait(struct command_center *cc, uint64_t id, int64_t timeout_ms, uint32_t *outcome,
                 char *detail, size_t size)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int rc = -ETIMEDOUT;

    pthread_mutex_lock(&cc->lock);
    for (;;) {
        struct slot *s = slot_find(cc, id);
        struct timespec ts;
        if (s == NULL) {
            rc = -ENOENT;
            break;
        }
        if (s->state == SLOT_DONE) {
            *outcome = s->outcome;
            if (detail != NULL && size > 0)
                snprintf(detail, size, "%s", s->detail);
            rc = 0;
            break;
        }
        if (cc->stopping) {
            rc = -ECANCELED;
            break;
        }
        if (deadline - clock_mono_ms() <= 0 ||
            clock_mono_after(deadline - clock_mono_ms(), &ts) != 0)
            break;
        pthread_cond_timedwait(&cc->changed, &cc->lock, &ts);
    }
    pthread_mutex_unlock(&cc->lock);
    return rc;
}

void command_run_queued(struct command_center *cc, struct instance *in)
{
    struct slot *next = NULL;
    struct collector_command c;
    char target[64], name[32], value[8], origin[128];
    uint64_t id;
    int rc;

    pthread_mutex_lock(&cc->lock);
    for (size_t i = 0; i < cc->used; i++) {
        struct slot *s = &cc->slots[i];
        if (s->in != in)
            continue;
        if (s->state == SLOT_RUNNING) {
            pthread_mutex_unlock(&cc->lock);
            return; /* one at a time */
        }
        if (s->state == SLOT_QUEUED && (next == NULL || s->id < next->id))
            next = s;
    }
    if (next == NULL || cc->stopping) {
        pthread_mutex_unlock(&cc->lock);
        return;
    }
    next->state = SLOT_RUNNING;
    next->started_ms = clock_mono_ms();
    if (next->started_ms == 0)
        next->started_ms = 1;
    id = next->id;
    snprintf(target, sizeof(target), "%s", next->target);
    snprintf(name, sizeof(name), "%s", next->name);
    snprintf(value, sizeof(value), "%s", next->value);
    snprintf(origin, sizeof(origin), "%s", next->origin);
    memset(&c, 0, sizeof(c));
    c.struct_size = (uint32_t)sizeof(c);
    c.flags = next->flags;
    c.id = id;
    c.target = target;
    c.name = name;
    c.value = value;
    c.duration_ms = next->duration_ms;
    c.origin = origin;
    pthread_cond_broadcast(&cc->changed); /* the timer thread watches its time */
    pthread_mutex_unlock(&cc->lock);

    log_msg(in->name, COLLECTOR_LOG_DEBUG, "command %" PRIu64 ": %s %s (from %s) to the device",
            id, name, value, origin);
    rc = in->lp->desc.command(in->state, &c);
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "the source did not start it: %s", strerror(-rc));
        pthread_mutex_lock(&cc->lock);
        {
            struct slot *s = slot_find(cc, id);
            collector_record *ev = NULL;
            if (s != NULL && s->state == SLOT_RUNNING) {
                /* refused by the plugin before anything was sent */
                ev = finish(cc, s, COLLECTOR_OUTCOME_REFUSED, why);
            }
            pthread_mutex_unlock(&cc->lock);
            submit_event(cc, ev);
        }
    }
}

/* ---- the timer thread: host timeouts and timed returns ---- */

static void *timer_main(void *arg)
{
    struct command_center *cc = arg;

    pthread_mutex_lock(&cc->lock);
    while (!cc->stopping) {
        int64_t now = clock_mono_ms(), now_ns = clock_real_ns();
        int64_t wake_ms = INT64_MAX; /* nothing to time: wait for a change */
        struct timed_return fire[RETURNS_MAX];
        size_t nfire = 0;
        collector_record *evs[SLOTS];
        size_t nev = 0;
        struct timespec ts;

        for (size_t i = 0; i < cc->used; i++) {
            struct slot *s = &cc->slots[i];
            if (s->state == SLOT_RUNNING && now - s->started_ms >= cc->timeout_ms) {
                char why[128];
                wake(s->in); /* its next command may run */
                snprintf(why, sizeof(why), "no outcome from the source within %.3g s",
                         (double)cc->timeout_ms / 1000.0);
                evs[nev++] = finish(cc, s, COLLECTOR_OUTCOME_FAILED, why);
            } else if (s->state == SLOT_RUNNING && s->started_ms + cc->timeout_ms < wake_ms) {
                wake_ms = s->started_ms + cc->timeout_ms;
            }
        }
        for (size_t i = 0; i < RETURNS_MAX; i++) {
            struct timed_return *r = &cc->ret[i];
            if (!r->used || r->inflight != 0)
                continue;
            if (r->due_ns <= now_ns) {
                fire[nfire++] = *r;
                r->inflight = 1; /* its command is on its way */
            } else if ((r->due_ns - now_ns) / 1000000 < wake_ms - now) {
                wake_ms = now + (r->due_ns - now_ns) / 1000000 + 1;
            }
        }
        pthread_mutex_unlock(&cc->lock);
        for (size_t i = 0; i < nev; i++)
            submit_event(cc, evs[i]);
        for (size_t i = 0; i < nfire; i++) {
            struct collector_command c = {
                .struct_size = (uint32_t)sizeof(c),
                .target = fire[i].target,
                .name = fire[i].name,
                .value = fire[i].value,
                .origin = "timer",
            };
            uint64_t id = 0;
            char why[256];
            log_msg(fire[i].target, COLLECTOR_LOG_INFO, "timed return: %s back to %s",
                    fire[i].name, fire[i].value);
            /* a refusal settles the return (retry later) through finish(), but a
             * source or command this configuration no longer has will not come back */
            int rc = command_submit(cc, &c, &id, why, sizeof(why));
            if (rc == -ENOENT || rc == -EOPNOTSUPP) {
                struct timed_return *r;
                pthread_mutex_lock(&cc->lock);
                r = return_find(cc, fire[i].target, fire[i].name);
                if (r != NULL) {
                    log_msg(fire[i].target, COLLECTOR_LOG_ERROR,
                            "pending return of %s to %s dropped: %s; switch it yourself",
                            fire[i].name, fire[i].value, why);
                    r->used = 0;
                    returns_save(cc);
                }
                pthread_mutex_unlock(&cc->lock);
            }
        }
        pthread_mutex_lock(&cc->lock);
        /* no wake-up while nothing is running or pending (finish() and a slot
         * that starts running broadcast `changed`) */
        if (nfire == 0 && nev == 0 && !cc->stopping && wake_ms == INT64_MAX)
            pthread_cond_wait(&cc->changed, &cc->lock);
        else if (nfire == 0 && nev == 0 && !cc->stopping && wake_ms > clock_mono_ms() &&
                 clock_mono_after(wake_ms - clock_mono_ms(), &ts) == 0)
            pthread_cond_timedwait(&cc->changed, &cc->lock, &ts);
    }
    pthread_mutex_unlock(&cc->lock);
    return NULL;
}

int command_start(struct command_center *cc)
{
    int rc;

    if (cc->started)
        return 0;
    pthread_mutex_lock(&cc->lock);
    returns_load(cc);
    pthread_mutex_unlock(&cc->lock);
    rc = pthread_create(&cc->thread, NULL, timer_main, cc);
    if (rc != 0)
        return -rc;
    cc->started = 1;
    return 0;
}

void command_stop(struct command_center *cc)
{
    if (cc == NULL)
        return;
    pthread_mutex_lock(&cc->lock);
    cc->stopping = 1;
    pthread_cond_broadcast(&cc->changed);
    pthread_mutex_unlock(&cc->lock);
    if (cc->started)
        pthread_join(cc->thread, NULL);
    cc->started = 0;
}

int command_set_instances(struct command_center *cc, struct instance *const *v, size_t n)
{
    struct instance **copy = calloc(n ? n : 1, sizeof(*copy));
    collector_record *evs[SLOTS];
    size_t nev = 0;

    if (copy == NULL)
        return -ENOMEM;
    if (n > 0)
        memcpy(copy, v, n * sizeof(*copy));
    pthread_mutex_lock(&cc->lock);
    for (size_t i = 0; i < cc->used; i++) {
        struct slot *s = &cc->slots[i];
        int kept = 0;
        if (s->in == NULL)
            continue;
        for (size_t j = 0; j < n; j++)
            kept |= copy[j] == s->in;
        if (!kept) {
            evs[nev++] = finish(cc, s, COLLECTOR_OUTCOME_FAILED,
                                "the source was stopped by a reload; its state is unknown");
        }
    }
    free(cc->inst);
    cc->inst = copy;
    cc->n = n;
    pthread_mutex_unlock(&cc->lock);
    for (size_t i = 0; i < nev; i++)
        submit_event(cc, evs[i]);
    return 0;
}

void command_center_free(struct command_center *cc)
{
    if (cc == NULL)
        return;
    command_stop(cc);
    free(cc->inst);
    pthread_cond_destroy(&cc->changed);
    pthread_mutex_destroy(&cc->lock);
    munmap(cc->slots, SLOTS * sizeof(*cc->slots));
    free(cc);
}

/* ---- status ---- */

void command_note_record(struct command_center *cc, const char *source,
                         const collector_record *rec)
{
    int sw[NSWITCH], any = 0;
    struct seen *e = NULL;

    if (cc == NULL || record_kind(rec) != COLLECTOR_RECORD_MEASUREMENT)
        return;
    for (size_t k = 0; k < NSWITCH; k++) {
        int b;
        sw[k] = record_get_bool(rec, switch_metrics[k], &b) == 0 ? (b != 0) : -1;
        any |= sw[k] >= 0;
    }
    if (!any)
        return;
    pthread_mutex_lock(&cc->lock);
    for (size_t i = 0; i < cc->nseen && e == NULL; i++)
        if (strcmp(cc->seen[i].name, source) == 0)
            e = &cc->seen[i];
    if (e == NULL && cc->nseen < SOURCES_MAX) {
        e = &cc->seen[cc->nseen++];
        snprintf(e->name, sizeof(e->name), "%s", source);
    }
    if (e != NULL) {
        e->time_ns = record_time_ns(rec);
        e->fresh_until_ns = record_fresh_until_ns(rec);
        memcpy(e->sw, sw, sizeof(sw));
    }
    pthread_mutex_unlock(&cc->lock);
}

int command_status_json(struct command_center *cc, const char *battery, json_t **out)
{
    json_t *o = json_object(), *sw = json_object(), *pend = json_array(), *allow = json_array();
    struct instance *in;
    int rc = 0;

    if (o == NULL || sw == NULL || pend == NULL || allow == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&cc->lock);
    in = find_instance(cc, battery);
    if (in == NULL || in->kind != COLLECTOR_KIND_SOURCE) {
        pthread_mutex_unlock(&cc->lock);
        rc = -ENOENT;
        goto out;
    }
    for (size_t i = 0; i < in->ncontrol; i++)
        json_array_append_new(allow, json_string(in->control[i]));
    for (size_t i = 0; i < cc->nseen; i++) {
        if (strcmp(cc->seen[i].name, battery) != 0)
            continue;
        json_object_set_new(o, "time_ns", json_integer(cc->seen[i].time_ns));
        json_object_set_new(o, "fresh", json_boolean(clock_real_ns() <= cc->seen[i].fresh_until_ns));
        for (size_t k = 0; k < NSWITCH; k++)
            if (cc->seen[i].sw[k] >= 0)
                json_object_set_new(sw, switch_metrics[k], json_boolean(cc->seen[i].sw[k]));
    }
    for (size_t i = 0; i < RETURNS_MAX; i++) {
        const struct timed_return *r = &cc->ret[i];
        json_t *p;
        if (!r->used || strcmp(r->target, battery) != 0)
            continue;
        p = json_pack("{s:s, s:s, s:I}", "switch", r->name, "value", r->value, "due_ns",
                      (json_int_t)r->due_ns);
        if (p != NULL)
            json_array_append_new(pend, p);
    }
    pthread_mutex_unlock(&cc->lock);
    json_object_set_new(o, "battery", json_string(battery));
    json_object_set(o, "switches", sw);
    json_object_set(o, "pending", pend);
    json_object_set(o, "control", allow);
    *out = json_incref(o);
out:
    json_decref(sw);
    json_decref(pend);
    json_decref(allow);
    json_decref(o);
    return rc;
}

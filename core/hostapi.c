/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "hostapi.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fresh.h"
#include "log.h"
#include "record.h"
#include "settings.h"
#include "statefile.h"

static void host_vlog(collector_host *host, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void host_vlog(collector_host *host, int level, const char *fmt, va_list ap)
{
    if (host != NULL && host->log_hook != NULL) {
        char msg[2048];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        host->log_hook(host->log_ctx, level, msg);
        return;
    }
    log_vmsg(host ? host->name : NULL, level, fmt, ap);
}

static void host_log(collector_host *host, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void host_log(collector_host *host, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vlog(host, level, fmt, ap);
    va_end(ap);
}

static const char *host_instance_name(const collector_host *host)
{
    return host->name;
}

static void host_setting_error(collector_host *host, const collector_settings *s,
                               const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void host_setting_error(collector_host *host, const collector_settings *s,
                               const char *key, const char *fmt, ...)
{
    const char *file;
    unsigned line;
    char msg[1024];
    va_list ap;

    host->setting_errors++;
    settings_where(s, key, &file, &line);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    host_log(host, COLLECTOR_LOG_ERROR, "%s:%u: %s: %s%s%s", file ? file : "(config)", line,
             host->name, key ? key : "", key ? ": " : "", msg);
}

/* The clock in ns, or a logged error naming the instance and *out untouched
 * (after 2038 a 32-bit time_t makes CLOCK_REALTIME fail with EOVERFLOW;
 * configure makes time_t 64-bit, this keeps a failure from becoming a time). */
static int clock_ns(const collector_host *host, clockid_t clock, int64_t *out)
{
    struct timespec ts;

    if (clock_gettime(clock, &ts) != 0) {
        int rc = -errno;
        log_msg(host ? host->name : NULL, COLLECTOR_LOG_ERROR, "cannot read the %s clock: %s",
                clock == CLOCK_MONOTONIC ? "monotonic" : "wall", strerror(-rc));
        return rc;
    }
    *out = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return 0;
}

/* The ABI has no error return here: a clock that cannot be read gives 0
 * (the epoch, or the monotonic clock's start) after the logged error. */
static int64_t host_time_ns(const collector_host *host, int clock)
{
    int64_t ns = 0;
    (void)clock_ns(host, clock == COLLECTOR_CLOCK_MONOTONIC ? CLOCK_MONOTONIC : CLOCK_REALTIME,
                   &ns);
    return ns;
}

static int host_record_new(collector_host *host, collector_record **out)
{
    int64_t ns = 0;
    int rc = clock_ns(host, CLOCK_REALTIME, &ns);

    if (rc == 0)
        rc = record_new(host->name, ns, out);
    if (rc == 0) {
        record_set_interval_ms(*out, host->interval_ms);
        record_set_fallback_interval_ms(*out, host->fallback_interval_ms);
    }
    return rc;
}

static int host_emit(collector_host *host, collector_record *rec)
{
    if (rec == NULL)
        return -EINVAL;
    if (host->emit == NULL) {
        record_free(rec);
        return -ENOTSUP;
    }
    return host->emit(host->emit_ctx, host, rec);
}

static int64_t host_interval_ms(const collector_host *host)
{
    return host->interval_ms;
}

static int host_is_stopping(const collector_host *host)
{
    return atomic_load(&((collector_host *)(uintptr_t)host)->stopping);
}

static int host_stop_fd(const collector_host *host)
{
    collector_host *h = (collector_host *)(uintptr_t)host;

    /* --check starts nothing, so nothing needs stopping: no fd for it. */
    if (!(h->run_flags & COLLECTOR_RUN_CHECK))
        (void)host_stop_open(h);
    return h->stop_pipe[0];
}

static const char *host_state_dir(const collector_host *host)
{
    return host->state_dir ? host->state_dir : ".";
}

static int host_state_write(collector_host *host, const char *name, const void *data,
                            size_t len)
{
    return statefile_write(host_state_dir(host), name, data, len);
}

static int host_state_read(collector_host *host, const char *name, void *buf, size_t size,
                           size_t *len)
{
    return statefile_read(host_state_dir(host), name, buf, size, len);
}

static uint32_t host_run_flags(const collector_host *host)
{
    return host->run_flags;
}

static int host_source_fresh_until_ns(const collector_host *host, const char *source,
                                      int64_t *until_ns)
{
    return fresh_book_get(host->book, source, until_ns);
}

struct claim {
    char *resource, *mode, *instance;
};

struct host_claims {
    pthread_mutex_t lock;
    struct claim *v;
    size_t n;
    char **producers;
    size_t nproducers;
};

int host_claims_add_producer(struct host_claims *c, const char *name)
{
    char **grown = realloc(c->producers, (c->nproducers + 1) * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    c->producers = grown;
    c->producers[c->nproducers] = strdup(name);
    if (c->producers[c->nproducers] == NULL)
        return -ENOMEM;
    c->nproducers++;
    return 0;
}

static int host_producers(collector_host *host, const char **names, size_t max)
{
    const struct host_claims *c = host->claims;

    if (c == NULL)
        return -ENOSYS;
    for (size_t i = 0; i < c->nproducers && i < max; i++)
        names[i] = c->producers[i];
    return (int)c->nproducers;
}

struct host_claims *host_claims_new(void)
{
    struct host_claims *c = calloc(1, sizeof(*c));

    if (c != NULL)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

void host_claims_free(struct host_claims *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].resource);
        free(c->v[i].mode);
        free(c->v[i].instance);
    }
    free(c->v);
    for (size_t i = 0; i < c->nproducers; i++)
        free(c->producers[i]);
    free(c->producers);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int host_claim(collector_host *host, const char *resource, const char *mode,
                      const char **other)
{
    struct host_claims *c = host->claims;
    struct claim *grown;
    int rc = 0;

    if (resource == NULL || mode == NULL)
        return -EINVAL;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].resource, resource) != 0 || strcmp(c->v[i].instance, host->name) == 0)
            continue;
        if (strcmp(c->v[i].mode, mode) != 0) {
            if (other != NULL)
                *other = c->v[i].instance;
            rc = -EBUSY;
            goto out;
        }
    }
    grown = realloc(c->v, (c->n + 1) * sizeof(*c->v));
    if (grown == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    c->v = grown;
    c->v[c->n].resource = strdup(resource);
    c->v[c->n].mode = strdup(mode);
    c->v[c->n].instance = strdup(host->name);
    if (!c->v[c->n].resource || !c->v[c->n].mode || !c->v[c->n].instance) {
        free(c->v[c->n].resource);
        free(c->v[c->n].mode);
        free(c->v[c->n].instance);
        rc = -ENOMEM;
        goto out;
    }
    c->n++;
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static void host_records_lost(collector_host *host, unsigned long n, const char *why)
{
    struct host_lost *slot = &host->lost[HOST_LOST_REASONS - 1];

    if (n == 0)
        return;
    why = why != NULL && why[0] != '\0' ? why : "lost by the sink";
    for (size_t i = 0; i < HOST_LOST_REASONS; i++) {
        struct host_lost *l = &host->lost[i];
        int free_slot = 0;
        if (atomic_load(&l->state) == 2 && strcmp(l->why, why) == 0) {
            slot = l;
            break;
        }
        if (atomic_compare_exchange_strong(&l->state, &free_slot, 1)) {
            snprintf(l->why, sizeof(l->why), "%s", why);
            atomic_store(&l->state, 2);
            slot = l;
            break;
        }
    }
    atomic_fetch_add(&slot->n, n);
}

unsigned long host_lost_total(const struct collector_host *host, char *buf, size_t cap)
{
    unsigned long total = 0;
    size_t used = 0;

    if (buf != NULL && cap > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < HOST_LOST_REASONS; i++) {
        unsigned long n = atomic_load(&host->lost[i].n);
        if (n == 0)
            continue;
        total += n;
        if (buf != NULL && used < cap) {
            int w = snprintf(buf + used, cap - used, "%s%lu %s%s", used ? ", " : "", n,
                             host->lost[i].why,
                             i == HOST_LOST_REASONS - 1 ? " (and other reasons)" : "");
            used += w > 0 ? (size_t)w : 0;
        }
    }
    return total;
}

static int host_command_submit(collector_host *host, const struct collector_command *cmd,
                               uint64_t *id_out)
{
    char reason[256];
    uint64_t id = 0;
    int rc;

    if (cmd == NULL || cmd->struct_size < sizeof(struct collector_command))
        return -EINVAL;
    if (host->commands == NULL || host->command_submit == NULL)
        return -ENOSYS;
    rc = host->command_submit(host->commands, cmd, &id, reason, sizeof(reason));
    if (id_out != NULL)
        *id_out = id;
    return rc;
}

static void host_command_done(collector_host *host, uint64_t id, uint32_t outcome,
                              const char *detail)
{
    if (host->commands == NULL || host->command_done == NULL) {
        host_log(host, COLLECTOR_LOG_WARNING, "command %llu: outcome without a command host",
                 (unsigned long long)id);
        return;
    }
    host->command_done(host->commands, id, outcome, detail);
}

static int host_command_allowed(const collector_host *host, const char *source,
                                const char *name)
{
    if (host->commands == NULL || host->command_allowed == NULL || source == NULL ||
        name == NULL)
        return 0;
    return host->command_allowed(host->commands, source, name);
}

static const struct collector_host_api host_api = {
    .abi_major = COLLECTOR_ABI_MAJOR,
    .abi_minor = COLLECTOR_ABI_MINOR,
    .struct_size = (uint32_t)sizeof(struct collector_host_api),
    .log = host_log,
    .vlog = host_vlog,
    .instance_name = host_instance_name,
    .setting_string = settings_get_string,
    .setting_int = settings_get_int,
    .setting_double = settings_get_double,
    .setting_bool = settings_get_bool,
    .setting_child = settings_get_child,
    .setting_count = settings_count,
    .setting_element = settings_element,
    .setting_error = host_setting_error,
    .record_new = host_record_new,
    .record_free = record_free,
    .emit = host_emit,
    .set_double = record_set_double,
    .set_int = record_set_int,
    .set_bool = record_set_bool,
    .set_string = record_set_string,
    .set_doubles = record_set_doubles,
    .unset = record_unset,
    .set_device = record_set_device,
    .set_time_ns = record_set_time_ns,
    .get_double = record_get_double,
    .get_int = record_get_int,
    .get_bool = record_get_bool,
    .get_string = record_get_string,
    .get_doubles = record_get_doubles,
    .metric_count = record_metric_count,
    .metric_at = record_metric_at,
    .record_time_ns = record_time_ns,
    .record_source = record_source,
    .record_device = record_device,
    .time_ns = host_time_ns,
    .interval_ms = host_interval_ms,
    .is_stopping = host_is_stopping,
    .stop_fd = host_stop_fd,
    .state_dir = host_state_dir,
    .record_interval_ms = record_interval_ms,
    .state_write = host_state_write,
    .state_read = host_state_read,
    .run_flags = host_run_flags,
    .claim = host_claim,
    .producers = host_producers,
    .record_fresh_until_ns = record_fresh_until_ns,
    .source_fresh_until_ns = host_source_fresh_until_ns,
    .record_kind = record_kind,
    .command_submit = host_command_submit,
    .command_done = host_command_done,
    .records_lost = host_records_lost,
    .command_allowed = host_command_allowed,
};

const struct collector_host_api *hostapi_table(void)
{
    return &host_api;
}

int host_init(struct collector_host *host, const char *name, int64_t interval_ms,
              const char *state_dir)
{
    memset(host, 0, sizeof(*host));
    host->stop_pipe[0] = host->stop_pipe[1] = -1;
    snprintf(host->name, sizeof(host->name), "%s", name);
    host->interval_ms = interval_ms;
    host->state_dir = state_dir;
    atomic_init(&host->stopping, 0);
    return 0;
}

int host_stop_open(struct collector_host *host)
{
    static const char byte = 1;
    int fds[2];

    if (host->stop_pipe[0] >= 0)
        return 0;
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        int rc = -errno;
        struct rlimit rl;
        if (!host->stop_pipe_failed && rc == -EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_msg(host->name, COLLECTOR_LOG_ERROR,
                    "cannot open its stop pipe: the process's limit of %llu open files is "
                    "reached (ulimit -n, or LimitNOFILE= in the unit): raise it or run fewer "
                    "instances",
                    (unsigned long long)rl.rlim_cur);
        else if (!host->stop_pipe_failed)
            log_msg(host->name, COLLECTOR_LOG_ERROR, "cannot open its stop pipe: %s",
                    strerror(-rc));
        host->stop_pipe_failed = 1;
        return rc;
    }
    host->stop_pipe[1] = fds[1];
    host->stop_pipe[0] = fds[0];
    /* A stop asked before the pipe existed: readable from the start. */
    if (atomic_load(&host->stopping)) {
        ssize_t w = write(fds[1], &byte, 1);
        (void)w;
    }
    return 0;
}

void host_fini(struct collector_host *host)
{
    if (host == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        if (host->stop_pipe[i] >= 0)
            close(host->stop_pipe[i]);
        host->stop_pipe[i] = -1;
    }
}

void host_request_stop(struct collector_host *host)
{
    static const char byte = 1;

    if (atomic_exchange(&host->stopping, 1) == 0 && host->stop_pipe[1] >= 0) {
        /* Readable from now on; nobody ever drains it. */
        ssize_t w = write(host->stop_pipe[1], &byte, 1);
        (void)w;
    }
}

#include "config.h"

#include "hostapi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "record.h"
#include "settings.h"

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
    return rc < 0 ? rc : record_new(host->name, ns, out);
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
    return host->stop_pipe[0];
}

static const char *host_state_dir(const collector_host *host)
{
    return host->state_dir ? host->state_dir : ".";
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
    if (pipe2(host->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        int rc = -errno;
        host->stop_pipe[0] = host->stop_pipe[1] = -1;
        return rc;
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

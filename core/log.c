/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <collector/plugin.h>

/* The one process-wide setting of this module: the threshold. */
static atomic_int log_threshold = COLLECTOR_LOG_INFO;

static const struct {
    const char *name;
    int level;
} level_names[] = {
    {"error", COLLECTOR_LOG_ERROR},
    {"warning", COLLECTOR_LOG_WARNING},
    {"info", COLLECTOR_LOG_INFO},
    {"debug", COLLECTOR_LOG_DEBUG},
};

void log_set_level(int level)
{
    atomic_store(&log_threshold, level);
}

int log_get_level(void)
{
    return atomic_load(&log_threshold);
}

int log_level_parse(const char *name, int *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(name, level_names[i].name) == 0) {
            *level = level_names[i].level;
            return 0;
        }
    }
    if (strcasecmp(name, "warn") == 0) {
        *level = COLLECTOR_LOG_WARNING;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(int level)
{
    switch (level) {
    case COLLECTOR_LOG_ERROR:
        return "ERROR";
    case COLLECTOR_LOG_WARNING:
        return "WARNING";
    case COLLECTOR_LOG_DEBUG:
        return "DEBUG";
    default:
        return "INFO";
    }
}

int log_format(char *buf, size_t cap, const char *instance, int level, const char *fmt,
               va_list ap)
{
    struct timespec ts;
    struct tm tm;
    char stamp[48];
    size_t used;
    int n;

    if (cap == 0)
        return 0;
    /* A clock or calendar that fails still gives a line, saying so where the
     * time would be (the message itself is never lost). */
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        snprintf(stamp, sizeof(stamp), "(no clock: errno %d)", errno);
    else if (localtime_r(&ts.tv_sec, &tm) == NULL ||
             strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(stamp, sizeof(stamp), "(no date for %lld s)", (long long)ts.tv_sec);
    n = snprintf(buf, cap, "%s - %s - %s - ", stamp, instance ? instance : LOG_CORE,
                 log_level_name(level));
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    used = (size_t)n < cap ? (size_t)n : cap - 1;
    n = vsnprintf(buf + used, cap - used, fmt, ap);
    if (n > 0)
        used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
    /* One message is one line: fold embedded newlines. Text from a server
     * or a device may hold other control characters (ESC starts a terminal
     * sequence, BEL rings): shown as '?', never passed on. */
    for (size_t i = 0; i < used; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n' || c == '\r')
            buf[i] = ' ';
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            buf[i] = '?';
    }
    return (int)used;
}

void log_vmsg(const char *instance, int level, const char *fmt, va_list ap)
{
    char line[2048];
    int len;

    if (level > atomic_load(&log_threshold))
        return;
    len = log_format(line, sizeof(line) - 1, instance, level, fmt, ap);
    line[len++] = '\n';
    /* A single write keeps lines from different threads whole. */
    for (ssize_t off = 0; off < len;) {
        ssize_t w = write(STDERR_FILENO, line + off, (size_t)(len - off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        off += w;
    }
}

void log_msg(const char *instance, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(instance, level, fmt, ap);
    va_end(ap);
}

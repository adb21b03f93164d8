/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "core/log.h"


/* The address $NOTIFY_SOCKET names: "/path" or "@abstract". -EAFNOSUPPORT
 * for anything else (systemd's "vsock:" is not for a daemon on a host),
 * -ENAMETOOLONG when it does not fit in sun_path. */
static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(name);

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (name[0] != '/' && name[0] != '@')
        return -EAFNOSUPPORT;
    if (n < 2 || n >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: the length says where it ends */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    return 0;
}

int notify_send(const char *state)
{
    static int warned;
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t len = 0;
    int fd, rc;

    if (name == NULL || *name == '\0')
        return 0;
    rc = notify_address(name, &sa, &len);
    if (rc == 0) {
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
        } else {
            size_t n = strlen(state);
            ssize_t w = sendto(fd, state, n, MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
            rc = w < 0 ? -errno : (size_t)w == n ? 1 : -EMSGSIZE;
            close(fd);
        }
    }
    if (rc < 0 && !warned) {
        warned = 1;
        log_msg(LOG_CORE, COLLECTOR_LOG_WARNING, "NOTIFY_SOCKET=%s: cannot notify systemd: %s", name,
                strerror(-rc));
    }
    return rc;
}

int notify_reloading(void)
{
    struct timespec ts;
    char msg[96];

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return notify_send("RELOADING=1");
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
             (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
    return notify_send(msg);
}

/* A decimal number with nothing around it, or -1. */
static long long parse_positive(const char *s)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0' && v > 0 ? v : -1;
}

int64_t notify_watchdog_parse(const char *usec, const char *pid, pid_t self)
{
    long long us = parse_positive(usec);

    /* sd_watchdog_enabled(3): WATCHDOG_PID, when set, must name us. */
    if (us <= 0 || (pid != NULL && parse_positive(pid) != (long long)self))
        return 0;
    return us < 1000 ? 1 : (int64_t)(us / 1000);
}

int64_t notify_watchdog_ms(void)
{
    return notify_watchdog_parse(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
}

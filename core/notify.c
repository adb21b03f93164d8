/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/notify.h"

#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

void notify_send(const char *state)
{
    sd_notify(0, state);
}

void notify_reloading(void)
{
    struct timespec ts;
    char msg[96];

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        sd_notify(0, "RELOADING=1");
        return;
    }
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
             (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
    sd_notify(0, msg);
}

int64_t notify_watchdog_ms(void)
{
    uint64_t usec = 0;

    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return (int64_t)(usec / 1000);
}

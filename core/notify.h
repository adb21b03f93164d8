/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: the systemd service protocol (Type=notify): READY, RELOADING,
 * STOPPING and the watchdog, through libsystemd. Without NOTIFY_SOCKET
 * every call does nothing. */
#ifndef COLLECTORD_CORE_NOTIFY_H
#define COLLECTORD_CORE_NOTIFY_H

#include <stdint.h>

/* Send one state string, e.g. "READY=1". */
void notify_send(const char *state);
/* "RELOADING=1" with the MONOTONIC_USEC systemd asks for. */
void notify_reloading(void);
/* The watchdog period systemd asks for (WatchdogSec=), in ms; 0 when none. */
int64_t notify_watchdog_ms(void);

#endif

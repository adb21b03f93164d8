/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify: the systemd service protocol (Type=notify) spoken directly, as
 * sd_notify(3) documents it: one datagram of newline-separated KEY=VALUE
 * assignments to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@'). READY, RELOADING, STOPPING,
 * STATUS and WATCHDOG; $WATCHDOG_USEC and $WATCHDOG_PID are read as
 * sd_watchdog_enabled(3) reads them. Without NOTIFY_SOCKET every call does
 * nothing; a socket that cannot be used is said once. */
#ifndef COLLECTORD_CORE_NOTIFY_H
#define COLLECTORD_CORE_NOTIFY_H

#include <stdint.h>
#include <sys/types.h>

/* Send one state string, e.g. "READY=1\nSTATUS=running". 1 when it was
 * sent, 0 when there is no NOTIFY_SOCKET, -errno when sending failed. */
int notify_send(const char *state);
/* "RELOADING=1" with the MONOTONIC_USEC systemd asks for. */
int notify_reloading(void);
/* The watchdog period systemd asks for (WatchdogSec=), in ms; 0 when none:
 * WATCHDOG_USEC unset, not a positive number, or WATCHDOG_PID names
 * another process. */
int64_t notify_watchdog_ms(void);
/* The same, from given values (NULL = unset), for the tests. */
int64_t notify_watchdog_parse(const char *usec, const char *pid, pid_t self);

#endif

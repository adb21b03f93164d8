/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctlsock: the daemon's control socket (collector.control_socket). Mode
 * 0660, owned by the daemon's user; each peer is checked with SO_PEERCRED
 * (root, or the daemon's uid or gid) and refused in one line otherwise.
 * Requests and answers: core/ctlproto.h. */
#ifndef COLLECTORD_CORE_CTLSOCK_H
#define COLLECTORD_CORE_CTLSOCK_H

struct command_center;
struct ctlsock;

#define CTL_WAIT_MS 45000 /* a set request waits this long for its outcome */
#define CTL_CLIENTS_MAX 8

/* Bind `path` (its directory is made 0755 if missing; a stale socket is
 * replaced) and serve on a thread. 0, or a negative errno after one logged
 * line (a warning when `by_default`: nobody asked for this path, e.g. a
 * daemon run by hand as a user who cannot write /run); the daemon runs on
 * without it. */
int ctlsock_start(const char *path, int by_default, struct command_center *cc,
                  struct ctlsock **out);
/* Close, wait for the clients' threads, unlink. NULL-safe. */
void ctlsock_stop(struct ctlsock *cs);

#endif

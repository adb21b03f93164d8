/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A minimal GATT client over any connected file descriptor that carries one
 * ATT PDU per packet (an L2CAP ATT socket, or AF_UNIX SOCK_SEQPACKET to a
 * simulator). Every wait has a deadline and also wakes on a stop fd. */
#ifndef COLLECTORD_PLUGINS_LIBBLE_GATT_H
#define COLLECTORD_PLUGINS_LIBBLE_GATT_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libble/att.h"

typedef void (*gatt_notify_fn)(void *user, uint16_t handle, const uint8_t *value, size_t len);

struct gatt_client {
    int fd;
    int stop_fd;        /* -1: none */
    uint16_t mtu;
    int mtu_pending;    /* our Exchange MTU Request awaits its response */
    gatt_notify_fn on_notify;
    void *user;
    unsigned long requests;      /* ATT requests sent by us */
    unsigned long peer_requests; /* requests the peer sent us (answered) */
    unsigned long dropped;       /* stray PDUs ignored (e.g. a late MTU response) */
    uint8_t att_error;           /* code of the last Error Response to us */
    uint8_t buf[ATT_MAX_MTU + 8];
};

/* Monotonic milliseconds, for deadlines. */
int64_t gatt_now_ms(void);

/* Wait until fd has `events` (POLLIN, POLLOUT) or a hang-up or error, up
 * to `deadline` (gatt_now_ms), watching stop_fd (-1: none): 1 with
 * *revents (may be NULL), 0 at the deadline (looking once more when it has
 * passed, so what is already queued is still taken), -ECANCELED when
 * stop_fd is readable, or a negative errno. The one wait of every BLE and
 * management socket loop. */
int ble_wait_fd(int fd, short events, int64_t deadline, int stop_fd, short *revents);

void gatt_init(struct gatt_client *c, int fd, int stop_fd, gatt_notify_fn on_notify, void *user);

/* Send `req` and wait for the response with opcode `want` (or an Error
 * Response to it): 0 and *rsp (borrowing c->buf); -EIO on an Error Response
 * (code in c->att_error); -ETIMEDOUT; -ECANCELED (stop fd); -ENOTCONN (peer
 * gone); -EBADMSG. Notifications arriving meanwhile are delivered. */
int gatt_request(struct gatt_client *c, const uint8_t *req, size_t len, uint8_t want,
                 struct att_pdu *rsp, int64_t deadline_ms);
/* Handle incoming PDUs (notifications...) until the deadline: 0 at the
 * deadline, or -ECANCELED / -ENOTCONN / -EBADMSG. `done` (may be NULL) ends
 * the wait early when it returns non-zero. */
int gatt_pump(struct gatt_client *c, int64_t deadline_ms, int (*done)(void *user));

/* Our receive MTU: what we request, and what we answer to the peer's request
 * (one value for both, as BlueZ does); c->buf holds a PDU this large. */
#define GATT_RX_MTU ATT_MAX_MTU

/* Exchange MTU Request with GATT_RX_MTU; c->mtu becomes the smaller of both. */
int gatt_exchange_mtu(struct gatt_client *c, int64_t deadline_ms);
/* The handle range of the primary service `uuid16` (Find By Type Value, or
 * Read By Group Type when the peer answers that with Request Not
 * Supported): 0, -ENOENT, or an error. */
int gatt_find_service(struct gatt_client *c, uint16_t uuid16, uint16_t *start, uint16_t *end,
                      int64_t deadline_ms);

struct gatt_char {
    uint16_t decl, value, end; /* end: the last handle of its descriptors */
    uint8_t props;
    uint16_t uuid16;
};

/* All characteristics in [start, end]; returns how many (<= cap) or an error. */
int gatt_characteristics(struct gatt_client *c, uint16_t start, uint16_t end,
                         struct gatt_char *out, size_t cap, int64_t deadline_ms);
/* The CCCD of a characteristic: 0 and *handle, -ENOENT. */
int gatt_find_cccd(struct gatt_client *c, const struct gatt_char *ch, uint16_t *handle,
                   int64_t deadline_ms);
/* Write Request (with_response) or Write Command. */
int gatt_write(struct gatt_client *c, uint16_t handle, const uint8_t *value, size_t len,
               int with_response, int64_t deadline_ms);

#endif

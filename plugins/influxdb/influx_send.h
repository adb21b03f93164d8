/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The influxdb sink's sender: batches of line-protocol points, written over
 * HTTP(S) by a thread of its own (libcurl), so a slow or absent server never
 * holds up the host's dispatcher and the other sinks.
 *
 * At most two batches live here: the one being filled (up to batch_size
 * points and batch_bytes of text) and the one on its way. A batch the server did not take (no
 * answer, timeout, HTTP 5xx, 408 or 429) is kept and sent again with
 * backoff (1 s doubling to 60 s, or the server's Retry-After); meanwhile
 * the filling batch fills up and sender_push() says -EAGAIN, so the host
 * keeps the records in its own bounded queue. One warning says so per
 * outage, one line when it is over. A batch refused for good
 * (any other HTTP status, e.g. 404 for a wrong database or 401 for a bad
 * token) is dropped and counted; its error is logged once per cause with
 * the server's own message. Secrets never reach the log. */
#ifndef COLLECTORD_PLUGINS_INFLUXDB_INFLUX_SEND_H
#define COLLECTORD_PLUGINS_INFLUXDB_INFLUX_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

/* Where and how to write; every string is copied by sender_new. */
struct influx_target {
    const char *base_url;  /* for log lines: "http://127.0.0.1:8086" */
    const char *write_url; /* the full write URL, query included */
    const char *token;     /* 2.x: sent as "Authorization: Token <token>"; NULL for none */
    const char *username;  /* 1.x: HTTP basic auth when set */
    const char *password;
    const char *cafile;        /* NULL: the system's CA store */
    const char *proxy;         /* NULL: none (never the environment's http_proxy ...) */
    int tls_verify;            /* check the server's certificate and name (default 1) */
    int64_t timeout_ms;        /* a whole request */
    size_t batch_size;         /* points per request */
    size_t batch_bytes;        /* text per request (a point alone may be more) */
    int64_t flush_interval_ms; /* the longest a point waits for its batch to fill */
};

struct influx_sender;

/* Allocate (no thread, no socket). 0 or -ENOMEM; *out owned by the caller,
 * freed with sender_free. `api` and `host` are borrowed for its lifetime. */
int sender_new(const struct collector_host_api *api, collector_host *host,
               const struct influx_target *target, struct influx_sender **out);
/* Start the thread. 0 or a negative errno (logged here). */
int sender_start(struct influx_sender *s);
/* Stop the thread: a request on its way is cut short. Points not yet
 * delivered stay for a later sender_start. NULL-safe, idempotent. */
void sender_stop(struct influx_sender *s);
/* Stop, then free; logs what was never delivered and what was dropped. */
void sender_free(struct influx_sender *s);

/* Queue `npoints` complete lines (`text`, `len` bytes, copied). 0, or
 * -EAGAIN when the filling batch is full (keep them and try again later),
 * or -ENOMEM. Never blocks on the network. */
int sender_push(struct influx_sender *s, const char *text, size_t len, size_t npoints);
/* Send what is filling now, and wait up to about a second for everything
 * to be delivered: 0 when nothing is left, -EAGAIN otherwise; under
 * --once, -EREMOTEIO (once) when the server refused points since the last
 * flush that said so: they were dropped, not delivered. */
int sender_flush(struct influx_sender *s);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sink's in-flight window: messages handed over by write() that the
 * broker has not acknowledged yet. Everything else waits in the host's retry
 * queue (write() says -EAGAIN), so this holds only what at-least-once needs:
 * a message leaves when its publish completes, and goes back to "to send"
 * when the publish failed or the connection it went out on was lost.
 *
 * Pure bookkeeping: no locks, no I/O, no Paho. The caller serialises calls. */
#ifndef COLLECTORD_MQTT_WINDOW_H
#define COLLECTORD_MQTT_WINDOW_H

#include <stddef.h>
#include <stdint.h>

struct window_item {
    char *topic; /* NULL: a finished slot, dropped when it reaches the front */
    char *payload;
    int retain;
    int is_sent;     /* handed to Paho, no completion yet */
    unsigned gen;    /* the connection it was last sent on */
    int ends_record; /* the last message of a record (its state) */
};

struct window {
    struct window_item *v;
    size_t limit;          /* the configured window, in messages */
    size_t cap, head, len; /* the ring; len counts finished slots not yet at the front */
    size_t live;           /* items not finished */
    size_t bytes;          /* what the items not finished take (window_item_bytes) */
    size_t byte_limit;     /* 0: none */
    uint64_t next_seq;     /* the newest item's sequence number */
};

/* A window of `limit` messages (>= 1). 0 or -ENOMEM. */
int window_init(struct window *w, size_t limit);
/* Frees every item; *records_lost (may be NULL) gets the records whose last
 * message was never acknowledged. NULL-safe for a zeroed window. */
size_t window_free(struct window *w, size_t *records_lost);

/* 1 when `n` more messages fit: always when the window is empty (a record
 * bigger than the window still goes through, alone). */
int window_has_room(const struct window *w, size_t n);
/* Bound the window in bytes as well (0: no bound); window_init clears it. */
void window_limit_bytes(struct window *w, size_t limit);
/* What a message takes in the window: its text and its slot. */
size_t window_item_bytes(const char *topic, const char *payload);
/* 1 when messages of `bytes` more fit under the byte bound: always when the
 * window is empty. */
int window_has_bytes(const struct window *w, size_t bytes);
/* Add a message (topic and payload taken, also on failure). The window may
 * grow past its limit when the caller adds after window_has_room. 0 or -ENOMEM. */
int window_add(struct window *w, char *topic, char *payload, int retain, int ends_record);
/* The oldest message not handed to Paho, marked sent on connection `gen`;
 * *seq gets its number for window_done(). Borrowed until the next call that
 * changes the window. NULL when none waits. */
const struct window_item *window_next(struct window *w, unsigned gen, uint64_t *seq);
/* Paho finished publish `seq` sent on connection `gen`: acknowledged (`ok`,
 * the message leaves) or failed (sent again later, unless it was sent again
 * on a newer connection meanwhile). Unknown numbers are ignored. */
void window_done(struct window *w, uint64_t seq, unsigned gen, int ok);
/* Publish `seq` was never taken by Paho: it waits to be sent again. */
void window_unsend(struct window *w, uint64_t seq);
/* A new connection: everything not acknowledged is sent again. */
void window_resend_all(struct window *w);
/* Messages not acknowledged yet. */
size_t window_pending(const struct window *w);

#endif

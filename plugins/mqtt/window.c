/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/mqtt/window.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct window_item *at(const struct window *w, size_t i)
{
    return &w->v[(w->head + i) % w->cap];
}

/* Items get consecutive sequence numbers and leave only from the front, so
 * the one at index i is number next_seq - len + 1 + i. */
static struct window_item *by_seq(const struct window *w, uint64_t seq)
{
    uint64_t first = w->next_seq - w->len + 1;
    struct window_item *it;

    if (w->len == 0 || seq < first || seq > w->next_seq)
        return NULL;
    it = at(w, (size_t)(seq - first));
    return it->topic != NULL ? it : NULL;
}

size_t window_item_bytes(const char *topic, const char *payload)
{
    return strlen(topic) + strlen(payload) + 2 + sizeof(struct window_item);
}

static void item_clear(struct window *w, struct window_item *it)
{
    if (it->topic != NULL && it->payload != NULL)
        w->bytes -= window_item_bytes(it->topic, it->payload);
    free(it->topic);
    free(it->payload);
    memset(it, 0, sizeof(*it));
}

/* Drop finished slots from the front. */
static void compact(struct window *w)
{
    while (w->len > 0 && w->v[w->head].topic == NULL) {
        w->head = (w->head + 1) % w->cap;
        w->len--;
    }
}

int window_init(struct window *w, size_t limit)
{
    size_t cap = limit < 64 ? limit : 64; /* the ring grows as it fills */

    memset(w, 0, sizeof(*w));
    w->v = calloc(cap, sizeof(*w->v));
    if (w->v == NULL)
        return -ENOMEM;
    w->cap = cap;
    w->limit = limit;
    return 0;
}

size_t window_free(struct window *w, size_t *records_lost)
{
    size_t lost = 0, records = 0;

    for (size_t i = 0; i < w->len; i++) {
        struct window_item *it = at(w, i);
        if (it->topic != NULL) {
            lost++;
            records += it->ends_record != 0;
        }
        item_clear(w, it);
    }
    free(w->v);
    memset(w, 0, sizeof(*w));
    if (records_lost != NULL)
        *records_lost = records;
    return lost;
}

int window_has_room(const struct window *w, size_t n)
{
    return w->len == 0 || w->len + n <= w->limit;
}

void window_limit_bytes(struct window *w, size_t limit)
{
    w->byte_limit = limit;
}

int window_has_bytes(const struct window *w, size_t bytes)
{
    return w->live == 0 || w->byte_limit == 0 || w->bytes + bytes <= w->byte_limit;
}

/* Double the ring, keeping the order: up to the limit, and past it for a
 * record bigger than the window. */
static int grow(struct window *w)
{
    struct window_item *v = calloc(w->cap * 2, sizeof(*v));

    if (v == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < w->len; i++)
        v[i] = *at(w, i);
    free(w->v);
    w->v = v;
    w->head = 0;
    w->cap *= 2;
    return 0;
}

int window_add(struct window *w, char *topic, char *payload, int retain, int ends_record)
{
    if (topic == NULL || payload == NULL || (w->len == w->cap && grow(w) < 0)) {
        free(topic);
        free(payload);
        return -ENOMEM;
    }
    *at(w, w->len) = (struct window_item){topic, payload, retain, 0, 0, ends_record};
    w->bytes += window_item_bytes(topic, payload);
    w->len++;
    w->live++;
    w->next_seq++;
    return 0;
}

const struct window_item *window_next(struct window *w, unsigned gen, uint64_t *seq)
{
    for (size_t i = 0; i < w->len; i++) {
        struct window_item *it = at(w, i);
        if (it->topic != NULL && !it->is_sent) {
            it->is_sent = 1;
            it->gen = gen;
            *seq = w->next_seq - w->len + 1 + i;
            return it;
        }
    }
    return NULL;
}

void window_done(struct window *w, uint64_t seq, unsigned gen, int ok)
{
    struct window_item *it = by_seq(w, seq);

    if (it == NULL)
        return;
    if (ok) {
        item_clear(w, it);
        w->live--;
        compact(w);
    } else if (it->is_sent && it->gen == gen) {
        it->is_sent = 0; /* at least once: it goes out again */
    }
}

void window_unsend(struct window *w, uint64_t seq)
{
    struct window_item *it = by_seq(w, seq);

    if (it != NULL)
        it->is_sent = 0;
}

void window_resend_all(struct window *w)
{
    for (size_t i = 0; i < w->len; i++)
        at(w, i)->is_sent = 0;
}

size_t window_pending(const struct window *w)
{
    return w->live;
}

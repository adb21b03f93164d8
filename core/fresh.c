/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/fresh.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"

struct fresh_entry {
    char source[64];
    int64_t time_ns;  /* of the newest record */
    int64_t until_ns; /* its record_fresh_until_ns */
};

struct fresh_book {
    pthread_mutex_t lock; /* protects v and n */
    struct fresh_entry *v;
    size_t n, cap;
};

int fresh_book_new(struct fresh_book **out)
{
    struct fresh_book *book = calloc(1, sizeof(*book));

    if (book == NULL)
        return -ENOMEM;
    pthread_mutex_init(&book->lock, NULL);
    *out = book;
    return 0;
}

void fresh_book_free(struct fresh_book *book)
{
    if (book == NULL)
        return;
    pthread_mutex_destroy(&book->lock);
    free(book->v);
    free(book);
}

/* The entry of `source`, or NULL. Lock held. */
static struct fresh_entry *find(struct fresh_book *book, const char *source)
{
    for (size_t i = 0; i < book->n; i++)
        if (strcmp(book->v[i].source, source) == 0)
            return &book->v[i];
    return NULL;
}

int fresh_book_note(struct fresh_book *book, const collector_record *rec)
{
    const char *source = record_source(rec);
    int64_t time_ns = record_time_ns(rec);
    struct fresh_entry *e;
    int rc = 0;

    if (record_kind(rec) != COLLECTOR_RECORD_MEASUREMENT)
        return 0; /* a command's outcome says nothing of the battery's data */
    pthread_mutex_lock(&book->lock);
    e = find(book, source);
    if (e == NULL && book->n == book->cap) {
        size_t cap = book->cap ? book->cap * 2 : 8;
        struct fresh_entry *grown = realloc(book->v, cap * sizeof(*grown));
        if (grown == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        book->v = grown;
        book->cap = cap;
    }
    if (e == NULL) {
        e = &book->v[book->n++];
        snprintf(e->source, sizeof(e->source), "%s", source);
        e->time_ns = time_ns;
        e->until_ns = record_fresh_until_ns(rec);
    } else if (time_ns >= e->time_ns) {
        e->time_ns = time_ns;
        e->until_ns = record_fresh_until_ns(rec);
    }
out:
    pthread_mutex_unlock(&book->lock);
    return rc;
}

int fresh_book_get(struct fresh_book *book, const char *source, int64_t *until_ns)
{
    const struct fresh_entry *e;
    int rc = -ENOENT;

    if (book == NULL || source == NULL)
        return rc;
    pthread_mutex_lock(&book->lock);
    e = find(book, source);
    if (e != NULL) {
        *until_ns = e->until_ns;
        rc = 0;
    }
    pthread_mutex_unlock(&book->lock);
    return rc;
}

void fresh_book_forget(struct fresh_book *book, const char *source)
{
    struct fresh_entry *e;

    if (book == NULL)
        return;
    pthread_mutex_lock(&book->lock);
    e = find(book, source);
    if (e != NULL)
        *e = book->v[--book->n];
    pthread_mutex_unlock(&book->lock);
}

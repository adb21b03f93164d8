/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fresh: the newest record each producer made, for the host API's
 * source_fresh_until_ns. The rule itself is record_fresh_until_ns (record.h). */
#ifndef COLLECTORD_CORE_FRESH_H
#define COLLECTORD_CORE_FRESH_H

#include <stdint.h>

#include <collector/plugin.h>

struct fresh_book;

/* A new empty book, owned by the caller (fresh_book_free, NULL-safe). */
int fresh_book_new(struct fresh_book **out);
void fresh_book_free(struct fresh_book *book);
/* `rec` (borrowed for the call) was made by its source: remember its
 * freshness when it is the newest of that source (a measurement; an event
 * leaves the book as it is). Thread-safe; a failed
 * allocation leaves the source unknown (-ENOMEM). */
int fresh_book_note(struct fresh_book *book, const collector_record *rec);
/* 0 and *until_ns for `source`'s newest record; -ENOENT when it made none
 * (or was forgotten). Thread-safe. */
int fresh_book_get(struct fresh_book *book, const char *source, int64_t *until_ns);
/* The instance `source` is gone (reload, shutdown): no answer for it until
 * a new instance of that name makes a record. Thread-safe. */
void fresh_book_forget(struct fresh_book *book, const char *source);

#endif

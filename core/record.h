/* SPDX-License-Identifier: GPL-2.0-or-later */
/* record: the typed, named metrics of one measurement (the SDK's opaque collector_record). */
#ifndef COLLECTORD_CORE_RECORD_H
#define COLLECTORD_CORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

/* A new empty record; `source` is copied. Owned by the caller: record_free(). */
int record_new(const char *source, int64_t time_ns, collector_record **out);
void record_free(collector_record *rec);
/* A deep copy (owned by the caller), or NULL when out of memory. */
collector_record *record_clone(const collector_record *rec);
/* The memory `rec` holds (its struct and what it allocated), in bytes. */
size_t record_bytes(const collector_record *rec);

/* These have exactly the signatures of the host API table (collector/plugin.h). */
int record_set_double(collector_record *rec, const char *name, double value);
int record_set_int(collector_record *rec, const char *name, int64_t value);
int record_set_bool(collector_record *rec, const char *name, int value);
int record_set_string(collector_record *rec, const char *name, const char *value);
int record_set_doubles(collector_record *rec, const char *name, const double *values,
                       size_t count);
int record_unset(collector_record *rec, const char *name);
int record_set_device(collector_record *rec, const char *device);
int record_set_time_ns(collector_record *rec, int64_t time_ns);

int record_get_double(const collector_record *rec, const char *name, double *out);
int record_get_int(const collector_record *rec, const char *name, int64_t *out);
int record_get_bool(const collector_record *rec, const char *name, int *out);
int record_get_string(const collector_record *rec, const char *name, const char **out);
int record_get_doubles(const collector_record *rec, const char *name, const double **values,
                       size_t *count);
size_t record_metric_count(const collector_record *rec);
int record_metric_at(const collector_record *rec, size_t i, const char **name, uint32_t *type);
int64_t record_time_ns(const collector_record *rec);
const char *record_source(const collector_record *rec);
const char *record_device(const collector_record *rec);

/* The interval of the source that made `rec` (ms; 0 unknown): the host API's
 * record_interval_ms, and its setter (host side only). */
int64_t record_interval_ms(const collector_record *rec);
void record_set_interval_ms(collector_record *rec, int64_t interval_ms);
/* The host's collector.interval (ms), the freshness rule's one fallback when
 * the source's interval is unknown; set by the host that makes the record. */
void record_set_fallback_interval_ms(collector_record *rec, int64_t interval_ms);
/* The host API's record_fresh_until_ns: the record's time plus
 * COLLECTOR_STALE_FACTOR x its source's interval, else the fallback (realtime
 * ns). The only place the rule is computed. */
int64_t record_fresh_until_ns(const collector_record *rec);

/* COLLECTOR_RECORD_MEASUREMENT (every new record) or COLLECTOR_RECORD_EVENT:
 * the host API's record_kind, and its setter (host side only). */
uint32_t record_kind(const collector_record *rec);
void record_set_kind(collector_record *rec, uint32_t kind);

/* 1 if `name` is a valid metric name: [a-z0-9_]+, starts with a letter, < 64 bytes. */
int record_name_is_valid(const char *name);

#endif

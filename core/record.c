/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "record.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define METRIC_NAME_MAX 64
/* A record is one allocation until it outgrows these (a JK record has about
 * 40 metrics and 1.3 kB of names, cells and strings). */
#define INLINE_METRICS 48
#define INLINE_INDEX   128 /* a power of two, at least 2 x INLINE_METRICS */
#define INLINE_POOL    2048

/* Names, strings and double arrays live in the record's pool and are
 * referred to by offset, so growing the pool (which moves it) is one copy. */
struct metric {
    uint32_t hash; /* of the name: lookups compare hashes, then one memcmp */
    uint32_t type; /* 0 while a slot is being replaced */
    uint32_t name_len;
    size_t name; /* pool offset */
    size_t n;    /* DOUBLES: count */
    union value {
        double d;
        int64_t i;
        int b;
        size_t off; /* STRING, DOUBLES: pool offset */
    } u;
};

struct collector_record {
    int64_t time_ns;
    int64_t interval_ms;   /* the source's configured interval; 0 unknown */
    int64_t fallback_ms;   /* collector.interval of the host that made it; 0 unknown */
    uint32_t kind;         /* COLLECTOR_RECORD_MEASUREMENT or _EVENT */
    size_t source, device; /* pool offsets */
    struct metric *metrics; /* insertion order; inline_metrics or the heap */
    size_t count, cap;
    uint32_t *index;   /* open addressing by hash: metric i + 1, 0 = empty */
    size_t index_size; /* a power of two, more than 2 x count */
    char *pool;        /* inline_pool or the heap */
    size_t used, pool_cap;
    struct metric inline_metrics[INLINE_METRICS];
    uint32_t inline_index[INLINE_INDEX];
    alignas(double) char inline_pool[INLINE_POOL];
};

static size_t align_up(size_t n)
{
    return (n + alignof(double) - 1) & ~(alignof(double) - 1);
}

/* The length of `name` if it is a valid metric name, else 0, and its hash
 * (FNV-1a), in one pass. */
static size_t name_scan(const char *name, uint32_t *hash)
{
    uint32_t h = 2166136261u;
    size_t n = 0;
    unsigned char c;

    if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
        return 0;
    while (names_symbol_char(c = (unsigned char)name[n])) {
        h = (h ^ c) * 16777619u;
        n++;
    }
    if (c != '\0' || n >= METRIC_NAME_MAX)
        return 0;
    *hash = h;
    return n;
}

int record_name_is_valid(const char *name)
{
    uint32_t hash;
    return name_scan(name, &hash) != 0;
}

/* Bytes of m's value in `pool` (strings and double arrays only). */
static size_t payload_size(const char *pool, const struct metric *m)
{
    if (m->type == COLLECTOR_METRIC_STRING)
        return strlen(pool + m->u.off) + 1;
    if (m->type == COLLECTOR_METRIC_DOUBLES)
        return m->n * sizeof(double);
    return 0;
}

/* Copy len bytes to the end of the pool `dst` (room checked); their offset. */
static size_t pool_copy(char *dst, size_t *used, const void *src, size_t len)
{
    size_t off = *used;

    if (len > 0)
        memcpy(dst + off, src, len);
    *used = off + align_up(len);
    return off;
}

/* Move everything still in use to a new pool with room for `more` bytes.
 * The old pool stays readable: *retired is the block to free afterwards. */
static int pool_grow(collector_record *rec, size_t more, char **retired)
{
    const char *old = rec->pool;
    size_t live = align_up(strlen(old + rec->source) + 1) + align_up(strlen(old + rec->device) + 1);
    size_t used = 0, cap;
    char *fresh;

    for (size_t i = 0; i < rec->count; i++)
        live +=
            align_up(rec->metrics[i].name_len + 1) + align_up(payload_size(old, &rec->metrics[i]));
    if (more > SIZE_MAX / 4 - live)
        return -ENOMEM;
    cap = 2 * (live + more); /* growing again takes as many bytes as are live */
    fresh = malloc(cap);
    if (fresh == NULL)
        return -ENOMEM;
    rec->source = pool_copy(fresh, &used, old + rec->source, strlen(old + rec->source) + 1);
    rec->device = pool_copy(fresh, &used, old + rec->device, strlen(old + rec->device) + 1);
    for (size_t i = 0; i < rec->count; i++) {
        struct metric *m = &rec->metrics[i];
        size_t size = payload_size(old, m);
        m->name = pool_copy(fresh, &used, old + m->name, m->name_len + 1);
        if (size > 0)
            m->u.off = pool_copy(fresh, &used, old + m->u.off, size);
    }
    *retired = rec->pool == rec->inline_pool ? NULL : rec->pool;
    rec->pool = fresh;
    rec->used = used;
    rec->pool_cap = cap;
    return 0;
}

static void index_insert(collector_record *rec, size_t i)
{
    size_t mask = rec->index_size - 1, at = rec->metrics[i].hash & mask;

    while (rec->index[at] != 0)
        at = (at + 1) & mask;
    rec->index[at] = (uint32_t)(i + 1);
}

static void index_rebuild(collector_record *rec)
{
    memset(rec->index, 0, rec->index_size * sizeof(*rec->index));
    for (size_t i = 0; i < rec->count; i++)
        index_insert(rec, i);
}

/*
 * Room for one more metric (with `new_metric`) and `bytes` more in the pool,
 * so that the change that follows cannot fail halfway. If the pool moved,
 * the old one stays readable until the caller frees *retired (the value being
 * stored may come from it).
 */
static int reserve(collector_record *rec, int new_metric, size_t bytes, char **retired)
{
    *retired = NULL;
    if (new_metric && rec->count == rec->cap) {
        size_t cap = rec->cap * 2;
        struct metric *grown;
        if (cap > UINT32_MAX / 4)
            return -ENOMEM;
        grown = rec->metrics == rec->inline_metrics ? malloc(cap * sizeof(*grown))
                                                    : realloc(rec->metrics, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        if (rec->metrics == rec->inline_metrics)
            memcpy(grown, rec->inline_metrics, sizeof(rec->inline_metrics));
        rec->metrics = grown;
        rec->cap = cap;
    }
    if (new_metric && 2 * (rec->count + 1) > rec->index_size) {
        uint32_t *index = malloc(2 * rec->index_size * sizeof(*index));
        if (index == NULL)
            return -ENOMEM;
        if (rec->index != rec->inline_index)
            free(rec->index);
        rec->index = index;
        rec->index_size *= 2;
        index_rebuild(rec);
    }
    if (bytes > rec->pool_cap - rec->used)
        return pool_grow(rec, bytes, retired);
    return 0;
}

/* The metric named `name` (len bytes, hash h), or NULL. */
static struct metric *lookup(const collector_record *rec, const char *name, size_t len, uint32_t h)
{
    size_t mask = rec->index_size - 1;

    for (size_t at = h & mask; rec->index[at] != 0; at = (at + 1) & mask) {
        struct metric *m = &rec->metrics[rec->index[at] - 1];
        if (m->hash == h && m->name_len == len && memcmp(rec->pool + m->name, name, len) == 0)
            return m;
    }
    return NULL;
}

static struct metric *find(const collector_record *rec, const char *name)
{
    uint32_t h;
    size_t len = rec != NULL ? name_scan(name, &h) : 0;

    return len > 0 ? lookup(rec, name, len, h) : NULL;
}

/*
 * Set metric `name` to a value of `type`: the existing one (in place) or a
 * new one at the end. `value` (size bytes) is copied to the pool for strings
 * and double arrays; the caller fills in the other types through *out.
 * All or nothing: on failure the record is unchanged.
 */
static int set_metric(collector_record *rec, const char *name, uint32_t type, const void *value,
                      size_t size, struct metric **out)
{
    const struct metric *found;
    struct metric *m;
    char *retired;
    uint32_t h;
    size_t len = rec != NULL ? name_scan(name, &h) : 0, at;
    int rc;

    if (len == 0)
        return -EINVAL;
    found = lookup(rec, name, len, h);
    at = found != NULL ? (size_t)(found - rec->metrics) : rec->count;
    rc = reserve(rec, found == NULL, (found ? 0 : align_up(len + 1)) + align_up(size), &retired);
    if (rc < 0)
        return rc;
    m = &rec->metrics[at];
    if (found == NULL) {
        m->hash = h;
        m->name_len = (uint32_t)len;
        m->name = pool_copy(rec->pool, &rec->used, name, len + 1);
        index_insert(rec, rec->count++);
    }
    m->type = type;
    m->n = 0;
    memset(&m->u, 0, sizeof(m->u));
    if (type == COLLECTOR_METRIC_STRING || type == COLLECTOR_METRIC_DOUBLES)
        m->u.off = pool_copy(rec->pool, &rec->used, value, size);
    free(retired);
    *out = m;
    return 0;
}

/* Store the string s (copied) at *off; all or nothing. */
static int set_text(collector_record *rec, size_t *off, const char *s)
{
    size_t size = strlen(s) + 1;
    char *retired;
    int rc = reserve(rec, 0, align_up(size), &retired);

    if (rc < 0)
        return rc;
    *off = pool_copy(rec->pool, &rec->used, s, size);
    free(retired);
    return 0;
}

int record_new(const char *source, int64_t time_ns, collector_record **out)
{
    collector_record *rec = malloc(sizeof(*rec));

    if (rec == NULL)
        return -ENOMEM;
    rec->time_ns = time_ns;
    rec->interval_ms = 0;
    rec->fallback_ms = 0;
    rec->kind = COLLECTOR_RECORD_MEASUREMENT;
    rec->metrics = rec->inline_metrics;
    rec->count = 0;
    rec->cap = INLINE_METRICS;
    rec->index = rec->inline_index;
    rec->index_size = INLINE_INDEX;
    memset(rec->inline_index, 0, sizeof(rec->inline_index));
    rec->pool = rec->inline_pool;
    rec->pool_cap = INLINE_POOL;
    rec->inline_pool[0] = '\0';
    rec->used = align_up(1);
    rec->source = rec->device = 0; /* "" until set */
    if (source != NULL && set_text(rec, &rec->source, source) < 0) {
        record_free(rec);
        return -ENOMEM;
    }
    *out = rec;
    return 0;
}

void record_free(collector_record *rec)
{
    if (rec == NULL)
        return;
    if (rec->metrics != rec->inline_metrics)
        free(rec->metrics);
    if (rec->index != rec->inline_index)
        free(rec->index);
    if (rec->pool != rec->inline_pool)
        free(rec->pool);
    free(rec);
}

static int set_scalar(collector_record *rec, const char *name, uint32_t type, union value v)
{
    struct metric *m;
    int rc = set_metric(rec, name, type, NULL, 0, &m);
    if (rc == 0)
        m->u = v;
    return rc;
}

int record_set_double(collector_record *rec, const char *name, double value)
{
    return set_scalar(rec, name, COLLECTOR_METRIC_DOUBLE, (union value){.d = value});
}

int record_set_int(collector_record *rec, const char *name, int64_t value)
{
    return set_scalar(rec, name, COLLECTOR_METRIC_INT, (union value){.i = value});
}

int record_set_bool(collector_record *rec, const char *name, int value)
{
    return set_scalar(rec, name, COLLECTOR_METRIC_BOOL, (union value){.b = value != 0});
}

int record_set_string(collector_record *rec, const char *name, const char *value)
{
    struct metric *m;

    if (value == NULL)
        return -EINVAL;
    return set_metric(rec, name, COLLECTOR_METRIC_STRING, value, strlen(value) + 1, &m);
}

int record_set_doubles(collector_record *rec, const char *name, const double *values,
                       size_t count)
{
    struct metric *m;
    int rc;

    if (count > 0 && values == NULL)
        return -EINVAL;
    if (count > SIZE_MAX / 4 / sizeof(*values))
        return -ENOMEM;
    rc = set_metric(rec, name, COLLECTOR_METRIC_DOUBLES, values, count * sizeof(*values), &m);
    if (rc == 0)
        m->n = count;
    return rc;
}

int record_unset(collector_record *rec, const char *name)
{
    struct metric *m = find(rec, name);
    size_t i;

    if (m == NULL)
        return -ENOENT;
    i = (size_t)(m - rec->metrics);
    memmove(m, m + 1, (rec->count - i - 1) * sizeof(*m));
    rec->count--;
    index_rebuild(rec);
    return 0;
}

int record_set_device(collector_record *rec, const char *device)
{
    if (rec == NULL || device == NULL)
        return -EINVAL;
    return set_text(rec, &rec->device, device);
}

int record_set_time_ns(collector_record *rec, int64_t time_ns)
{
    if (rec == NULL)
        return -EINVAL;
    rec->time_ns = time_ns;
    return 0;
}

/* The metric `name` if it has type `type`: -ENOENT absent, -EINVAL other type. */
static int typed(const collector_record *rec, const char *name, uint32_t type,
                 const struct metric **out)
{
    const struct metric *m = find(rec, name);

    if (m == NULL)
        return -ENOENT;
    if (m->type != type)
        return -EINVAL;
    *out = m;
    return 0;
}

int record_get_double(const collector_record *rec, const char *name, double *out)
{
    const struct metric *m = find(rec, name);

    if (m == NULL)
        return -ENOENT;
    if (m->type == COLLECTOR_METRIC_DOUBLE)
        *out = m->u.d;
    else if (m->type == COLLECTOR_METRIC_INT)
        *out = (double)m->u.i;
    else
        return -EINVAL;
    return 0;
}

int record_get_int(const collector_record *rec, const char *name, int64_t *out)
{
    const struct metric *m;
    int rc = typed(rec, name, COLLECTOR_METRIC_INT, &m);
    if (rc == 0)
        *out = m->u.i;
    return rc;
}

int record_get_bool(const collector_record *rec, const char *name, int *out)
{
    const struct metric *m;
    int rc = typed(rec, name, COLLECTOR_METRIC_BOOL, &m);
    if (rc == 0)
        *out = m->u.b;
    return rc;
}

int record_get_string(const collector_record *rec, const char *name, const char **out)
{
    const struct metric *m;
    int rc = typed(rec, name, COLLECTOR_METRIC_STRING, &m);
    if (rc == 0)
        *out = rec->pool + m->u.off;
    return rc;
}

int record_get_doubles(const collector_record *rec, const char *name, const double **values,
                       size_t *count)
{
    const struct metric *m;
    int rc = typed(rec, name, COLLECTOR_METRIC_DOUBLES, &m);
    if (rc == 0) {
        /* aligned: every pool offset is a multiple of alignof(double) */
        *values = m->n > 0 ? (const double *)(const void *)(rec->pool + m->u.off) : NULL;
        *count = m->n;
    }
    return rc;
}

size_t record_metric_count(const collector_record *rec)
{
    return rec ? rec->count : 0;
}

int record_metric_at(const collector_record *rec, size_t i, const char **name, uint32_t *type)
{
    if (rec == NULL || i >= rec->count)
        return -ENOENT;
    if (name != NULL)
        *name = rec->pool + rec->metrics[i].name;
    if (type != NULL)
        *type = rec->metrics[i].type;
    return 0;
}

int64_t record_time_ns(const collector_record *rec)
{
    return rec ? rec->time_ns : 0;
}

const char *record_source(const collector_record *rec)
{
    return rec ? rec->pool + rec->source : "";
}

const char *record_device(const collector_record *rec)
{
    return rec ? rec->pool + rec->device : "";
}

/* A heap copy of the first `keep` bytes of p, in a block of cap bytes. */
static void *copy_block(const void *p, size_t keep, size_t cap)
{
    void *q = malloc(cap);

    if (q != NULL)
        memcpy(q, p, keep);
    return q;
}

collector_record *record_clone(const collector_record *rec)
{
    collector_record *copy;
    int failed = 0;

    if (rec == NULL || (copy = malloc(sizeof(*copy))) == NULL)
        return NULL;
    memcpy(copy, rec, sizeof(*copy)); /* offsets stay valid: only the blocks move */
    if (rec->metrics != rec->inline_metrics) {
        copy->metrics = copy_block(rec->metrics, rec->count * sizeof(*rec->metrics),
                                   rec->cap * sizeof(*rec->metrics));
        failed |= copy->metrics == NULL;
    } else {
        copy->metrics = copy->inline_metrics;
    }
    if (rec->index != rec->inline_index) {
        copy->index = copy_block(rec->index, rec->index_size * sizeof(*rec->index),
                                 rec->index_size * sizeof(*rec->index));
        failed |= copy->index == NULL;
    } else {
        copy->index = copy->inline_index;
    }
    if (rec->pool != rec->inline_pool) {
        copy->pool = copy_block(rec->pool, rec->used, rec->pool_cap);
        failed |= copy->pool == NULL;
    } else {
        copy->pool = copy->inline_pool;
    }
    if (failed) {
        record_free(copy);
        return NULL;
    }
    return copy;
}

size_t record_bytes(const collector_record *rec)
{
    size_t n = sizeof(*rec);

    if (rec->metrics != rec->inline_metrics)
        n += rec->cap * sizeof(*rec->metrics);
    if (rec->index != rec->inline_index)
        n += rec->index_size * sizeof(*rec->index);
    if (rec->pool != rec->inline_pool)
        n += rec->pool_cap;
    return n;
}

int64_t record_interval_ms(const collector_record *rec)
{
    return rec ? rec->interval_ms : 0;
}

void record_set_interval_ms(collector_record *rec, int64_t interval_ms)
{
    if (rec != NULL)
        rec->interval_ms = interval_ms > 0 ? interval_ms : 0;
}

void record_set_fallback_interval_ms(collector_record *rec, int64_t interval_ms)
{
    if (rec != NULL)
        rec->fallback_ms = interval_ms > 0 ? interval_ms : 0;
}

/* The one freshness rule (plugin.h, docs/ABI.md): the record's time plus
 * COLLECTOR_STALE_FACTOR times its source's configured interval, else the
 * host's collector.interval; with neither known, stale at its own time. */
int64_t record_fresh_until_ns(const collector_record *rec)
{
    int64_t ms;

    if (rec == NULL)
        return 0;
    ms = rec->interval_ms > 0 ? rec->interval_ms : rec->fallback_ms;
    return rec->time_ns + (int64_t)COLLECTOR_STALE_FACTOR * ms * 1000000;
}

uint32_t record_kind(const collector_record *rec)
{
    return rec ? rec->kind : COLLECTOR_RECORD_MEASUREMENT;
}

void record_set_kind(collector_record *rec, uint32_t kind)
{
    if (rec != NULL)
        rec->kind = kind == COLLECTOR_RECORD_EVENT ? COLLECTOR_RECORD_EVENT
                                                   : COLLECTOR_RECORD_MEASUREMENT;
}

#include "config.h"

#include "record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define METRIC_NAME_MAX 64

struct metric {
    char name[METRIC_NAME_MAX];
    uint32_t type;
    union {
        double d;
        int64_t i;
        int b;
        char *s;
        struct {
            double *v;
            size_t n;
        } a;
    } u;
};

struct collector_record {
    int64_t time_ns;
    int64_t interval_ms; /* the source's configured interval; 0 unknown */
    char *source;
    char *device;
    struct metric *metrics; /* insertion order */
    size_t count;
    size_t cap;
};

static void metric_clear(struct metric *m)
{
    if (m->type == COLLECTOR_METRIC_STRING)
        free(m->u.s);
    else if (m->type == COLLECTOR_METRIC_DOUBLES)
        free(m->u.a.v);
    memset(&m->u, 0, sizeof(m->u));
}

int record_name_is_valid(const char *name)
{
    size_t n = 0;

    if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
        return 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
        if (n + 1 >= METRIC_NAME_MAX)
            return 0;
    }
    return 1;
}

int record_new(const char *source, int64_t time_ns, collector_record **out)
{
    collector_record *rec = calloc(1, sizeof(*rec));

    if (rec == NULL)
        return -ENOMEM;
    rec->time_ns = time_ns;
    rec->source = strdup(source ? source : "");
    rec->device = strdup("");
    if (rec->source == NULL || rec->device == NULL) {
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
    for (size_t i = 0; i < rec->count; i++)
        metric_clear(&rec->metrics[i]);
    free(rec->metrics);
    free(rec->source);
    free(rec->device);
    free(rec);
}

static struct metric *find(const collector_record *rec, const char *name)
{
    if (rec == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < rec->count; i++)
        if (strcmp(rec->metrics[i].name, name) == 0)
            return &rec->metrics[i];
    return NULL;
}

/* The slot for `name`: the existing one (cleared) or a new one at the end. */
static int slot(collector_record *rec, const char *name, struct metric **out)
{
    struct metric *m;

    if (rec == NULL || !record_name_is_valid(name))
        return -EINVAL;
    m = find(rec, name);
    if (m != NULL) {
        metric_clear(m);
        *out = m;
        return 0;
    }
    if (rec->count == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 16;
        struct metric *grown = realloc(rec->metrics, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        rec->metrics = grown;
        rec->cap = cap;
    }
    m = &rec->metrics[rec->count++];
    memset(m, 0, sizeof(*m));
    memcpy(m->name, name, strlen(name) + 1);
    *out = m;
    return 0;
}

int record_set_double(collector_record *rec, const char *name, double value)
{
    struct metric *m;
    int rc = slot(rec, name, &m);
    if (rc < 0)
        return rc;
    m->type = COLLECTOR_METRIC_DOUBLE;
    m->u.d = value;
    return 0;
}

int record_set_int(collector_record *rec, const char *name, int64_t value)
{
    struct metric *m;
    int rc = slot(rec, name, &m);
    if (rc < 0)
        return rc;
    m->type = COLLECTOR_METRIC_INT;
    m->u.i = value;
    return 0;
}

int record_set_bool(collector_record *rec, const char *name, int value)
{
    struct metric *m;
    int rc = slot(rec, name, &m);
    if (rc < 0)
        return rc;
    m->type = COLLECTOR_METRIC_BOOL;
    m->u.b = value != 0;
    return 0;
}

int record_set_string(collector_record *rec, const char *name, const char *value)
{
    struct metric *m;
    char *copy;
    int rc;

    if (value == NULL)
        return -EINVAL;
    copy = strdup(value);
    if (copy == NULL)
        return -ENOMEM;
    rc = slot(rec, name, &m);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    m->type = COLLECTOR_METRIC_STRING;
    m->u.s = copy;
    return 0;
}

int record_set_doubles(collector_record *rec, const char *name, const double *values,
                       size_t count)
{
    struct metric *m;
    double *copy = NULL;
    int rc;

    if (count > 0 && values == NULL)
        return -EINVAL;
    if (count > 0) {
        copy = malloc(count * sizeof(*copy));
        if (copy == NULL)
            return -ENOMEM;
        memcpy(copy, values, count * sizeof(*copy));
    }
    rc = slot(rec, name, &m);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    m->type = COLLECTOR_METRIC_DOUBLES;
    m->u.a.v = copy;
    m->u.a.n = count;
    return 0;
}

int record_unset(collector_record *rec, const char *name)
{
    struct metric *m = find(rec, name);
    size_t i;

    if (m == NULL)
        return -ENOENT;
    metric_clear(m);
    i = (size_t)(m - rec->metrics);
    memmove(m, m + 1, (rec->count - i - 1) * sizeof(*m));
    rec->count--;
    return 0;
}

int record_set_device(collector_record *rec, const char *device)
{
    char *copy;

    if (rec == NULL || device == NULL)
        return -EINVAL;
    copy = strdup(device);
    if (copy == NULL)
        return -ENOMEM;
    free(rec->device);
    rec->device = copy;
    return 0;
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
        *out = m->u.s;
    return rc;
}

int record_get_doubles(const collector_record *rec, const char *name, const double **values,
                       size_t *count)
{
    const struct metric *m;
    int rc = typed(rec, name, COLLECTOR_METRIC_DOUBLES, &m);
    if (rc == 0) {
        *values = m->u.a.v;
        *count = m->u.a.n;
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
        *name = rec->metrics[i].name;
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
    return rec ? rec->source : "";
}

const char *record_device(const collector_record *rec)
{
    return rec ? rec->device : "";
}

collector_record *record_clone(const collector_record *rec)
{
    collector_record *copy;

    if (rec == NULL || record_new(rec->source, rec->time_ns, &copy) < 0)
        return NULL;
    copy->interval_ms = rec->interval_ms;
    if (record_set_device(copy, rec->device) < 0)
        goto fail;
    for (size_t i = 0; i < rec->count; i++) {
        const struct metric *m = &rec->metrics[i];
        int rc = -EINVAL;
        switch (m->type) {
        case COLLECTOR_METRIC_DOUBLE:
            rc = record_set_double(copy, m->name, m->u.d);
            break;
        case COLLECTOR_METRIC_INT:
            rc = record_set_int(copy, m->name, m->u.i);
            break;
        case COLLECTOR_METRIC_BOOL:
            rc = record_set_bool(copy, m->name, m->u.b);
            break;
        case COLLECTOR_METRIC_STRING:
            rc = record_set_string(copy, m->name, m->u.s);
            break;
        case COLLECTOR_METRIC_DOUBLES:
            rc = record_set_doubles(copy, m->name, m->u.a.v, m->u.a.n);
            break;
        }
        if (rc < 0)
            goto fail;
    }
    return copy;
fail:
    record_free(copy);
    return NULL;
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

/* sqlite_merge: battery data into eamoon's inverter.db, so its dashboard and
 * bot show the BMS values unchanged. See docs/sqlite-merge.md. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include <collector/plugin.h>

#include "plugins/librecjson/record_json.h"
#include "plugins/sqlite_merge/merge_sql.h"

#define MAX_BATTERIES 16
#define MAX_FIELDS 48
#define QUEUE_MAX 64
#define DEFAULT_MAX_AGE_S 90.0 /* 3 x the default 30 s poll interval */

enum { FMT_FIXED, FMT_INT, FMT_AS_IS };

struct field {
    char name[64];
    int fmt;
    int decimals;
};

/* eamoon's keys and their formats (eamoon-compat.md 2.2). */
static const struct field default_fields[] = {
    {"battery_voltage", FMT_FIXED, 1}, {"battery_current", FMT_FIXED, 1},
    {"battery_soc", FMT_FIXED, 0},     {"battery_power", FMT_FIXED, 0},
    {"temperature", FMT_FIXED, 0},     {"bms_cell_count", FMT_INT, 0},
    {"bms_cell_min_v", FMT_FIXED, 3},  {"bms_cell_max_v", FMT_FIXED, 3},
    {"bms_cell_delta_v", FMT_FIXED, 3}, {"bms_name", FMT_AS_IS, 0},
    {"bms_address", FMT_AS_IS, 0},
};

struct battery {
    char source[64];
    int index;      /* 1 = no prefix, N = "batteryN_" */
    double last_t;  /* time of its last record, s */
    double max_age; /* s */
};

struct pending {
    int battery;
    double time_s;
    time_t secs; /* the same time in whole seconds, rounded down, for created_at */
    double max_age;
    char *patch;   /* JSON object of formatted keys */
    char *history; /* JSON of the whole record, or NULL */
};

struct merge {
    const struct collector_host_api *api;
    collector_host *host;
    char *path;
    int overlay;
    double max_age; /* 0: 3 x each battery's own record interval */
    int fixed_index;
    char order[MAX_BATTERIES][64]; /* batteries = (...): source instance -> number */
    size_t norder;
    struct field fields[MAX_FIELDS];
    size_t nfields;
    int history;
    int history_days;
    int keep_journal;
    int busy_ms;
    sqlite3 *db;
    int ready; /* schema, pragmas and trigger in place */
    struct battery bats[MAX_BATTERIES];
    size_t nbats;
    struct pending queue[QUEUE_MAX];
    size_t qhead, qlen;
    unsigned long dropped;
    int failing;
    long long warned_row; /* the newest row last reported as not an object */
    int warned_no_row;
    double last_retention;
};

static const char *const settings[] = {
    "path",    "mode",         "max_age",      "battery_index", "batteries", "fields",
    "history", "history_days", "journal_mode", "busy_timeout",  NULL,
};

static double now_s(const struct merge *m)
{
    /* the host reads the clock and logs if it cannot */
    return (double)m->api->time_ns(m->host, COLLECTOR_CLOCK_REALTIME) / 1e9;
}

static int sql_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    default:
        return -EIO;
    }
}

/* ---- settings ---- */

static int add_field(struct merge *m, const char *name)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].name, name) == 0)
            return 0;
    if (m->nfields == MAX_FIELDS || strlen(name) >= sizeof(m->fields[0].name))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(default_fields) / sizeof(default_fields[0]); i++) {
        if (strcmp(default_fields[i].name, name) == 0) {
            m->fields[m->nfields++] = default_fields[i];
            return 0;
        }
    }
    snprintf(m->fields[m->nfields].name, sizeof(m->fields[0].name), "%s", name);
    m->fields[m->nfields].fmt = FMT_AS_IS;
    m->nfields++;
    return 0;
}

/* fields = ("+bms_soc", "+cells") extends the default keys; a list without
 * "+" replaces them. */
static int read_fields(struct merge *m, const collector_settings *s)
{
    const struct collector_host_api *api = m->api;
    const collector_settings *list;
    size_t n;
    int extend = 1;

    m->nfields = 0;
    if (api->setting_child(s, "fields", &list) != 0) {
        for (size_t i = 0; i < sizeof(default_fields) / sizeof(default_fields[0]); i++)
            m->fields[m->nfields++] = default_fields[i];
        return 0;
    }
    n = api->setting_count(list);
    for (size_t i = 0; i < n; i++) {
        const collector_settings *e;
        const char *name;
        if (api->setting_element(list, i, &e) != 0 || api->setting_string(e, NULL, &name) != 0) {
            api->setting_error(m->host, s, "fields", "want a list of metric names");
            return -EINVAL;
        }
        if (name[0] != '+')
            extend = 0;
    }
    if (extend)
        for (size_t i = 0; i < sizeof(default_fields) / sizeof(default_fields[0]); i++)
            m->fields[m->nfields++] = default_fields[i];
    for (size_t i = 0; i < n; i++) {
        const collector_settings *e;
        const char *name;
        api->setting_element(list, i, &e);
        api->setting_string(e, NULL, &name);
        if (name[0] == '+')
            name++;
        if (name[0] == '\0' || add_field(m, name) < 0) {
            api->setting_error(m->host, e, NULL, "bad or too many field names (\"%s\")", name);
            return -EINVAL;
        }
    }
    return 0;
}

static int read_settings(struct merge *m, const collector_settings *s)
{
    const struct collector_host_api *api = m->api;
    const char *path = NULL, *mode = "overlay", *journal = "wal";
    int64_t idx = 0, days = 30, busy = 5000;
    double max_age = 0;
    int rc;

    rc = api->setting_string(s, "path", &path);
    if (rc == -EINVAL || (rc == 0 && path[0] == '\0')) {
        api->setting_error(m->host, s, "path", "want the path of inverter.db");
        return -EINVAL;
    }
    if (rc == -ENOENT) {
        const char *env = getenv("DB_PATH"); /* the seed's variable */
        path = env && *env ? env : "inverter.db";
    }
    rc = api->setting_string(s, "mode", &mode);
    if (rc == -EINVAL || (strcmp(mode, "overlay") != 0 && strcmp(mode, "append") != 0)) {
        api->setting_error(m->host, s, "mode", "want \"overlay\" or \"append\"");
        return -EINVAL;
    }
    m->overlay = strcmp(mode, "overlay") == 0;
    rc = api->setting_double(s, "max_age", &max_age);
    if (rc == -EINVAL || (rc == 0 && !(max_age > 0))) {
        api->setting_error(m->host, s, "max_age", "want a positive number of seconds");
        return -EINVAL;
    }
    m->max_age = max_age;
    rc = api->setting_int(s, "battery_index", &idx);
    if (rc == -EINVAL || (rc == 0 && (idx < 1 || idx > 99))) {
        api->setting_error(m->host, s, "battery_index", "want 1 (no prefix) to 99");
        return -EINVAL;
    }
    m->fixed_index = (int)idx;
    rc = api->setting_bool(s, "history", &m->history);
    if (rc == -EINVAL) {
        api->setting_error(m->host, s, "history", "want true or false");
        return -EINVAL;
    }
    rc = api->setting_int(s, "history_days", &days);
    if (rc == -EINVAL || days < 1 || days > 3650) {
        api->setting_error(m->host, s, "history_days", "want 1 to 3650 days");
        return -EINVAL;
    }
    m->history_days = (int)days;
    rc = api->setting_string(s, "journal_mode", &journal);
    if (rc == -EINVAL || (strcmp(journal, "wal") != 0 && strcmp(journal, "keep") != 0)) {
        api->setting_error(m->host, s, "journal_mode",
                           "want \"wal\" or \"keep\" (leave the database's mode alone)");
        return -EINVAL;
    }
    m->keep_journal = strcmp(journal, "keep") == 0;
    rc = api->setting_int(s, "busy_timeout", &busy);
    if (rc == -EINVAL || busy < 0 || busy > 600000) {
        api->setting_error(m->host, s, "busy_timeout", "want 0 to 600000 milliseconds");
        return -EINVAL;
    }
    m->busy_ms = (int)busy;
    {
        const collector_settings *list, *e;
        const char *name;
        if (api->setting_child(s, "batteries", &list) == 0) {
            size_t n = api->setting_count(list);
            for (size_t i = 0; i < n; i++) {
                if (i >= MAX_BATTERIES || api->setting_element(list, i, &e) != 0 ||
                    api->setting_string(e, NULL, &name) != 0 || strlen(name) >= 64) {
                    api->setting_error(m->host, s, "batteries",
                                       "want up to %d source instance names, in battery order",
                                       MAX_BATTERIES);
                    return -EINVAL;
                }
                memcpy(m->order[m->norder++], name, strlen(name) + 1);
            }
        }
    }
    if (read_fields(m, s) < 0)
        return -EINVAL;
    m->path = strdup(path);
    return m->path ? 0 : -ENOMEM;
}

/* ---- database ---- */

static int exec(struct merge *m, const char *sql)
{
    return sqlite3_exec(m->db, sql, NULL, NULL, NULL);
}

/* Pragmas, tables and the trigger. Retried on every write until it works
 * (the file may be locked or read-only for a while). */
static int setup(struct merge *m)
{
    int rc;

    if (m->ready)
        return SQLITE_OK;
    sqlite3_busy_timeout(m->db, m->busy_ms);
    /* The sink touches the newest rows only: a small page cache is plenty
     * (SQLite's default is 2 MiB; this daemon aims at a few MB in all). */
    exec(m, "PRAGMA cache_size = -128;");
    if (!m->keep_journal && (rc = exec(m, "PRAGMA journal_mode=WAL;")) != SQLITE_OK)
        return rc;
    if ((rc = exec(m, "BEGIN IMMEDIATE;")) != SQLITE_OK)
        return rc;
    rc = exec(m, MERGE_SQL_READINGS MERGE_SQL_PATCH);
    if (rc == SQLITE_OK)
        rc = exec(m, m->overlay ? MERGE_SQL_TRIGGER
                                : "DROP TRIGGER IF EXISTS collectord_overlay;");
    if (rc == SQLITE_OK && m->history)
        rc = exec(m, MERGE_SQL_HISTORY);
    if (rc == SQLITE_OK)
        rc = exec(m, "COMMIT;");
    if (rc != SQLITE_OK) {
        exec(m, "ROLLBACK;");
        return rc;
    }
    m->ready = 1;
    return SQLITE_OK;
}

/* created_at for a new row, in the format of `like` (the newest row's):
 * "YYYY-MM-DDTHH:MM:SS", with " " instead of "T", and/or a "+HH:MM" offset. */
static void format_created_at(const char *like, time_t secs, char *out, size_t cap)
{
    int offset_min = 0, sign = 1;
    char sep = 'T';
    struct tm tm;
    size_t n = like ? strlen(like) : 0;

    if (n >= 19 && like[10] == ' ')
        sep = ' ';
    if (n >= 25 && (like[n - 6] == '+' || like[n - 6] == '-') && like[n - 3] == ':') {
        sign = like[n - 6] == '-' ? -1 : 1;
        offset_min = sign * (((like[n - 5] - '0') * 10 + (like[n - 4] - '0')) * 60 +
                             (like[n - 2] - '0') * 10 + (like[n - 1] - '0'));
        secs += (time_t)offset_min * 60;
    }
    gmtime_r(&secs, &tm);
    snprintf(out, cap, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n >= 25 && (like[n - 6] == '+' || like[n - 6] == '-')) {
        int a = offset_min < 0 ? -offset_min : offset_min;
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%c%02d:%02d", offset_min < 0 ? '-' : '+', a / 60,
                 a % 60);
    }
}

/* The newest readings row: its id, whether it is a good row (error NULL and a
 * JSON-object payload), and its created_at. 0 / -ENOENT (empty) / SQLite rc. */
static int newest_row(struct merge *m, long long *id, int *good, int *not_object, char *created,
                      size_t cap)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(m->db,
                                "SELECT id, created_at, error IS NULL, payload IS NOT NULL AND "
                                "json_valid(payload) AND json_type(payload) = 'object', "
                                "payload IS NOT NULL FROM readings ORDER BY id DESC LIMIT 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *c = sqlite3_column_text(st, 1);
        *id = sqlite3_column_int64(st, 0);
        *good = sqlite3_column_int(st, 2) && sqlite3_column_int(st, 3);
        *not_object = sqlite3_column_int(st, 2) && sqlite3_column_int(st, 4) &&
                      !sqlite3_column_int(st, 3);
        snprintf(created, cap, "%s", c ? (const char *)c : "");
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

static int run(struct merge *m, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc = sqlite3_prepare_v2(m->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return rc;
    va_start(ap, fmt);
    for (int i = 1; fmt[i - 1] != '\0'; i++) {
        switch (fmt[i - 1]) {
        case 'i':
            sqlite3_bind_int64(st, i, va_arg(ap, long long));
            break;
        case 'd':
            sqlite3_bind_double(st, i, va_arg(ap, double));
            break;
        case 's':
            sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
            break;
        }
    }
    va_end(ap);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Store one pending record, all or nothing. */
static int store(struct merge *m, const struct pending *p)
{
    long long id = 0;
    int good = 0, not_object = 0, rc, have_row;
    char created[64] = "", stamp[64];

    rc = setup(m);
    if (rc != SQLITE_OK)
        return rc;
    if ((rc = exec(m, "BEGIN IMMEDIATE;")) != SQLITE_OK)
        return rc;
    rc = newest_row(m, &id, &good, &not_object, created, sizeof(created));
    have_row = rc == 0;
    if (rc == -ENOENT)
        rc = SQLITE_OK;
    if (rc != SQLITE_OK)
        goto fail;
    if (have_row && not_object && m->warned_row != id) {
        m->warned_row = id;
        m->api->log(m->host, COLLECTOR_LOG_ERROR,
                    "%s: newest readings row %lld has a payload that is not a JSON object: "
                    "left alone",
                    m->path, id);
    }
    if (m->overlay) {
        rc = run(m,
                 "INSERT INTO collectord_patch (battery, patch, updated_at, max_age) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT(battery) DO UPDATE SET patch = excluded.patch, "
                 "updated_at = excluded.updated_at, max_age = excluded.max_age",
                 "isdd", (long long)p->battery, p->patch, p->time_s, p->max_age);
        if (rc == SQLITE_OK && have_row && good)
            rc = run(m, "UPDATE readings SET payload = json_patch(payload, ?) WHERE id = ?", "si",
                     p->patch, id);
    } else if (have_row && good) {
        format_created_at(created, p->secs, stamp, sizeof(stamp));
        rc = run(m,
                 "INSERT INTO readings (created_at, payload, error) SELECT ?, "
                 "json_patch(payload, ?), NULL FROM readings WHERE id = ?",
                 "ssi", stamp, p->patch, id);
    }
    if (rc == SQLITE_OK && !good && !m->warned_no_row) {
        m->warned_no_row = 1;
        m->api->log(m->host, COLLECTOR_LOG_INFO,
                    "%s: no good inverter row to merge into yet (empty table or a failed "
                    "read): %s",
                    m->path,
                    m->overlay ? "the patch waits for the inverter's next row"
                               : "no row added (a row with only battery keys would look like "
                                 "a grid outage)");
    }
    if (good)
        m->warned_no_row = 0;
    if (rc == SQLITE_OK && p->history) {
        struct tm tm;
        gmtime_r(&p->secs, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        rc = run(m, "INSERT INTO bms_readings (created_at, battery, payload) VALUES (?, ?, ?)",
                 "sis", stamp, (long long)p->battery, p->history);
        if (rc == SQLITE_OK && now_s(m) - m->last_retention > 600) {
            char sql[160];
            snprintf(sql, sizeof(sql),
                     "DELETE FROM bms_readings WHERE created_at < datetime('now', '-%d days')",
                     m->history_days);
            rc = exec(m, sql);
            if (rc == SQLITE_OK)
                m->last_retention = now_s(m);
        }
    }
    if (rc != SQLITE_OK)
        goto fail;
    rc = exec(m, "COMMIT;");
    if (rc != SQLITE_OK)
        goto fail;
    return SQLITE_OK;
fail:
    exec(m, "ROLLBACK;");
    return rc;
}

static void pending_free(struct pending *p)
{
    free(p->patch);
    free(p->history);
    memset(p, 0, sizeof(*p));
}

/* Write what is queued, oldest first; stop at the first failure. */
static int drain(struct merge *m)
{
    while (m->qlen > 0) {
        struct pending *p = &m->queue[m->qhead];
        int rc = store(m, p);
        if (rc != SQLITE_OK) {
            const char *why = sqlite3_errstr(rc);
            if (!m->failing)
                m->api->log(m->host, COLLECTOR_LOG_ERROR,
                            "%s: %s: record kept, %zu waiting (retried on every write; "
                            "logged again when it recovers)",
                            m->path,
                            (rc & 0xff) == SQLITE_BUSY ? "database is locked past busy_timeout"
                                                       : why,
                            m->qlen);
            m->failing = 1;
            return sql_errno(rc);
        }
        pending_free(p);
        m->qhead = (m->qhead + 1) % QUEUE_MAX;
        m->qlen--;
    }
    if (m->failing) {
        m->api->log(m->host, COLLECTOR_LOG_INFO, "%s: writing again (%lu record(s) dropped)",
                    m->path, m->dropped);
        m->failing = 0;
    }
    return 0;
}

/* ---- records to JSON ---- */

static struct battery *battery_for(struct merge *m, const char *source, double t)
{
    struct battery *b = NULL;

    for (size_t i = 0; i < m->nbats; i++)
        if (strcmp(m->bats[i].source, source) == 0)
            b = &m->bats[i];
    if (b == NULL) {
        if (m->nbats == MAX_BATTERIES)
            return NULL;
        b = &m->bats[m->nbats++];
        snprintf(b->source, sizeof(b->source), "%s", source);
        b->index = m->fixed_index ? m->fixed_index : 0;
        for (size_t i = 0; i < m->norder && b->index == 0; i++)
            if (strcmp(m->order[i], source) == 0)
                b->index = (int)i + 1;
        if (b->index == 0) {
            /* not listed: the next free number, said once (sources run in
             * parallel, so arrival order is not config order) */
            int next = (int)m->norder + 1;
            for (size_t i = 0; i + 1 < m->nbats; i++)
                if (m->bats[i].index >= next)
                    next = m->bats[i].index + 1;
            b->index = next;
            m->api->log(m->host, COLLECTOR_LOG_INFO,
                        "%s is battery %d (%s); batteries = (\"...\", ...) fixes the order",
                        source, b->index, b->index == 1 ? "keys without prefix" : "battery<N>_ keys");
        }
        b->max_age = m->max_age > 0 ? m->max_age : DEFAULT_MAX_AGE_S;
    } else if (m->max_age <= 0 && t > b->last_t) {
        /* Fresh for three of this battery's own intervals. */
        b->max_age = 3.0 * (t - b->last_t);
        if (b->max_age < 3.0)
            b->max_age = 3.0;
    }
    b->last_t = t;
    return b;
}

static uint32_t metric_type(const struct collector_host_api *api, const collector_record *rec,
                            const char *name)
{
    for (size_t i = 0; i < api->metric_count(rec); i++) {
        const char *n;
        uint32_t t;
        if (api->metric_at(rec, i, &n, &t) == 0 && strcmp(n, name) == 0)
            return t;
    }
    return 0;
}

static char *build_patch(struct merge *m, const collector_record *rec, int index)
{
    const struct collector_host_api *api = m->api;
    json_t *obj = json_object();
    char prefix[24] = "", key[96], text[64];
    char *out;

    if (index >= 2)
        snprintf(prefix, sizeof(prefix), "battery%d_", index);
    for (size_t i = 0; i < m->nfields; i++) {
        const struct field *f = &m->fields[i];
        uint32_t type = metric_type(api, rec, f->name);
        json_t *value = NULL;
        double d;

        if (type == 0 && strcmp(f->name, "bms_address") == 0 && api->record_device(rec)[0])
            value = json_string(api->record_device(rec));
        else if (type == 0)
            continue;
        else if (f->fmt == FMT_FIXED && api->get_double(rec, f->name, &d) == 0 && isfinite(d)) {
            snprintf(text, sizeof(text), "%.*f", f->decimals, d);
            value = json_string(text);
        } else if (f->fmt == FMT_INT && api->get_double(rec, f->name, &d) == 0 && isfinite(d)) {
            /* a JSON integer: the dashboard compares it with > 0 */
            value = json_integer((json_int_t)llround(d));
        } else if (f->fmt == FMT_AS_IS) {
            value = recjson_metric(api, rec, f->name, type);
        }
        if (value == NULL)
            continue;
        snprintf(key, sizeof(key), "%s%s", prefix, f->name);
        json_object_set_new(obj, key, value);
    }
    out = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(obj);
    return out;
}

static char *build_history(struct merge *m, const collector_record *rec)
{
    const struct collector_host_api *api = m->api;
    json_t *obj = json_object();
    char *out;

    json_object_set_new(obj, "source", json_string(api->record_source(rec)));
    json_object_set_new(obj, "device", json_string(api->record_device(rec)));
    recjson_add_metrics(api, rec, obj);
    out = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(obj);
    return out;
}

/* ---- plugin callbacks ---- */

static void merge_destroy(void *state)
{
    struct merge *m = state;

    if (m == NULL)
        return;
    while (m->qlen > 0) {
        pending_free(&m->queue[m->qhead]);
        m->qhead = (m->qhead + 1) % QUEUE_MAX;
        m->qlen--;
    }
    sqlite3_close(m->db);
    free(m->path);
    free(m);
}

static int merge_create(const struct collector_host_api *api, collector_host *host,
                        const collector_settings *s, void **state_out)
{
    struct merge *m = calloc(1, sizeof(*m));
    int rc;

    if (m == NULL)
        return -ENOMEM;
    m->api = api;
    m->host = host;
    m->warned_row = -1;
    rc = read_settings(m, s);
    if (rc < 0)
        goto fail;
    rc = sqlite3_open_v2(m->path, &m->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        api->setting_error(host, s, "path", "%s: cannot open: %s", m->path,
                           m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc));
        rc = -EIO;
        goto fail;
    }
    rc = setup(m);
    if (rc != SQLITE_OK)
        api->log(host, COLLECTOR_LOG_WARNING,
                 "%s: cannot prepare the database yet (%s): retrying on each write", m->path,
                 sqlite3_errmsg(m->db));
    *state_out = m;
    return 0;
fail:
    merge_destroy(m);
    return rc;
}

static int merge_write(void *state, const collector_record *rec)
{
    struct merge *m = state;
    const struct collector_host_api *api = m->api;
    int64_t ns = api->record_time_ns(rec);
    double t = (double)ns / 1e9;
    struct battery *b = battery_for(m, api->record_source(rec), t);
    struct pending p = {0};

    if (b == NULL) {
        api->log(m->host, COLLECTOR_LOG_ERROR, "more than %d batteries: record from %s ignored",
                 MAX_BATTERIES, api->record_source(rec));
        return -ENOSPC;
    }
    p.battery = b->index;
    p.time_s = t;
    /* from the integer ns, not t: no rounding across a second (time_t is
     * 64-bit, configure sees to it, so every int64 ns fits) */
    p.secs = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
    p.max_age = b->max_age;
    p.patch = build_patch(m, rec, b->index);
    p.history = m->history ? build_history(m, rec) : NULL;
    if (p.patch == NULL || (m->history && p.history == NULL)) {
        pending_free(&p);
        return -ENOMEM;
    }
    if (m->qlen == QUEUE_MAX) {
        /* Bounded: the oldest waiting record goes first. */
        pending_free(&m->queue[m->qhead]);
        m->qhead = (m->qhead + 1) % QUEUE_MAX;
        m->qlen--;
        m->dropped++;
    }
    m->queue[(m->qhead + m->qlen) % QUEUE_MAX] = p;
    m->qlen++;
    drain(m);
    return 0; /* stored, or kept in the queue for the next write */
}

static int merge_flush(void *state)
{
    struct merge *m = state;
    return drain(m);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SINK,
    .name = "sqlite_merge",
    .version = PACKAGE_VERSION,
    .description = "battery data merged into eamoon's inverter.db",
    .settings = settings,
    .create = merge_create,
    .write = merge_write,
    .flush = merge_flush,
    .destroy = merge_destroy,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

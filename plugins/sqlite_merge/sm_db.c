/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqlite_merge: the database. eamoon's schema, the overlay trigger, and one
 * record stored per transaction, all or nothing. A locked database is
 * "try again" (the host keeps the record); anything else is said once per
 * cause with SQLite's own words and the record is dropped, never retried
 * forever. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugins/sqlite_merge/merge_sql.h"
#include "plugins/librecjson/record_json.h"
#include "plugins/sqlite_merge/sqlite_merge.h"

/* The statements of a write, prepared once per connection (on first use)
 * and reset after each step: SQL is compiled once, not on every poll. */

/* Multi-line strings in parentheses: one element each (clang's
 * -Wstring-concatenation). */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_NEWEST] = ("SELECT id, created_at, error IS NULL, payload IS NOT NULL AND "
                   "json_valid(payload) AND json_type(payload) = 'object', "
                   "payload IS NOT NULL FROM readings ORDER BY id DESC LIMIT 1"),
    [ST_UPSERT] = ("INSERT INTO collectord_patch (battery, patch, updated_at, max_age) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT(battery) DO UPDATE SET patch = "
                   "excluded.patch, updated_at = excluded.updated_at, max_age = excluded.max_age"),
    [ST_OVERLAY] = "UPDATE readings SET payload = json_patch(payload, ?) WHERE id = ?",
    [ST_APPEND] = ("INSERT INTO readings (created_at, payload, error) SELECT ?, "
                   "json_patch(payload, ?), NULL FROM readings WHERE id = ?"),
    [ST_HISTORY] = "INSERT INTO bms_readings (created_at, battery, payload) VALUES (?, ?, ?)",
    [ST_COMMAND] = ("INSERT INTO bms_commands (created_at, battery, switch, requested, outcome, "
                    "origin, detail, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
};


static double now_s(const struct merge *m)
{
    /* the host reads the clock and logs if it cannot */
    return (double)m->api->time_ns(m->host, COLLECTOR_CLOCK_REALTIME) / 1e9;
}


static int exec(struct merge *m, const char *sql)
{
    return sqlite3_exec(m->db, sql, NULL, NULL, NULL);
}

/* Pragmas, tables and the trigger. Retried on every write until it works
 * (the file may be locked or read-only for a while). On failure, `*table`
 * names the table it was on (NULL: readings), if `table` is not NULL. */
static int setup(struct merge *m, const char **table)
{
    int rc;

    if (m->ready)
        return SQLITE_OK;
    sqlite3_busy_timeout(m->db, m->busy_ms);
    /* The sink touches the newest rows only: the rightmost path of readings,
     * of bms_readings and of its created_at index (three pages each, up to a
     * file of a few hundred MB), sqlite_sequence, collectord_patch and page 1. 12
     * pages hold that (SQLite's default is 2 MiB; this daemon aims at a few
     * MB in all). 128 KiB (29 pages) cost 75 kB more with history on, for
     * 3.3-4.6 k merges a second instead of 2.8 k (append mode with history,
     * 40 000 merges): more than a battery ever needs. See sm_db_open for the
     * block SQLite would allocate first. */
    exec(m, "PRAGMA cache_size = 12;");
    if ((!m->keep_journal && (rc = exec(m, "PRAGMA journal_mode=WAL;")) != SQLITE_OK) ||
        (rc = exec(m, "BEGIN IMMEDIATE;")) != SQLITE_OK) {
        snprintf(m->db_msg, sizeof(m->db_msg), "%s", sqlite3_errmsg(m->db));
        return rc;
    }
    rc = exec(m, MERGE_SQL_READINGS MERGE_SQL_PATCH);
    if (rc == SQLITE_OK)
        rc = exec(m, m->overlay ? MERGE_SQL_TRIGGER
                                : "DROP TRIGGER IF EXISTS collectord_overlay;");
    if (rc == SQLITE_OK && m->history) {
        rc = exec(m, MERGE_SQL_HISTORY MERGE_SQL_COMMANDS);
        if (rc != SQLITE_OK && table != NULL)
            *table = "bms_readings";
    }
    if (rc == SQLITE_OK)
        rc = exec(m, "COMMIT;");
    if (rc != SQLITE_OK) {
        snprintf(m->db_msg, sizeof(m->db_msg), "%s", sqlite3_errmsg(m->db));
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

/* Statement `which`, prepared on first use; SQLite rc. */
static int statement(struct merge *m, int which, sqlite3_stmt **out)
{
    if (m->stmt[which] == NULL) {
        int rc = sqlite3_prepare_v3(m->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                    &m->stmt[which], NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    *out = m->stmt[which];
    return SQLITE_OK;
}

/* Ready for the next use; nothing bound stays referenced. */
static void done_with(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* The newest readings row: its id, whether it is a good row (error NULL and a
 * JSON-object payload), and its created_at. 0 / -ENOENT (empty) / SQLite rc. */
static int newest_row(struct merge *m, long long *id, int *good, int *not_object, char *created,
                      size_t cap)
{
    sqlite3_stmt *st;
    int rc = statement(m, ST_NEWEST, &st);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 1);
        size_t n = c ? strlen(c) : 0;
        *id = sqlite3_column_int64(st, 0);
        *good = sqlite3_column_int(st, 2) && sqlite3_column_int(st, 3);
        *not_object = sqlite3_column_int(st, 2) && sqlite3_column_int(st, 4) &&
                      !sqlite3_column_int(st, 3);
        n = n < cap ? n : cap - 1; /* cut as snprintf would (it showed in the profile) */
        memcpy(created, c ? c : "", n);
        created[n] = '\0';
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    }
    done_with(st);
    return rc;
}

/* Step statement `which` once with the values of `fmt` ('i' long long,
 * 'd' double, 's' text) bound; SQLITE_OK or the SQLite rc. */
static int run(struct merge *m, int which, const char *fmt, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    int rc = statement(m, which, &st);

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
    done_with(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Why step `step` failed, in SQLite's words, said once per cause; the
 * errno the host gets. "no such column: X" names `table` (NULL: readings). */
static int failed(struct merge *m, const char *step, const char *table, int rc)
{
    const char *msg = m->db_msg[0] ? m->db_msg : m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc);
    char why[512];
    int busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;

    if (busy)
        snprintf(why, sizeof(why), "%s: the database is locked past busy_timeout (%d ms): the "
                 "record is kept and retried", m->path, m->busy_ms);
    else if (strncmp(msg, "no such column: ", 16) == 0)
        snprintf(why, sizeof(why), "%s: %s: %s has no column %s (is this eamoon's "
                 "inverter.db?): record dropped", m->path, step, table ? table : "readings",
                 msg + 16);
    else
        snprintf(why, sizeof(why), "%s: %s: %s: record dropped", m->path, step, msg);
    plugkit_complain(&m->failure, m->api, m->host, busy ? COLLECTOR_LOG_WARNING : COLLECTOR_LOG_ERROR,
                     why);
    return busy ? -EAGAIN : (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;
}

int sm_db_store(struct merge *m, const struct pending *p)
{
    long long id = 0;
    int good = 0, not_object = 0, rc, have_row;
    char created[64] = "", stamp[64];
    const char *step = "preparing the database", *table = NULL;

    if (m->db == NULL)
        return -EIO;
    m->db_msg[0] = '\0';
    rc = setup(m, &table);
    if (rc != SQLITE_OK)
        return failed(m, step, table, rc);
    if ((rc = run(m, ST_BEGIN, "")) != SQLITE_OK)
        return failed(m, "starting a write", NULL, rc);
    step = "reading the newest readings row";
    rc = newest_row(m, &id, &good, &not_object, created, sizeof(created));
    have_row = rc == 0;
    if (rc == -ENOENT)
        rc = SQLITE_OK;
    if (rc != SQLITE_OK)
        goto fail;
    if (have_row && not_object && m->warned_row != id) {
        m->warned_row = id;
        m->api->log(m->host, COLLECTOR_LOG_ERROR,
                    "%s: newest row %lld: payload is not a JSON object: left alone", m->path, id);
    }
    if (m->overlay) {
        step = "saving the patch";
        rc = run(m, ST_UPSERT, "isdd", (long long)p->battery, p->patch, p->time_s, p->max_age);
        step = "merging into the newest row";
        if (rc == SQLITE_OK && have_row && good)
            rc = run(m, ST_OVERLAY, "si", p->patch, id);
    } else if (have_row && good) {
        step = "appending a row";
        format_created_at(created, p->secs, stamp, sizeof(stamp));
        rc = run(m, ST_APPEND, "ssi", stamp, p->patch, id);
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
        step = "writing the history";
        table = "bms_readings";
        gmtime_r(&p->secs, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        rc = run(m, ST_HISTORY, "sis", stamp, (long long)p->battery, p->history);
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
    step = "committing";
    rc = run(m, ST_COMMIT, "");
    if (rc != SQLITE_OK)
        goto fail;
    if (plugkit_complain_release(&m->failure))
        m->api->log(m->host, COLLECTOR_LOG_INFO, "%s: writing again", m->path);
    return 0;
fail:
    rc = failed(m, step, table, rc); /* before ROLLBACK replaces the message */
    m->db_msg[0] = '\0';
    run(m, ST_ROLLBACK, "");
    return rc;
}

/* A symbolic link at `path` that neither root nor this daemon's user made:
 * whoever owns eamoon's directory could point it at any database. */
static int link_refused(const char *path, char *why, size_t cap)
{
    struct stat st;

    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode) || st.st_uid == 0 ||
        st.st_uid == geteuid())
        return 0;
    snprintf(why, cap,
             "%s is a symbolic link owned by uid %u, not by root or this daemon's user: "
             "refused",
             path, (unsigned)st.st_uid);
    return -EPERM;
}

int sm_path_refused(const char *path, char *why, size_t cap)
{
    static const char *const sidecar[] = {"", "-wal", "-shm", "-journal"};
    char name[PATH_MAX + 16], real[PATH_MAX];
    int rc = 0;

    /* the path as given, then beside the file SQLite really opens (its
     * -wal and -shm are named after the resolved path) */
    for (size_t i = 0; rc == 0 && i < sizeof(sidecar) / sizeof(sidecar[0]); i++) {
        snprintf(name, sizeof(name), "%s%s", path, sidecar[i]);
        rc = link_refused(name, why, cap);
    }
    if (rc == 0 && realpath(path, real) != NULL && strcmp(real, path) != 0) {
        for (size_t i = 1; rc == 0 && i < sizeof(sidecar) / sizeof(sidecar[0]); i++) {
            snprintf(name, sizeof(name), "%s%s", real, sidecar[i]);
            rc = link_refused(name, why, cap);
        }
    }
    return rc;
}

int sm_db_command(struct merge *m, const collector_record *ev)
{
    const struct collector_host_api *api = m->api;
    struct recjson_command c;
    int64_t ns = api->record_time_ns(ev);
    time_t secs = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
    char stamp[64];
    struct tm tm;
    const char *table = NULL;
    int rc;

    if (m->db == NULL)
        return -EIO;
    recjson_command_read(api, ev, &c);
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    m->db_msg[0] = '\0';
    rc = setup(m, &table);
    if (rc != SQLITE_OK)
        return failed(m, "preparing the database", table, rc);
    rc = run(m, ST_COMMAND, "sssssssi", stamp, api->record_source(ev), c.command, c.requested,
             c.outcome, c.origin, c.detail, (long long)c.duration_ms);
    return rc == SQLITE_OK ? 0 : failed(m, "writing bms_commands", "bms_commands", rc);
}

int sm_db_open(struct merge *m)
{
    char why[PATH_MAX * 2 + 160];
    int rc;

    if (sm_path_refused(m->path, why, sizeof(why)) < 0) {
        m->api->log(m->host, COLLECTOR_LOG_ERROR, "%s", why);
        return -EPERM;
    }
    /* SQLite's page cache allocates 20 pages in one block at its first read
     * (SQLITE_DEFAULT_PCACHE_INITSZ), before setup() can make the cache
     * smaller, and writes a header into each: 87 kB resident for a cache of
     * 12. Without the block, pages are allocated as the cache fills. Only
     * before SQLite initialises: later (another instance came first) it
     * answers SQLITE_MISUSE and changes nothing, which does no harm. */
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
    rc = sqlite3_open_v2(m->path, &m->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        m->api->log(m->host, COLLECTOR_LOG_ERROR, "%s: cannot open: %s", m->path,
                    m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc));
        sqlite3_close(m->db);
        m->db = NULL;
        return -EIO;
    }
    rc = setup(m, NULL);
    if (rc != SQLITE_OK)
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%s: cannot prepare the database yet (%s): retrying on each write", m->path,
                    m->db_msg);
    return 0;
}

void sm_db_close(struct merge *m)
{
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(m->stmt[i]);
        m->stmt[i] = NULL;
    }
    sqlite3_close(m->db);
    m->db = NULL;
    m->ready = 0;
}

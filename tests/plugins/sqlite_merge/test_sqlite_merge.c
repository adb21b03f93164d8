/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqlite_merge against real SQLite files: the eamoon contract, the overlay
 * trigger, append mode, error rows, locking. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/record.h"
#include "testhost.h"

struct fx {
    char dir[256];
    char db[300];
    char settings[600];
    sqlite3 *con; /* the test's own connection: eamoon's side */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/sqlite-merge-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/inverter.db", f->dir);
    assert_int_equal(sqlite3_open(f->db, &f->con), SQLITE_OK);
    sqlite3_busy_timeout(f->con, 5000);
    assert_int_equal(sqlite3_exec(f->con,
                                  "CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY "
                                  "AUTOINCREMENT, created_at TEXT NOT NULL, payload TEXT, error TEXT);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sqlite3_close(f->con);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void sql(struct fx *f, const char *q)
{
    char *err = NULL;
    if (sqlite3_exec(f->con, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err);
}

static void inverter_row(struct fx *f, const char *created_at)
{
    char q[512];
    snprintf(q, sizeof(q),
             "INSERT INTO readings (created_at, payload, error) VALUES ('%s', "
             "'{\"grid_voltage\": \"230.1\", \"battery_voltage\": \"52.6\", \"battery_soc\": "
             "\"87\", \"temperature\": \"31\", \"status_text\": \"SUB\"}', NULL)",
             created_at);
    sql(f, q);
}

/* A text value of the newest row's payload (or the SQL type with "type:"). */
static char *newest(struct fx *f, const char *expr)
{
    static char out[1024];
    sqlite3_stmt *st;
    char q[512];

    snprintf(q, sizeof(q), "SELECT %s FROM readings ORDER BY id DESC LIMIT 1", expr);
    assert_int_equal(sqlite3_prepare_v2(f->con, q, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static long long count(struct fx *f, const char *q)
{
    sqlite3_stmt *st;
    long long n = -1;
    assert_int_equal(sqlite3_prepare_v2(f->con, q, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* A JK-like record from source `source`, stamped `age_s` seconds ago. */
static collector_record *bms_record(const char *source, double volts, double age_s)
{
    static const double cells[4] = {3.216, 3.246, 3.230, 3.231};
    collector_record *r;
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    assert_int_equal(record_new(source, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec -
                                            (int64_t)(age_s * 1e9), &r), 0);
    /* as the host makes it: collector.interval, the freshness fallback */
    record_set_fallback_interval_ms(r, TESTHOST_COLLECTOR_INTERVAL_MS);
    record_set_device(r, "C8:47:8C:00:00:01");
    record_set_doubles(r, "cells", cells, 4);
    record_set_int(r, "bms_cell_count", 16);
    record_set_double(r, "bms_cell_min_v", 3.216);
    record_set_double(r, "bms_cell_max_v", 3.246);
    record_set_double(r, "bms_cell_delta_v", 0.030000000000000249);
    record_set_double(r, "battery_voltage", volts);
    record_set_double(r, "battery_current", -3.26);
    record_set_double(r, "battery_power", volts * -3.26);
    record_set_double(r, "temperature", 17.7);
    record_set_double(r, "battery_soc", 46.04);
    record_set_int(r, "bms_soc", 52);
    record_set_string(r, "bms_name", "JK_PB2A16S15P");
    return r;
}

static struct testhost *open_sink(struct fx *f, const char *extra)
{
    struct testhost *t;
    snprintf(f->settings, sizeof(f->settings), "path = \"%s\"; %s", f->db, extra);
    if (testhost_open("sqlite_merge", f->settings, &t) != 0)
        fail_msg("open: %s", testhost_last_log());
    return t;
}

static void write_rec(struct testhost *t, collector_record *r)
{
    assert_int_equal(testhost_write(t, r), 0);
    record_free(r);
}

static void overlay_patches_newest_row_with_contract_formats(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "2026-01-15T16:43:23");
    t = open_sink(f, "");
    write_rec(t, bms_record("battery1", 51.689, 0));
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 1); /* no extra row */
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_current')"), "-3.3");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_soc')"), "46");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_power')"), "-169");
    assert_string_equal(newest(f, "json_extract(payload, '$.temperature')"), "18");
    assert_string_equal(newest(f, "json_extract(payload, '$.bms_cell_min_v')"), "3.216");
    assert_string_equal(newest(f, "json_extract(payload, '$.bms_cell_delta_v')"), "0.030");
    assert_string_equal(newest(f, "json_extract(payload, '$.bms_name')"), "JK_PB2A16S15P");
    assert_string_equal(newest(f, "json_extract(payload, '$.bms_address')"), "C8:47:8C:00:00:01");
    /* types: strings, and bms_cell_count a JSON integer (a string breaks the dashboard) */
    assert_string_equal(newest(f, "json_type(payload, '$.battery_voltage')"), "text");
    assert_string_equal(newest(f, "json_type(payload, '$.bms_cell_count')"), "integer");
    assert_string_equal(newest(f, "json_extract(payload, '$.bms_cell_count')"), "16");
    /* every inverter key untouched; BMS-only extras not written by default */
    assert_string_equal(newest(f, "json_extract(payload, '$.grid_voltage')"), "230.1");
    assert_string_equal(newest(f, "json_extract(payload, '$.status_text')"), "SUB");
    assert_string_equal(newest(f, "json_type(payload, '$.cells')"), "");
    assert_string_equal(newest(f, "created_at"), "2026-01-15T16:43:23");
    testhost_close(t);
}

static void trigger_patches_later_inverter_rows_while_fresh(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "2026-01-15T16:43:23");
    t = open_sink(f, "max_age = 60;");
    write_rec(t, bms_record("battery1", 51.689, 0));
    inverter_row(f, "2026-01-15T16:43:33"); /* the poller's next row */
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    assert_string_equal(newest(f, "json_extract(payload, '$.grid_voltage')"), "230.1");
    /* a failed read stays a failed read: no payload appears */
    sql(f, "INSERT INTO readings (created_at, payload, error) VALUES ('x', NULL, 'timeout')");
    assert_string_equal(newest(f, "coalesce(payload, 'NULL') || '/' || error"), "NULL/timeout");
    /* and a write while the error row is newest leaves it alone */
    write_rec(t, bms_record("battery1", 52.0, 0));
    assert_string_equal(newest(f, "coalesce(payload, 'NULL')"), "NULL");
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 3);
    testhost_close(t);
}

static void stale_patches_are_never_applied(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "a");
    t = open_sink(f, "max_age = 5;");
    write_rec(t, bms_record("battery1", 51.689, 30)); /* measured 30 s ago */
    inverter_row(f, "b");
    /* the inverter's own battery value stays: no stale BMS data looks live */
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "52.6");
    assert_string_equal(newest(f, "coalesce(json_extract(payload, '$.bms_cell_count'), 'none')"),
                        "none");
    testhost_close(t);
}

static void two_batteries_prefix_and_own_freshness(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "a");
    t = open_sink(f, "max_age = 5;");
    write_rec(t, bms_record("battery1", 51.689, 0));
    write_rec(t, bms_record("battery2", 26.5, 0));
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery2_battery_voltage')"), "26.5");
    assert_string_equal(newest(f, "json_type(payload, '$.battery2_bms_cell_count')"), "integer");
    /* battery 2 goes silent (its last record is old), battery 1 stays fresh */
    write_rec(t, bms_record("battery2", 26.4, 60));
    write_rec(t, bms_record("battery1", 51.5, 0));
    inverter_row(f, "b");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.5");
    assert_string_equal(newest(f, "coalesce(json_extract(payload, '$.battery2_battery_voltage'), "
                                  "'gone')"),
                        "gone");
    testhost_close(t);
}

static void empty_table_gets_no_row(void **state)
{
    struct fx *f = *state;
    struct testhost *t = open_sink(f, "");

    write_rec(t, bms_record("battery1", 51.689, 0));
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 0);
    /* the patch waits for the inverter's first row */
    inverter_row(f, "a");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    testhost_close(t);
}

static void append_mode_inserts_one_merged_row(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "2026-01-15T18:43:23+02:00");
    t = open_sink(f, "mode = \"append\";");
    write_rec(t, bms_record("battery1", 51.689, 0));
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 2);
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    assert_string_equal(newest(f, "json_extract(payload, '$.grid_voltage')"), "230.1");
    /* created_at follows the rows already there: here with a +02:00 offset */
    {
        const char *c = newest(f, "created_at");
        assert_int_equal(strlen(c), 25);
        assert_string_equal(c + 19, "+02:00");
        assert_int_equal(c[10], 'T');
    }
    /* an error row newest: nothing is copied, no battery-only row appears */
    sql(f, "INSERT INTO readings (created_at, payload, error) VALUES ('x', NULL, 'timeout')");
    write_rec(t, bms_record("battery1", 51.0, 0));
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 3);
    assert_string_equal(newest(f, "error"), "timeout");
    /* no trigger in append mode */
    assert_int_equal(count(f, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 0);
    testhost_close(t);
}

static void non_object_payload_is_reported_and_left_alone(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    sql(f, "INSERT INTO readings (created_at, payload, error) VALUES ('a', '[1, 2]', NULL)");
    t = open_sink(f, "");
    write_rec(t, bms_record("battery1", 51.689, 0));
    assert_string_equal(newest(f, "payload"), "[1, 2]");
    assert_non_null(strstr(testhost_log(t), "is not a JSON object: left alone"));
    testhost_close(t);
}

/* A locked database is "try again" for the host's retry queue, never a
 * record lost; the next write after the lock goes stores it. */
static void locked_database_asks_the_host_to_retry(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    collector_record *r;

    inverter_row(f, "2026-01-15T16:43:23");
    t = open_sink(f, "mode = \"append\"; busy_timeout = 50;");
    sql(f, "BEGIN EXCLUSIVE");
    r = bms_record("battery1", 51.1, 0);
    assert_int_equal(testhost_write(t, r), -EAGAIN);
    assert_non_null(strstr(testhost_log(t), "database is locked past busy_timeout (50 ms)"));
    sql(f, "COMMIT");
    assert_int_equal(testhost_write(t, r), 0); /* what the host does next */
    record_free(r);
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 2);
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.1");
    assert_non_null(strstr(testhost_log(t), "writing again"));
    assert_int_equal(count(f, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    testhost_close(t);
}

/* Freshness comes from the source's configured interval: a battery that was
 * away for an hour and answered once is stale 3 intervals later (the seed
 * took 3 x the last gap: three hours). */
static void freshness_is_three_configured_intervals(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    collector_record *r;

    inverter_row(f, "a");
    t = open_sink(f, "");
    r = bms_record("battery1", 51.0, 3600); /* before the outage */
    record_set_interval_ms(r, 1000);
    write_rec(t, r);
    r = bms_record("battery1", 51.1, 4); /* answered once, 4 s ago, then silent */
    record_set_interval_ms(r, 1000);
    write_rec(t, r);
    inverter_row(f, "b");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "52.6");
    assert_string_equal(newest(f, "coalesce(json_extract(payload, '$.bms_cell_count'), 'none')"),
                        "none");
    r = bms_record("battery1", 51.2, 1); /* a record 1 s old is fresh */
    record_set_interval_ms(r, 1000);
    write_rec(t, r);
    inverter_row(f, "c");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.2");
    testhost_close(t);
}

/* What SQLite says, named: a readings table without payload, readings as a
 * view. The record is dropped once (-EIO), never retried forever, and no
 * row is touched. */
static void database_mistakes_are_named(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    collector_record *r;

    sql(f, "DROP TABLE readings; CREATE TABLE readings (id INTEGER PRIMARY KEY, created_at TEXT, "
           "error TEXT); INSERT INTO readings (created_at) VALUES ('a');");
    t = open_sink(f, "");
    r = bms_record("battery1", 51.0, 0);
    assert_int_equal(testhost_write(t, r), -EIO);
    assert_int_equal(testhost_write(t, r), -EIO);
    record_free(r);
    assert_non_null(strstr(testhost_log(t), "readings has no column payload"));
    /* said once, not once per record */
    assert_null(strstr(strstr(testhost_log(t), "readings has no column payload") + 1,
                       "readings has no column payload"));
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 1);
    testhost_close(t);

    sql(f, "DROP TABLE readings; CREATE TABLE inv (id INTEGER PRIMARY KEY, created_at TEXT, "
           "payload TEXT, error TEXT); INSERT INTO inv (created_at, payload) VALUES ('a', '{}');"
           "CREATE VIEW readings AS SELECT * FROM inv;");
    t = open_sink(f, "");
    r = bms_record("battery1", 51.0, 0);
    assert_int_equal(testhost_write(t, r), -EIO);
    record_free(r);
    if (strstr(testhost_log(t), "readings") == NULL || strstr(testhost_log(t), "view") == NULL)
        fail_msg("log does not name the view: %s", testhost_log(t));
    assert_string_equal(newest(f, "payload"), "{}");
    assert_int_equal(count(f, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    testhost_close(t);

    /* a bms_readings of someone else's: the message names bms_readings */
    sql(f, "DROP VIEW readings; CREATE TABLE readings (id INTEGER PRIMARY KEY, created_at TEXT, "
           "payload TEXT, error TEXT); CREATE TABLE bms_readings (id INTEGER PRIMARY KEY, x TEXT);");
    t = open_sink(f, "history = true;");
    r = bms_record("battery1", 51.0, 0);
    assert_int_equal(testhost_write(t, r), -EIO);
    record_free(r);
    if (strstr(testhost_log(t), "bms_readings has no column created_at") == NULL)
        fail_msg("log does not name bms_readings: %s", testhost_log(t));
    testhost_close(t);
}

static void history_and_extra_fields(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "a");
    t = open_sink(f, "history = true; fields = (\"+bms_soc\", \"+cells\");");
    write_rec(t, bms_record("battery1", 51.689, 0));
    assert_string_equal(newest(f, "json_type(payload, '$.bms_soc')"), "integer");
    assert_string_equal(newest(f, "json_extract(payload, '$.cells[1]')"), "3.246");
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    assert_int_equal(count(f, "SELECT count(*) FROM bms_readings WHERE battery = 1 AND "
                              "json_extract(payload, '$.cells[3]') = 3.231"),
                     1);
    assert_int_equal(count(f, "SELECT json_extract(payload, '$.bms_soc') FROM bms_readings"), 52);
    testhost_close(t);
}

/* ABI 1.2: a command's outcome event becomes one bms_commands row (with
 * history), never a reading; without history it is passed by. */
static void command_events_go_to_bms_commands(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    collector_record *ev;

    inverter_row(f, "a");
    t = open_sink(f, "history = true;");
    assert_int_equal(record_new("battery1", 1767225600LL * 1000000000, &ev), 0);
    record_set_kind(ev, COLLECTOR_RECORD_EVENT);
    record_set_string(ev, "command", "charge");
    record_set_string(ev, "requested", "off");
    record_set_string(ev, "outcome", "confirmed");
    record_set_string(ev, "origin", "socket uid 0");
    record_set_string(ev, "detail", "the device reports charge_switch off");
    record_set_int(ev, "duration_ms", 1800000);
    assert_int_equal(testhost_write(t, ev), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM bms_commands WHERE created_at = "
                              "'2026-01-01 00:00:00' AND battery = 'battery1' AND switch = "
                              "'charge' AND requested = 'off' AND outcome = 'confirmed' AND "
                              "origin = 'socket uid 0' AND detail = 'the device reports "
                              "charge_switch off' AND duration_ms = 1800000"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM bms_readings"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 1); /* untouched */
    testhost_close(t);
    t = open_sink(f, "");
    assert_int_equal(testhost_write(t, ev), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM bms_commands"), 1);
    record_free(ev);
    testhost_close(t);
}

/* The patch's exact text: numbers as printf("%.*f") writes them (ties to
 * even, "-0.0", a huge number cut at 63 characters), strings escaped as
 * jansson does, a string that is not UTF-8 and a NaN left out. */
static void patch_text_is_exactly_the_contract_format(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    collector_record *r;
    sqlite3_stmt *st;
    char want[1024], huge[64];

    inverter_row(f, "2026-01-15T16:43:23");
    t = open_sink(f, "fields = (\"+bms_model\", \"+bms_hw_version\", \"+soh\");");
    assert_int_equal(record_new("battery1", (int64_t)time(NULL) * 1000000000, &r), 0);
    record_set_double(r, "battery_voltage", 0.25);
    record_set_double(r, "battery_current", -0.04);
    record_set_double(r, "battery_soc", 2.5);
    record_set_double(r, "battery_power", 1e300);
    record_set_double(r, "temperature", NAN);
    record_set_int(r, "bms_cell_count", -7);
    record_set_double(r, "bms_cell_min_v", 3.2155);
    record_set_double(r, "bms_cell_max_v", 1234.56789);
    record_set_string(r, "bms_name", "a\"b\\c\n\x01\x7f/");
    record_set_string(r, "bms_model", "B\xc3\xa4tterie");
    record_set_string(r, "bms_hw_version", "\xff");
    record_set_int(r, "soh", 99);
    write_rec(t, r);
    assert_true(snprintf(huge, sizeof(huge), "%.0f", strtod("1e300", NULL)) >= (int)sizeof(huge));
    snprintf(want, sizeof(want),
             "{\"battery_voltage\":\"%.1f\",\"battery_current\":\"%.1f\",\"battery_soc\":\"%.0f\","
             "\"battery_power\":\"%s\",\"bms_cell_count\":-7,\"bms_cell_min_v\":\"%.3f\","
             "\"bms_cell_max_v\":\"%.3f\",\"bms_name\":\"a\\\"b\\\\c\\n\\u0001\x7f/\","
             "\"bms_model\":\"B\xc3\xa4tterie\",\"soh\":99}",
             0.25, -0.04, 2.5, huge, 3.2155, 1234.56789);
    assert_int_equal(sqlite3_prepare_v2(f->con, "SELECT patch FROM collectord_patch", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
    sqlite3_finalize(st);
    testhost_close(t);
}

/* The metrics of energy, bank and alarms stay out of eamoon's rows unless
 * `fields` asks for them. */
static const char *const insight_metrics[] = {
    "energy_charged_kwh", "energy_discharged_kwh", "energy_charged_today_kwh",
    "energy_discharged_today_kwh", "time_to_full_s", "time_to_empty_s", "members_online",
    "members_total", "alarm", "alarms", NULL,
};

static collector_record *insight_record(void)
{
    collector_record *r = bms_record("battery1", 51.689, 0);
    record_set_double(r, "energy_charged_kwh", 1.25);
    record_set_double(r, "energy_discharged_kwh", 2.5);
    record_set_double(r, "energy_charged_today_kwh", 0.25);
    record_set_double(r, "energy_discharged_today_kwh", 0.5);
    record_set_int(r, "time_to_full_s", 3600);
    record_set_int(r, "time_to_empty_s", 7200);
    record_set_int(r, "members_online", 2);
    record_set_int(r, "members_total", 2);
    record_set_bool(r, "alarm", 1);
    record_set_string(r, "alarms", "cell_delta_high");
    return r;
}

static void insight_metrics_only_when_fields_asks(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    char expr[128];

    inverter_row(f, "a");
    t = open_sink(f, "");
    write_rec(t, insight_record());
    testhost_close(t);
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.7");
    for (size_t i = 0; insight_metrics[i] != NULL; i++) {
        snprintf(expr, sizeof(expr), "json_type(payload, '$.%s')", insight_metrics[i]);
        if (newest(f, expr)[0] != '\0')
            fail_msg("%s written without fields asking", insight_metrics[i]);
    }

    inverter_row(f, "b");
    t = open_sink(f, "fields = (\"+energy_charged_kwh\", \"+alarms\");");
    write_rec(t, insight_record());
    testhost_close(t);
    assert_string_equal(newest(f, "json_extract(payload, '$.energy_charged_kwh')"), "1.25");
    assert_string_equal(newest(f, "json_extract(payload, '$.alarms')"), "cell_delta_high");
    assert_string_equal(newest(f, "json_type(payload, '$.energy_discharged_kwh')"), "");
    assert_string_equal(newest(f, "json_type(payload, '$.alarm')"), "");
}

/* Past 2038, and 1 ns before a second: created_at is that second. Through a
 * double (256 ns apart there) it became the next one; with a 32-bit time_t,
 * 1901. */
static void created_at_is_the_record_second_past_2038(void **state)
{
    struct fx *f = *state;
    struct testhost *t;
    collector_record *r = bms_record("battery1", 51.689, 0);

    inverter_row(f, "2026-01-15T16:43:23");
    t = open_sink(f, "mode = \"append\"; history = true;");
    assert_int_equal(record_set_time_ns(r, INT64_C(2147483648999999999)), 0);
    write_rec(t, r);
    assert_string_equal(newest(f, "created_at"), "2038-01-19T03:14:08");
    assert_int_equal(count(f, "SELECT count(*) FROM bms_readings "
                              "WHERE created_at = '2038-01-19 03:14:08'"),
                     1);
    testhost_close(t);
}

static void settings_are_checked(void **state)
{
    struct fx *f = *state;
    struct testhost *t = NULL;
    (void)f;

    char text[400];
    FILE *fp;

    assert_int_equal(testhost_open("sqlite_merge", "mode = \"merge\";", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(),
                           ":2: sqlite_merge: mode: \"merge\" is not one of: overlay, append"));
    assert_int_equal(testhost_open("sqlite_merge", "max_age = 0;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "max_age: out of range: want 1 to 86400 s"));
    assert_int_equal(testhost_open("sqlite_merge", "journal_mode = \"off\";", &t), -EINVAL);
    assert_int_equal(testhost_open("sqlite_merge", "path = \":memory:\";", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "path: \":memory:\" is not a file eamoon's"));
    /* a file that is there but is not SQLite is refused before anything is written */
    snprintf(text, sizeof(text), "%s/notes.txt", f->dir);
    fp = fopen(text, "w");
    assert_non_null(fp);
    fputs("not a database at all, just some text\n", fp);
    fclose(fp);
    snprintf(f->settings, sizeof(f->settings), "path = \"%s\";", text);
    assert_int_equal(testhost_open("sqlite_merge", f->settings, &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "notes.txt exists and is not an SQLite database"));
    /* a directory that does not exist: the settings pass, start() says why */
    assert_int_equal(testhost_open("sqlite_merge", "path = \"/nonexistent/dir/x.db\";", &t),
                     -EIO);
    assert_non_null(strstr(testhost_last_log(), "/nonexistent/dir/x.db: cannot open"));
}

static void wal_by_default(void **state)
{
    struct fx *f = *state;
    struct testhost *t = open_sink(f, "");
    assert_int_equal(count(f, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
    testhost_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(overlay_patches_newest_row_with_contract_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(trigger_patches_later_inverter_rows_while_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_patches_are_never_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(two_batteries_prefix_and_own_freshness, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_table_gets_no_row, setup, teardown),
        cmocka_unit_test_setup_teardown(append_mode_inserts_one_merged_row, setup, teardown),
        cmocka_unit_test_setup_teardown(non_object_payload_is_reported_and_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(locked_database_asks_the_host_to_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(freshness_is_three_configured_intervals, setup, teardown),
        cmocka_unit_test_setup_teardown(database_mistakes_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(history_and_extra_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(command_events_go_to_bms_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(patch_text_is_exactly_the_contract_format, setup, teardown),
        cmocka_unit_test_setup_teardown(insight_metrics_only_when_fields_asks, setup, teardown),
        cmocka_unit_test_setup_teardown(created_at_is_the_record_second_past_2038, setup, teardown),
        cmocka_unit_test_setup_teardown(settings_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_by_default, setup, teardown),
    };
    return cmocka_run_group_tests_name("sqlite_merge", tests, NULL, NULL);
}

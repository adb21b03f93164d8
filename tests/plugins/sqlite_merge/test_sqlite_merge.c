/* sqlite_merge against real SQLite files: the eamoon contract, the overlay
 * trigger, append mode, error rows, locking. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
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

static void locked_database_queues_and_catches_up(void **state)
{
    struct fx *f = *state;
    struct testhost *t;

    inverter_row(f, "2026-01-15T16:43:23");
    t = open_sink(f, "mode = \"append\"; busy_timeout = 50;");
    sql(f, "BEGIN EXCLUSIVE");
    write_rec(t, bms_record("battery1", 51.1, 0)); /* 0: kept in the queue */
    write_rec(t, bms_record("battery1", 51.2, 0));
    assert_non_null(strstr(testhost_log(t), "database is locked"));
    assert_int_not_equal(testhost_flush(t), 0); /* still waiting */
    sql(f, "COMMIT");
    assert_int_equal(testhost_flush(t), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM readings"), 3); /* both, in order */
    assert_string_equal(newest(f, "json_extract(payload, '$.battery_voltage')"), "51.2");
    assert_non_null(strstr(testhost_log(t), "writing again"));
    assert_int_equal(count(f, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
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

    assert_int_equal(testhost_open("sqlite_merge", "mode = \"merge\";", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), ":2: sqlite_merge: mode: want"));
    assert_int_equal(testhost_open("sqlite_merge", "max_age = 0;", &t), -EINVAL);
    assert_int_equal(testhost_open("sqlite_merge", "journal_mode = \"off\";", &t), -EINVAL);
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
        cmocka_unit_test_setup_teardown(locked_database_queues_and_catches_up, setup, teardown),
        cmocka_unit_test_setup_teardown(history_and_extra_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(created_at_is_the_record_second_past_2038, setup, teardown),
        cmocka_unit_test_setup_teardown(settings_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_by_default, setup, teardown),
    };
    return cmocka_run_group_tests_name("sqlite_merge", tests, NULL, NULL);
}

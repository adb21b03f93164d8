/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One freshness rule: the host answers record_fresh_until_ns (the record's
 * time + COLLECTOR_STALE_FACTOR x its source's interval, else the host's
 * collector.interval) and source_fresh_until_ns (a producer's newest
 * record), and sqlite_merge, energy and bank act on exactly that instant,
 * with a known interval and with the fallback. (mqtt's availability: the
 * same instant in tests/plugins/mqtt/test_mqtt_sink.c, with its fake Paho.) */
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
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/fresh.h"
#include "core/record.h"
#include "testhost.h"

#define T0_NS       1700000000000000000LL
#define S_NS        1000000000LL
#define MS_NS       1000000LL /* past the instant (energy counts in double seconds) */
#define FALLBACK_MS 20000 /* the host's collector.interval in these records */

/* The two cases every plugin is checked in: a source interval of 10 s, and
 * none known (the host's collector.interval, FALLBACK_MS, then counts). */
static const int64_t intervals_ms[] = {10000, 0};

static int64_t span_ns(int64_t interval_ms)
{
    return COLLECTOR_STALE_FACTOR * (interval_ms > 0 ? interval_ms : FALLBACK_MS) * 1000000LL;
}

/* A record of `source` at T0 + at_ns as the host makes it. Owned by the caller. */
static collector_record *make(const char *source, int64_t at_ns, int64_t interval_ms)
{
    collector_record *r;

    assert_int_equal(record_new(source, T0_NS + at_ns, &r), 0);
    record_set_interval_ms(r, interval_ms);
    record_set_fallback_interval_ms(r, FALLBACK_MS);
    return r;
}

static void the_rule(void **state)
{
    const struct collector_host_api *api = testhost_api(NULL);
    collector_record *r;
    (void)state;

    r = make("battery1", 0, 10000);
    assert_true(api->record_fresh_until_ns(r) == T0_NS + 30 * S_NS);
    record_set_interval_ms(r, 0); /* unknown: collector.interval, once */
    assert_true(api->record_fresh_until_ns(r) == T0_NS + 60 * S_NS);
    record_set_fallback_interval_ms(r, 0); /* neither: stale at its own time */
    assert_true(api->record_fresh_until_ns(r) == T0_NS);
    record_free(r);
}

static void a_sources_newest_record(void **state)
{
    const struct collector_host_api *api = testhost_api(NULL);
    struct testhost *t;
    collector_record *r;
    int64_t until = 0;
    (void)state;

    assert_int_equal(testhost_open_ex("bank", "bank", 0, "members = (\"battery1\");", &t), 0);
    assert_int_equal(api->source_fresh_until_ns(testhost_handle(t), "battery1", &until), -ENOENT);
    r = make("battery1", 5 * S_NS, 10000);
    assert_int_equal(testhost_process(t, r), 0);
    record_free(r);
    assert_int_equal(api->source_fresh_until_ns(testhost_handle(t), "battery1", &until), 0);
    assert_true(until == T0_NS + 35 * S_NS);
    /* the bank's own record is its newest too, with its member's interval */
    assert_int_equal(api->source_fresh_until_ns(testhost_handle(t), "bank", &until), 0);
    assert_true(until == T0_NS + 35 * S_NS);
    /* an older record (a late one) does not make the source look older */
    r = make("battery1", 1 * S_NS, 10000);
    assert_int_equal(testhost_process(t, r), 0);
    record_free(r);
    assert_int_equal(api->source_fresh_until_ns(testhost_handle(t), "battery1", &until), 0);
    assert_true(until == T0_NS + 35 * S_NS);
    assert_int_equal(api->source_fresh_until_ns(testhost_handle(t), "nobody", &until), -ENOENT);
    testhost_close(t);
}

/* The daemon's book (the pipeline notes each record submitted; a reload that
 * replaces an instance forgets it). */
static void the_book_keeps_the_newest_and_forgets(void **state)
{
    struct fresh_book *book;
    collector_record *r;
    int64_t until = 0;
    (void)state;

    assert_int_equal(fresh_book_new(&book), 0);
    assert_int_equal(fresh_book_get(book, "battery1", &until), -ENOENT);
    r = make("battery1", 10 * S_NS, 0); /* the fallback: 3 x 20 s */
    assert_int_equal(fresh_book_note(book, r), 0);
    record_free(r);
    r = make("battery2", 0, 10000);
    assert_int_equal(fresh_book_note(book, r), 0);
    record_free(r);
    assert_int_equal(fresh_book_get(book, "battery1", &until), 0);
    assert_true(until == T0_NS + 70 * S_NS);
    /* a command's outcome (an event) is no news of the battery's data */
    r = make("battery1", 50 * S_NS, 0);
    record_set_kind(r, COLLECTOR_RECORD_EVENT);
    assert_int_equal(fresh_book_note(book, r), 0);
    record_free(r);
    assert_int_equal(fresh_book_get(book, "battery1", &until), 0);
    assert_true(until == T0_NS + 70 * S_NS);
    assert_int_equal(fresh_book_get(book, "battery2", &until), 0);
    assert_true(until == T0_NS + 30 * S_NS);
    fresh_book_forget(book, "battery1");
    assert_int_equal(fresh_book_get(book, "battery1", &until), -ENOENT);
    assert_int_equal(fresh_book_get(book, "battery2", &until), 0);
    assert_true(until == T0_NS + 30 * S_NS);
    fresh_book_free(book);
}

/* ---- sqlite_merge: the patch's max_age, as eamoon's reads see it ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static double stored_until_s(const char *db)
{
    sqlite3 *con;
    sqlite3_stmt *st;
    double v = NAN;

    assert_int_equal(sqlite3_open(db, &con), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(con, "SELECT updated_at + max_age FROM collectord_patch",
                                        -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(con);
    return v;
}

static void sqlite_merge_keeps_values_until_the_instant(void **state)
{
    const char *tmp = getenv("TMPDIR");
    (void)state;

    for (size_t k = 0; k < sizeof(intervals_ms) / sizeof(intervals_ms[0]); k++) {
        char dir[256], settings[400];
        struct testhost *t;
        collector_record *r;

        snprintf(dir, sizeof(dir), "%s/freshness-XXXXXX", tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(dir));
        snprintf(settings, sizeof(settings), "path = \"%s/inverter.db\";", dir);
        if (testhost_open("sqlite_merge", settings, &t) != 0)
            fail_msg("open: %s", testhost_last_log());
        r = make("battery1", 0, intervals_ms[k]);
        record_set_double(r, "battery_voltage", 53.1);
        assert_int_equal(testhost_write(t, r), 0);
        record_free(r);
        testhost_close(t);
        snprintf(settings, sizeof(settings), "%s/inverter.db", dir);
        assert_true(fabs(stored_until_s(settings) - (double)(T0_NS + span_ns(intervals_ms[k])) / 1e9) <
                    1e-3);
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    }
}

/* ---- energy: a record is integrated exactly while the previous is fresh ---- */

static double charged_at(struct testhost *t, int64_t at_ns, int64_t interval_ms)
{
    collector_record *r = make("battery1", at_ns, interval_ms);
    double v = NAN;

    record_set_double(r, "battery_power", 3600.0);
    assert_int_equal(testhost_process(t, r), 0);
    record_get_double(r, "energy_charged_kwh", &v);
    record_free(r);
    return v;
}

static void energy_integrates_until_the_instant(void **state)
{
    (void)state;

    for (size_t k = 0; k < sizeof(intervals_ms) / sizeof(intervals_ms[0]); k++) {
        int64_t span = span_ns(intervals_ms[k]);
        struct testhost *t;
        double before, after;

        if (testhost_open("energy", "", &t) != 0)
            fail_msg("open: %s", testhost_last_log());
        charged_at(t, 0, intervals_ms[k]);
        before = charged_at(t, span, intervals_ms[k]); /* at the instant: still fresh */
        assert_true(before > 0);
        assert_null(strstr(testhost_log(t), "without a record"));
        after = charged_at(t, 2 * span + MS_NS, intervals_ms[k]); /* 1 ms past it: a gap */
        assert_true(after == before);
        assert_non_null(strstr(testhost_log(t), "without a record"));
        testhost_close(t);
    }
}

/* ---- bank: a member is in the bank exactly while its record is fresh ---- */

static int64_t online_when(struct testhost *t, int64_t at_ns, int64_t interval_ms)
{
    collector_record *r = make("battery2", at_ns, interval_ms);
    const collector_record *out;
    size_t before = testhost_record_count(t);
    int64_t v = -1;

    record_set_double(r, "battery_current", 1.0);
    assert_int_equal(testhost_process(t, r), 0);
    record_free(r);
    assert_true(testhost_record_count(t) == before + 1);
    out = testhost_record(t, before);
    assert_int_equal(record_get_int(out, "members_online", &v), 0);
    return v;
}

static void bank_counts_a_member_until_the_instant(void **state)
{
    (void)state;

    for (size_t k = 0; k < sizeof(intervals_ms) / sizeof(intervals_ms[0]); k++) {
        int64_t span = span_ns(intervals_ms[k]);
        struct testhost *t;
        collector_record *r;

        assert_int_equal(
            testhost_open_ex("bank", "bank", 0, "members = (\"battery1\", \"battery2\");", &t), 0);
        r = make("battery1", 0, intervals_ms[k]);
        record_set_double(r, "battery_current", 1.0);
        assert_int_equal(testhost_process(t, r), 0);
        record_free(r);
        assert_int_equal(online_when(t, span, intervals_ms[k]), 2);     /* at the instant */
        assert_int_equal(online_when(t, span + MS_NS, intervals_ms[k]), 1); /* 1 ms past it */
        testhost_close(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_rule),
        cmocka_unit_test(a_sources_newest_record),
        cmocka_unit_test(the_book_keeps_the_newest_and_forgets),
        cmocka_unit_test(sqlite_merge_keeps_values_until_the_instant),
        cmocka_unit_test(energy_integrates_until_the_instant),
        cmocka_unit_test(bank_counts_a_member_until_the_instant),
    };
    return cmocka_run_group_tests_name("freshness", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Records: the typed metric store behind the host API. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/record.h"

static collector_record *fresh(void)
{
    collector_record *rec = NULL;
    assert_int_equal(record_new("battery1", 1700000000123456789LL, &rec), 0);
    assert_non_null(rec);
    return rec;
}

static void each_type_round_trips(void **state)
{
    collector_record *rec = fresh();
    const double cells[3] = {3.301, 3.299, 3.305};
    const double *got_cells;
    size_t n;
    double d;
    int64_t i;
    int b;
    const char *s;
    (void)state;

    assert_int_equal(record_set_double(rec, "battery_voltage", 52.91), 0);
    assert_int_equal(record_set_int(rec, "bms_cell_count", 16), 0);
    assert_int_equal(record_set_bool(rec, "balancing", 7), 0);
    assert_int_equal(record_set_string(rec, "bms_name", "JK_PB2A16S15P"), 0);
    assert_int_equal(record_set_doubles(rec, "cells", cells, 3), 0);

    assert_int_equal(record_get_double(rec, "battery_voltage", &d), 0);
    assert_true(d == 52.91);
    assert_int_equal(record_get_int(rec, "bms_cell_count", &i), 0);
    assert_int_equal(i, 16);
    assert_int_equal(record_get_bool(rec, "balancing", &b), 0);
    assert_int_equal(b, 1); /* normalised to 0/1 */
    assert_int_equal(record_get_string(rec, "bms_name", &s), 0);
    assert_string_equal(s, "JK_PB2A16S15P");
    assert_int_equal(record_get_doubles(rec, "cells", &got_cells, &n), 0);
    assert_int_equal(n, 3);
    assert_true(got_cells[2] == 3.305);
    assert_ptr_not_equal(got_cells, cells); /* copied */

    /* get_double reads integers too; other cross-type reads are refused */
    assert_int_equal(record_get_double(rec, "bms_cell_count", &d), 0);
    assert_true(d == 16.0);
    assert_int_equal(record_get_int(rec, "battery_voltage", &i), -EINVAL);
    assert_int_equal(record_get_string(rec, "cells", &s), -EINVAL);
    assert_int_equal(record_get_double(rec, "missing", &d), -ENOENT);
    record_free(rec);
}

static void setting_again_replaces_in_place(void **state)
{
    collector_record *rec = fresh();
    const char *name;
    uint32_t type;
    const char *s;
    (void)state;

    assert_int_equal(record_set_double(rec, "a", 1.0), 0);
    assert_int_equal(record_set_string(rec, "b", "x"), 0);
    assert_int_equal(record_set_string(rec, "a", "now a string"), 0);
    assert_int_equal(record_metric_count(rec), 2);
    assert_int_equal(record_metric_at(rec, 0, &name, &type), 0);
    assert_string_equal(name, "a");
    assert_int_equal(type, COLLECTOR_METRIC_STRING);
    assert_int_equal(record_get_string(rec, "a", &s), 0);
    assert_string_equal(s, "now a string");
    assert_int_equal(record_metric_at(rec, 2, &name, &type), -ENOENT);
    record_free(rec);
}

static void names_are_lower_snake_case(void **state)
{
    collector_record *rec = fresh();
    char long_name[80];
    (void)state;

    assert_int_equal(record_set_double(rec, "Battery", 1), -EINVAL);
    assert_int_equal(record_set_double(rec, "battery-voltage", 1), -EINVAL);
    assert_int_equal(record_set_double(rec, "1cell", 1), -EINVAL);
    assert_int_equal(record_set_double(rec, "", 1), -EINVAL);
    assert_int_equal(record_set_double(rec, NULL, 1), -EINVAL);
    memset(long_name, 'a', 64);
    long_name[64] = '\0'; /* 64 bytes: one too many */
    assert_int_equal(record_set_double(rec, long_name, 1), -EINVAL);
    long_name[63] = '\0'; /* 63 bytes: the longest allowed */
    assert_int_equal(record_set_double(rec, long_name, 1), 0);
    assert_int_equal(record_set_string(rec, "s", NULL), -EINVAL);
    assert_int_equal(record_set_doubles(rec, "v", NULL, 2), -EINVAL);
    assert_int_equal(record_metric_count(rec), 1);
    record_free(rec);
}

static void unset_keeps_order_of_the_rest(void **state)
{
    collector_record *rec = fresh();
    const char *name;
    (void)state;

    assert_int_equal(record_set_int(rec, "a", 1), 0);
    assert_int_equal(record_set_int(rec, "b", 2), 0);
    assert_int_equal(record_set_int(rec, "c", 3), 0);
    assert_int_equal(record_unset(rec, "b"), 0);
    assert_int_equal(record_unset(rec, "b"), -ENOENT);
    assert_int_equal(record_metric_count(rec), 2);
    assert_int_equal(record_metric_at(rec, 1, &name, NULL), 0);
    assert_string_equal(name, "c");
    record_free(rec);
}

static void identity_and_clone(void **state)
{
    collector_record *rec = fresh(), *copy;
    const double v[2] = {1.5, 2.5};
    const double *cv;
    size_t n;
    (void)state;

    assert_string_equal(record_source(rec), "battery1");
    assert_string_equal(record_device(rec), "");
    assert_int_equal(record_time_ns(rec), 1700000000123456789LL);
    assert_int_equal(record_set_device(rec, "C8:47:8C:00:11:22"), 0);
    assert_int_equal(record_set_time_ns(rec, 42), 0);
    assert_int_equal(record_set_doubles(rec, "cells", v, 2), 0);
    assert_int_equal(record_set_doubles(rec, "empty", NULL, 0), 0);

    copy = record_clone(rec);
    assert_non_null(copy);
    record_free(rec);
    assert_string_equal(record_device(copy), "C8:47:8C:00:11:22");
    assert_string_equal(record_source(copy), "battery1");
    assert_int_equal(record_time_ns(copy), 42);
    assert_int_equal(record_get_doubles(copy, "cells", &cv, &n), 0);
    assert_int_equal(n, 2);
    assert_true(cv[1] == 2.5);
    assert_int_equal(record_get_doubles(copy, "empty", &cv, &n), 0);
    assert_int_equal(n, 0);
    record_free(copy);
    record_free(NULL);
}

static void many_metrics_grow(void **state)
{
    collector_record *rec = fresh();
    char name[16];
    int64_t v;
    (void)state;

    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        assert_int_equal(record_set_int(rec, name, i), 0);
    }
    assert_int_equal(record_metric_count(rec), 200);
    assert_int_equal(record_get_int(rec, "m199", &v), 0);
    assert_int_equal(v, 199);
    record_free(rec);
}

/* Past the inline room (48 metrics, 2 kB of names and values): lookups,
 * order, unset and clone still right on the heap. */
static void grown_records_keep_order_lookups_and_clones(void **state)
{
    collector_record *rec = fresh(), *copy;
    char name[16], text[300];
    const char *got, *first;
    const double *v;
    size_t n;
    int64_t i64;
    (void)state;

    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (int i = 0; i < 150; i++) {
        double cells[3] = {i, i + 0.5, i + 0.25};
        snprintf(name, sizeof(name), "m%d", i);
        if (i % 3 == 0)
            assert_int_equal(record_set_string(rec, name, text + i), 0);
        else if (i % 3 == 1)
            assert_int_equal(record_set_doubles(rec, name, cells, 3), 0);
        else
            assert_int_equal(record_set_int(rec, name, i), 0);
    }
    assert_int_equal(record_unset(rec, "m75"), 0);
    assert_int_equal(record_metric_count(rec), 149);
    assert_int_equal(record_metric_at(rec, 75, &first, NULL), 0);
    assert_string_equal(first, "m76");
    copy = record_clone(rec);
    assert_non_null(copy);
    record_free(rec);
    for (int i = 0; i < 150; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        if (i == 75) {
            assert_int_equal(record_get_int(copy, name, &i64), -ENOENT);
        } else if (i % 3 == 0) {
            assert_int_equal(record_get_string(copy, name, &got), 0);
            assert_string_equal(got, text + i);
        } else if (i % 3 == 1) {
            assert_int_equal(record_get_doubles(copy, name, &v, &n), 0);
            assert_int_equal(n, 3);
            assert_true(v[0] == i && v[2] == i + 0.25); /* aligned, or UBSan says so */
        } else {
            assert_int_equal(record_get_int(copy, name, &i64), 0);
            assert_int_equal(i64, i);
        }
    }
    assert_string_equal(record_source(copy), "battery1");
    record_free(copy);
}

/* A value (or name) read from the record itself and stored again while
 * the record grows: it is copied before the old storage goes. */
static void values_from_the_record_itself_survive_growth(void **state)
{
    collector_record *rec = fresh();
    char text[1500];
    const char *a, *b, *dev;
    double d;
    (void)state;

    memset(text, 'y', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    assert_int_equal(record_set_string(rec, "a", text), 0);
    assert_int_equal(record_set_string(rec, "name", "some_metric"), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(record_get_string(rec, "a", &a), 0);
        assert_int_equal(record_set_string(rec, "a", a), 0); /* the same metric */
        assert_int_equal(record_get_string(rec, "a", &a), 0);
        assert_int_equal(record_set_string(rec, "b", a), 0);
    }
    assert_int_equal(record_get_string(rec, "b", &b), 0);
    assert_string_equal(b, text);
    assert_int_equal(record_get_string(rec, "name", &a), 0);
    assert_int_equal(record_set_double(rec, a, 1.5), 0);
    assert_int_equal(record_get_double(rec, "some_metric", &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(record_set_device(rec, text), 0);
    assert_int_equal(record_set_device(rec, record_device(rec)), 0);
    dev = record_device(rec);
    assert_string_equal(dev, text);
    assert_int_equal(record_metric_count(rec), 4);
    record_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_type_round_trips),
        cmocka_unit_test(setting_again_replaces_in_place),
        cmocka_unit_test(names_are_lower_snake_case),
        cmocka_unit_test(unset_keeps_order_of_the_rest),
        cmocka_unit_test(identity_and_clone),
        cmocka_unit_test(many_metrics_grow),
        cmocka_unit_test(grown_records_keep_order_lookups_and_clones),
        cmocka_unit_test(values_from_the_record_itself_survive_growth),
    };
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}

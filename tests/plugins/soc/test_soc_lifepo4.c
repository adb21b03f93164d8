/* SPDX-License-Identifier: GPL-2.0-or-later */
/* soc_lifepo4 loaded as collectord loads it, driven through the host API. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testhost.h"

/* battery_soc after processing a record whose cells all read `v`. */
static double soc_at(struct testhost *t, double v, size_t ncells)
{
    const struct collector_host_api *api = testhost_api(t);
    collector_record *rec = testhost_record_new(t);
    double cells[32], soc = -1;

    for (size_t i = 0; i < ncells; i++)
        cells[i] = v;
    assert_int_equal(api->set_doubles(rec, "cells", cells, ncells), 0);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(api->get_double(rec, "battery_soc", &soc), 0);
    testhost_record_free(rec);
    return soc;
}

static void default_curve_points_between_and_beyond(void **state)
{
    struct testhost *t;
    (void)state;

    assert_int_equal(testhost_open("soc_lifepo4", "", &t), 0);
    assert_true(soc_at(t, 2.50, 16) == 0.0);
    assert_true(soc_at(t, 3.30, 16) == 50.0);
    assert_true(soc_at(t, 3.65, 16) == 100.0);
    assert_true(soc_at(t, 2.90, 16) == 25.0);   /* halfway 2.50..3.30 */
    assert_true(soc_at(t, 3.475, 16) == 75.0);  /* halfway 3.30..3.65 */
    assert_true(soc_at(t, 2.00, 16) == 0.0);    /* clamped below */
    assert_true(soc_at(t, 4.20, 16) == 100.0);  /* clamped above */
    testhost_close(t);
}

static void the_seeds_sample(void **state)
{
    /* 16 cells averaging 3.286 V: 50 * (3.286 - 2.50) / 0.80 = 49.125 -> 49.1 */
    const double cells[16] = {3.280, 3.290, 3.284, 3.288, 3.286, 3.286, 3.285, 3.287,
                              3.286, 3.286, 3.283, 3.289, 3.286, 3.286, 3.286, 3.286};
    struct testhost *t;
    collector_record *rec;
    double soc, bms;
    (void)state;

    assert_int_equal(testhost_open("soc_lifepo4", "", &t), 0);
    rec = testhost_record_new(t);
    assert_int_equal(testhost_api(t)->set_doubles(rec, "cells", cells, 16), 0);
    assert_int_equal(testhost_api(t)->set_int(rec, "bms_soc", 85), 0);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(testhost_api(t)->get_double(rec, "battery_soc", &soc), 0);
    assert_true(soc == 49.1);
    /* the BMS's own SOC is left where it is */
    assert_int_equal(testhost_api(t)->get_double(rec, "bms_soc", &bms), 0);
    assert_true(bms == 85.0);
    testhost_record_free(rec);
    testhost_close(t);
}

static void zero_cells_do_not_pull_the_average_down(void **state)
{
    const double cells[4] = {3.30, 0.0, 3.30, 3.30};
    struct testhost *t;
    collector_record *rec;
    double soc;
    (void)state;

    assert_int_equal(testhost_open("soc_lifepo4", "", &t), 0);
    rec = testhost_record_new(t);
    assert_int_equal(testhost_api(t)->set_doubles(rec, "cells", cells, 4), 0);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(testhost_api(t)->get_double(rec, "battery_soc", &soc), 0);
    assert_true(soc == 50.0);
    testhost_record_free(rec);
    testhost_close(t);
}

static void custom_curve_and_preset(void **state)
{
    struct testhost *t;
    (void)state;

    assert_int_equal(testhost_open("soc_lifepo4", "curve = ((3.0, 0.0), (3.4, 80), (3.5, 100));", &t),
                     0);
    assert_true(soc_at(t, 3.2, 8) == 40.0);
    assert_true(soc_at(t, 3.45, 8) == 90.0);
    testhost_close(t);

    assert_int_equal(testhost_open("soc_lifepo4", "preset = \"lifepo4_rest\";", &t), 0);
    assert_true(soc_at(t, 3.275, 4) == 50.0);
    assert_true(soc_at(t, 3.15, 4) == 25.0);
    assert_true(soc_at(t, 3.60, 4) == 100.0);
    testhost_close(t);
}

static void fallback_to_pack_voltage_and_warning_once(void **state)
{
    const struct collector_host_api *api;
    struct testhost *t;
    collector_record *rec;
    double soc;
    (void)state;

    assert_int_equal(testhost_open("soc_lifepo4", "", &t), 0);
    api = testhost_api(t);
    rec = testhost_record_new(t);
    assert_int_equal(api->set_double(rec, "battery_voltage", 52.8), 0);
    assert_int_equal(api->set_int(rec, "bms_cell_count", 16), 0);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(api->get_double(rec, "battery_soc", &soc), 0);
    assert_true(soc == 50.0); /* 3.30 V per cell */
    testhost_record_free(rec);

    for (int i = 0; i < 3; i++) {
        rec = testhost_record_new(t);
        assert_int_equal(api->set_double(rec, "battery_voltage", 52.8), 0);
        assert_int_equal(testhost_process(t, rec), 0);
        assert_int_equal(api->get_double(rec, "battery_soc", &soc), -ENOENT);
        assert_int_equal(api->metric_count(rec), 1); /* passed through unchanged */
        testhost_record_free(rec);
    }
    {
        const char *log = testhost_log(t), *first = strstr(log, "WARNING");
        assert_non_null(first);
        assert_null(strstr(first + 1, "WARNING")); /* once per instance */
    }
    testhost_close(t);
}

static void source_bms_copies(void **state)
{
    const struct collector_host_api *api;
    struct testhost *t;
    collector_record *rec;
    const double cells[2] = {3.65, 3.65};
    double soc;
    (void)state;

    assert_int_equal(testhost_open("soc_lifepo4", "source = \"bms\";", &t), 0);
    api = testhost_api(t);
    rec = testhost_record_new(t);
    assert_int_equal(api->set_doubles(rec, "cells", cells, 2), 0);
    assert_int_equal(api->set_int(rec, "bms_soc", 52), 0);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(api->get_double(rec, "battery_soc", &soc), 0);
    assert_true(soc == 52.0);
    testhost_record_free(rec);
    testhost_close(t);
}

/* Each bad config is refused and the error names its line (line 1 is the
 * testhost's "instance = {" wrapper, so the settings text starts on line 2). */
static void config_errors_name_the_line(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"curve = ((3.0, 0.0));", ":2: soc_lifepo4: curve: want 2 to"},
        {"curve = (\n(3.0, 0.0),\n(2.9, 50.0));", ":4: soc_lifepo4: curve point 2: voltages must increase"},
        {"curve = (\n(3.0, 0.0),\n(3.0, 50.0));", ":4: soc_lifepo4: curve point 2: voltages must increase"},
        {"curve = (\n(3.0, 0.0),\n(3.2, 120.0));", ":4: soc_lifepo4: curve point 2: SOC 120.0 is outside"},
        {"curve = (\n(3.0, 60.0),\n(3.2, 50.0));", ":4: soc_lifepo4: curve point 2: SOC must not decrease"},
        {"curve = ((3.0, \"x\"), (3.2, 50.0));", "curve point 1: want (volts, soc)"},
        {"preset = \"nmc\";", ":2: soc_lifepo4: preset: \"nmc\" is not one of: default, lifepo4_rest"},
        {"source = \"guess\";", ":2: soc_lifepo4: source: \"guess\" is not one of: voltage, bms"},
        {"curve = 3.0;", ":2: soc_lifepo4: curve: want a list"},
        {"colour = \"red\";", ":2: soc_lifepo4: colour: unknown setting (plugin soc_lifepo4 knows: source, curve, preset)"},
        {"preset = \"lifepo4_rest\";\ncurve = ((3.0, 0.0), (3.2, 50.0));", "not both"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct testhost *t = NULL;
        assert_int_equal(testhost_open("soc_lifepo4", cases[i].text, &t), -EINVAL);
        assert_null(t);
        if (strstr(testhost_last_log(), cases[i].want) == NULL)
            fail_msg("case %zu: log \"%s\" lacks \"%s\"", i, testhost_last_log(), cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_curve_points_between_and_beyond),
        cmocka_unit_test(the_seeds_sample),
        cmocka_unit_test(zero_cells_do_not_pull_the_average_down),
        cmocka_unit_test(custom_curve_and_preset),
        cmocka_unit_test(fallback_to_pack_voltage_and_warning_once),
        cmocka_unit_test(source_bms_copies),
        cmocka_unit_test(config_errors_name_the_line),
    };
    return cmocka_run_group_tests_name("soc_lifepo4", tests, NULL, NULL);
}

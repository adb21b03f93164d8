/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alarms: a sequence crossing and re-crossing a threshold gives one start
 * and one clear line and the right metrics; several alarms at once in their
 * stable order; the BMS's error bits; settings. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/record.h"
#include "testhost.h"

static struct testhost *open_alarms(const char *settings)
{
    struct testhost *t;
    if (testhost_open("alarms", settings, &t) != 0)
        fail_msg("open: %s", testhost_last_log());
    return t;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Process `r` (taken); returns the `alarms` metric (static copy) and sets
 * *alarm to the `alarm` metric. */
static const char *judge(struct testhost *t, collector_record *r, int *alarm)
{
    static char list[256];
    const char *s = "(absent)";

    assert_int_equal(testhost_process(t, r), 0);
    *alarm = -1;
    record_get_bool(r, "alarm", alarm);
    record_get_string(r, "alarms", &s);
    snprintf(list, sizeof(list), "%s", s);
    record_free(r);
    return list;
}

/* A record of battery1 whose cells span `delta` V from 3.200 V. */
static collector_record *cells_record(double delta)
{
    collector_record *r;
    double cells[4] = {3.200, 3.210, 3.200 + delta, 3.205};

    assert_int_equal(record_new("battery1", 1700000000000000000, &r), 0);
    record_set_doubles(r, "cells", cells, 4);
    record_set_double(r, "bms_cell_delta_v", delta);
    return r;
}

static void one_start_and_one_clear_line(void **state)
{
    struct testhost *t = open_alarms("cell_delta_max_v = 0.05; hysteresis_v = 0.01;");
    /* delta, expected alarm after it */
    static const struct {
        double delta;
        int alarm;
    } seq[] = {
        {0.030, 0}, {0.051, 1}, /* crosses: starts */
        {0.049, 1}, {0.053, 1}, /* back under and over again: inside the hysteresis */
        {0.041, 1}, {0.040, 0}, /* 0.05 - 0.01: clears */
        {0.045, 0}, {0.049, 0}, /* under the threshold: stays clear */
    };
    (void)state;

    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        int alarm;
        const char *list = judge(t, cells_record(seq[i].delta), &alarm);
        if (alarm != seq[i].alarm || strcmp(list, seq[i].alarm ? "cell_delta_high" : "") != 0)
            fail_msg("step %zu (%.3f V): alarm %d, alarms \"%s\"", i, seq[i].delta, alarm, list);
    }
    assert_int_equal(count(testhost_log(t), "alarm cell_delta_high started"), 1);
    assert_int_equal(count(testhost_log(t), "alarm cell_delta_high cleared"), 1);
    assert_non_null(strstr(testhost_log(t), "WARNING battery1: alarm cell_delta_high started: "
                                            "cell delta 0.051 V > 0.050 V"));
    assert_non_null(strstr(testhost_log(t), "INFO battery1: alarm cell_delta_high cleared: "
                                            "cell delta 0.040 V"));
    testhost_close(t);
}

static void several_alarms_in_a_stable_order_and_bms_errors(void **state)
{
    struct testhost *t = open_alarms("cell_min_v = 3.0; cell_max_v = 3.6; temperature_max = 45; "
                                     "temperature_min = 0; soc_min = 10;");
    collector_record *r;
    double cells[3] = {2.95, 0.0, 3.30}; /* a zero cell is a failed one, not the lowest */
    double temps[2] = {20.0, 47.5};
    int alarm;
    (void)state;

    assert_int_equal(record_new("battery1", 1700000000000000000, &r), 0);
    record_set_doubles(r, "cells", cells, 3);
    record_set_doubles(r, "temperatures", temps, 2);
    record_set_int(r, "bms_soc", 8);
    record_set_int(r, "errors_bitmask", 0x10);
    record_set_string(r, "errors", "Cell overvoltage");
    assert_string_equal(judge(t, r, &alarm), "cell_low,temperature_high,soc_low,bms_error");
    assert_int_equal(alarm, 1);
    assert_non_null(strstr(testhost_log(t), "alarm bms_error started: 0x10 (Cell overvoltage)"));
    assert_non_null(strstr(testhost_log(t), "alarm temperature_high started: warmest probe "
                                            "47.5 C > 45.0 C"));

    /* a record without cells or temperatures leaves those alarms as they were;
     * the errors clear */
    assert_int_equal(record_new("battery1", 1700000005000000000, &r), 0);
    record_set_double(r, "battery_soc", 12.5); /* battery_soc wins; 10 + 2 clears */
    record_set_int(r, "errors_bitmask", 0);
    assert_string_equal(judge(t, r, &alarm), "cell_low,temperature_high");
    assert_non_null(strstr(testhost_log(t), "alarm bms_error cleared"));
    assert_non_null(strstr(testhost_log(t), "alarm soc_low cleared: SOC 12.5 %"));

    /* another battery has its own state */
    assert_int_equal(record_new("battery2", 1700000005000000000, &r), 0);
    record_set_double(r, "temperature", -3.0);
    assert_string_equal(judge(t, r, &alarm), "temperature_low");
    assert_non_null(strstr(testhost_log(t), "battery2: alarm temperature_low started"));
    testhost_close(t);

    /* bms_errors = false: the bits are not an alarm */
    t = open_alarms("bms_errors = false;");
    assert_int_equal(record_new("battery1", 1700000000000000000, &r), 0);
    record_set_int(r, "errors_bitmask", 0x10);
    assert_string_equal(judge(t, r, &alarm), "");
    assert_int_equal(alarm, 0);
    testhost_close(t);
}

static void settings_are_checked(void **state)
{
    struct testhost *t = NULL;
    (void)state;

    assert_int_equal(testhost_open("alarms", "cell_min_v = 3.5; cell_max_v = 3.4;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "cell_max_v: must be above cell_min_v"));
    assert_int_equal(testhost_open("alarms", "soc_min = 120;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "soc_min"));
    assert_int_equal(testhost_open("alarms", "cell_delta_max = 0.05;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "cell_delta_max"));
}

#define S_NS 1000000000LL

static collector_record *switch_record(double at_s, int charge)
{
    collector_record *r;

    assert_int_equal(record_new("battery1", 1700000000 * S_NS + (int64_t)(at_s * 1e9), &r), 0);
    record_set_bool(r, "charge_switch", charge);
    record_set_bool(r, "charging_enabled", charge);
    record_set_bool(r, "discharge_switch", 1);
    return r;
}

static void command_event(struct testhost *t, double at_s, const char *cmd, const char *outcome)
{
    collector_record *r;

    assert_int_equal(record_new("battery1", 1700000000 * S_NS + (int64_t)(at_s * 1e9), &r), 0);
    record_set_kind(r, COLLECTOR_RECORD_EVENT);
    record_set_string(r, "command", cmd);
    record_set_string(r, "requested", "off");
    record_set_string(r, "outcome", outcome);
    assert_int_equal(testhost_process(t, r), 0);
    assert_int_equal(record_get_bool(r, "alarm", &(int){0}), -ENOENT); /* events untouched */
    record_free(r);
}

static void switch_changed_once_and_never_for_our_commands(void **state)
{
    struct testhost *t = open_alarms("switch_window = 10.0;");
    int alarm;
    (void)state;

    /* ours: the event comes first (a source that confirms, then polls) */
    assert_string_equal(judge(t, switch_record(0, 1), &alarm), "");
    command_event(t, 1, "charge", "confirmed");
    assert_string_equal(judge(t, switch_record(2, 0), &alarm), "");
    assert_string_equal(judge(t, switch_record(30, 0), &alarm), "");
    /* ours: the read-back record comes before the event */
    assert_string_equal(judge(t, switch_record(31, 1), &alarm), "");
    command_event(t, 32, "charge", "confirmed");
    assert_string_equal(judge(t, switch_record(50, 1), &alarm), "");
    assert_int_equal(count(testhost_log(t), "switch_changed"), 0);
    /* by itself (the phone app): one line after the window, both metrics in it */
    assert_string_equal(judge(t, switch_record(100, 0), &alarm), "");
    assert_string_equal(judge(t, switch_record(105, 0), &alarm), "");
    assert_string_equal(judge(t, switch_record(111, 0), &alarm), "switch_changed");
    assert_int_equal(alarm, 1);
    assert_string_equal(judge(t, switch_record(112, 0), &alarm), "switch_changed");
    assert_int_equal(count(testhost_log(t), "alarm switch_changed: charge_switch on -> off, "
                                            "charging_enabled on -> off without a command from "
                                            "collectord"),
                     1);
    assert_string_equal(judge(t, switch_record(130, 0), &alarm), "");
    assert_int_equal(count(testhost_log(t), "switch_changed cleared"), 1);
    /* a refused command never reached the BMS: a change then is not ours */
    command_event(t, 140, "charge", "refused");
    assert_string_equal(judge(t, switch_record(141, 1), &alarm), "");
    assert_string_equal(judge(t, switch_record(160, 1), &alarm), "switch_changed");
    assert_int_equal(count(testhost_log(t), "alarm switch_changed:"), 2);
    /* a failed one may have reached it (no answer): its change is ours */
    command_event(t, 170, "charge", "failed");
    assert_string_equal(judge(t, switch_record(171, 0), &alarm), ""); /* the last one cleared */
    assert_string_equal(judge(t, switch_record(190, 0), &alarm), "");
    assert_int_equal(count(testhost_log(t), "alarm switch_changed:"), 2);
    testhost_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_start_and_one_clear_line),
        cmocka_unit_test(several_alarms_in_a_stable_order_and_bms_errors),
        cmocka_unit_test(settings_are_checked),
        cmocka_unit_test(switch_changed_once_and_never_for_our_commands),
    };
    return cmocka_run_group_tests_name("alarms", tests, NULL, NULL);
}

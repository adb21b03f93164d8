/* SPDX-License-Identifier: GPL-2.0-or-later */
/* charge_limits: the rules over a table of cell voltages, temperatures and
 * MOSFET states (limits.c directly), the bank combination with a stale
 * member and a pack whose own rule stops the bank, and the plugin in the
 * test host: the metrics it adds to a battery's and a bank's records. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/record.h"
#include "plugins/charge_limits/limits.h"
#include "testhost.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-6)

static struct cl_input pack16(double cmin, double cmax, double temp)
{
    struct cl_input in = {.ncells = 16, .has_cells = 1, .cell_min = cmin, .cell_max = cmax,
                          .ntemps = 2, .temps = {temp, temp}, .has_mos = 1, .mos_temp = 30,
                          .charge_fet = 1, .discharge_fet = 1, .has_soc = 1, .soc = 50};
    return in;
}

static void rules_table(void **state)
{
    static const struct {
        double cmin, cmax, temp, mos;
        int cfet, dfet;
        double ccl, dcl;
        const char *creason, *dreason;
    } rows[] = {
        /* mid-range cells, 25 C: the full currents */
        {3.20, 3.30, 25, 30, 1, 1, 100.0, 100.0, CL_MAX_CURRENT, CL_MAX_CURRENT},
        /* the highest cell nears the limit: tapered, 0 above */
        {3.20, 3.400, 25, 30, 1, 1, 25.0, 100.0, CL_CELL_HIGH, CL_MAX_CURRENT},
        {3.20, 3.4125, 25, 30, 1, 1, 15.0, 100.0, CL_CELL_HIGH, CL_MAX_CURRENT},
        {3.20, 3.50, 25, 30, 1, 1, 0.0, 100.0, CL_CELL_HIGH, CL_MAX_CURRENT},
        {3.20, 3.65, 25, 30, 1, 1, 0.0, 100.0, CL_CELL_HIGH, CL_MAX_CURRENT},
        /* the lowest cell nears its minimum */
        {3.100, 3.20, 25, 30, 1, 1, 100.0, 25.0, CL_MAX_CURRENT, CL_CELL_LOW},
        {2.750, 3.20, 25, 30, 1, 1, 100.0, 0.0, CL_MAX_CURRENT, CL_CELL_LOW},
        /* no charging below 0 C, derated near it; discharge still allowed */
        {3.20, 3.30, -5, 30, 1, 1, 0.0, 12.5, CL_TEMPERATURE, CL_TEMPERATURE},
        {3.20, 3.30, 0, 30, 1, 1, 0.0, 25.0, CL_TEMPERATURE, CL_TEMPERATURE},
        {3.20, 3.30, 5, 30, 1, 1, 50.0, 50.0, CL_TEMPERATURE, CL_TEMPERATURE},
        {3.20, 3.30, 47.5, 30, 1, 1, 37.5, 37.5, CL_TEMPERATURE, CL_TEMPERATURE},
        /* a hot MOSFET */
        {3.20, 3.30, 25, 85, 1, 1, 12.5, 12.5, CL_MOS_TEMP, CL_MOS_TEMP},
        /* the BMS's own MOSFET off: that direction off */
        {3.20, 3.30, 25, 30, 0, 1, 0.0, 100.0, CL_MOSFET_OFF, CL_MAX_CURRENT},
        {3.20, 3.30, 25, 30, 1, 0, 100.0, 0.0, CL_MAX_CURRENT, CL_MOSFET_OFF},
        /* the smallest wins: cold and high cell, cold reported (smaller) */
        {3.20, 3.40, 2, 30, 1, 1, 25.0, 35.0, CL_CELL_HIGH, CL_TEMPERATURE},
        /* 0.5506 x 100 A = 55.06 A goes out as 55.0, never 55.1 */
        {3.20, 3.38998, 25, 30, 1, 1, 55.0, 100.0, CL_CELL_HIGH, CL_MAX_CURRENT},
        /* 0.004 A is 0.0 A as sent: charging off, not on at 0 A */
        {3.20, 3.4996, 25, 30, 1, 1, 0.0, 100.0, CL_CELL_HIGH, CL_MAX_CURRENT},
    };
    struct cl_config c;
    (void)state;

    cl_config_default(&c);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cl_input in = pack16(rows[i].cmin, rows[i].cmax, rows[i].temp);
        struct cl_result r;
        in.mos_temp = rows[i].mos;
        in.charge_fet = rows[i].cfet;
        in.discharge_fet = rows[i].dfet;
        cl_pack(&c, &in, &r);
        print_message("row %zu: ccl %.3f (%s) dcl %.3f (%s)\n", i, r.ccl_a, r.charge_reason,
                      r.dcl_a, r.discharge_reason);
        NEAR(r.ccl_a, rows[i].ccl);
        NEAR(r.dcl_a, rows[i].dcl);
        assert_string_equal(r.charge_reason, rows[i].creason);
        assert_string_equal(r.discharge_reason, rows[i].dreason);
        assert_int_equal(r.charge_enable, rows[i].ccl > 0);
        assert_int_equal(r.discharge_enable, rows[i].dcl > 0);
        NEAR(r.cvl_v, 16 * 3.45);
        NEAR(r.dvl_v, 16 * 3.00);
    }
}

static void missing_data_is_no_current(void **state)
{
    struct cl_config c;
    struct cl_input in = pack16(3.2, 3.3, 25);
    struct cl_result r;
    (void)state;

    cl_config_default(&c);
    in.ntemps = 0; /* no probe: cannot rule out freezing */
    cl_pack(&c, &in, &r);
    NEAR(r.ccl_a, 0);
    assert_string_equal(r.charge_reason, CL_NO_TEMP);
    NEAR(r.dcl_a, 100);
    in = pack16(3.2, 3.3, 25);
    in.has_cells = 0;
    cl_pack(&c, &in, &r);
    NEAR(r.ccl_a, 0);
    NEAR(r.dcl_a, 0);
    assert_string_equal(r.charge_reason, CL_NO_CELLS);
    /* force charge: at or below 5 % with charging allowed */
    in = pack16(3.2, 3.3, 25);
    in.soc = 4;
    cl_pack(&c, &in, &r);
    assert_true(r.force_charge);
    in.charge_fet = 0;
    cl_pack(&c, &in, &r);
    assert_false(r.force_charge);
}

/* What goes out is never past what the rules allow: CVL and the currents
 * rounded down to the protocols' 1 mV / 0.1 A, DVL up; a number that is
 * not one (NaN) allows nothing. */
static void rounding_to_the_safe_side(void **state)
{
    struct cl_config c;
    struct cl_input in = pack16(3.2, 3.3, 25);
    struct cl_result r;
    (void)state;

    cl_config_default(&c);
    c.cell_charge_v = 3.4437;    /* x 16 = 55.0992 V */
    c.cell_discharge_v = 3.0001; /* x 16 = 48.0016 V */
    c.max_charge_a = 33.37;
    c.max_discharge_a = 33.37;
    cl_pack(&c, &in, &r);
    NEAR(r.cvl_v, 55.099);
    NEAR(r.dvl_v, 48.002);
    NEAR(r.ccl_a, 33.3);
    NEAR(r.dcl_a, 33.3);
    /* the default 16 x 3.45 stays 55.2 V, not 55.199 */
    cl_config_default(&c);
    cl_pack(&c, &in, &r);
    NEAR(r.cvl_v, 55.2);
    NEAR(r.dvl_v, 48.0);
    /* NaN cells or probes: no current, never the table's far end */
    in = pack16(NAN, 3.3, 25);
    cl_pack(&c, &in, &r);
    NEAR(r.dcl_a, 0);
    NEAR(r.ccl_a, 0);
    assert_string_equal(r.discharge_reason, CL_NO_CELLS);
    assert_false(r.charge_enable || r.discharge_enable);
    in = pack16(3.2, 3.3, 25);
    in.temps[1] = NAN;
    cl_pack(&c, &in, &r);
    NEAR(r.ccl_a, 0);
    NEAR(r.dcl_a, 0);
    assert_string_equal(r.charge_reason, CL_TEMPERATURE);
    assert_true(cl_table_eval(&c.discharge_cell, NAN) == 0.0);
}

static struct cl_member member(const struct cl_config *c, const char *name, int fresh,
                               struct cl_input in)
{
    struct cl_member m = {.name = name, .fresh = fresh, .charge_fet = in.charge_fet,
                          .discharge_fet = in.discharge_fet};
    cl_pack(c, &in, &m.r);
    return m;
}

static void bank_combination(void **state)
{
    struct cl_config c;
    struct cl_member m[3];
    struct cl_result r;
    (void)state;

    cl_config_default(&c);
    /* three healthy packs: 0.9 x 300 = 270 A, capped at 300: 270 */
    m[0] = member(&c, "b1", 1, pack16(3.2, 3.3, 25));
    m[1] = member(&c, "b2", 1, pack16(3.2, 3.3, 25));
    m[2] = member(&c, "b3", 1, pack16(3.2, 3.3, 25));
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 270);
    NEAR(r.dcl_a, 270);
    assert_true(r.charge_enable && r.discharge_enable);
    /* the weakest rule: b2's high cell allows 25 A, so 3 x 25 = 75 A */
    m[1] = member(&c, "b2", 1, pack16(3.2, 3.4, 25));
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 75);
    assert_string_equal(r.charge_reason, "b2: cell_high");
    /* a stale member counts for nothing: the other two, 2 x 100 x 0.9 */
    m[1] = member(&c, "b2", 0, pack16(3.2, 3.4, 25));
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 180);
    assert_string_equal(r.charge_reason, CL_BANK_FACTOR); /* 0.9 x the sum, not "max_current" */
    /* a fresh pack at 0 C with its charge MOSFET still on stops the bank */
    m[1] = member(&c, "b2", 1, pack16(3.2, 3.3, -1));
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 0);
    assert_false(r.charge_enable);
    assert_string_equal(r.charge_reason, "b2: temperature");
    /* ... but one whose BMS opened its charge MOSFET takes no current */
    {
        struct cl_input in = pack16(3.2, 3.3, -1);
        in.charge_fet = 0;
        m[1] = member(&c, "b2", 1, in);
    }
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 180);
    /* no fresh member: all off, stale */
    m[0].fresh = m[1].fresh = m[2].fresh = 0;
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 0);
    NEAR(r.dcl_a, 0);
    assert_false(r.charge_enable || r.discharge_enable);
    assert_string_equal(r.charge_reason, CL_STALE);
    /* the cap */
    c.bank_max_charge_a = 100;
    m[0].fresh = m[1].fresh = m[2].fresh = 1;
    m[1] = member(&c, "b2", 1, pack16(3.2, 3.3, 25));
    cl_bank(&c, m, 3, &r);
    NEAR(r.ccl_a, 100);
    assert_string_equal(r.charge_reason, CL_BANK_MAX);
}

/* ---- the plugin ---- */

static collector_record *battery(const char *source, double t, double cmax, double temp)
{
    collector_record *r;
    double cells[4] = {3.20, 3.25, 3.25, cmax};
    double temps[2] = {temp, temp};

    assert_int_equal(record_new(source, (int64_t)(t * 1e9), &r), 0);
    record_set_interval_ms(r, 5000);
    record_set_doubles(r, "cells", cells, 4);
    record_set_int(r, "bms_cell_count", 4);
    record_set_doubles(r, "temperatures", temps, 2);
    record_set_double(r, "mos_temperature", 30);
    record_set_bool(r, "charging_enabled", 1);
    record_set_bool(r, "discharging_enabled", 1);
    record_set_double(r, "battery_soc", 60);
    return r;
}

static double dbl(const collector_record *r, const char *name)
{
    double v = NAN;
    assert_int_equal(record_get_double(r, name, &v), 0);
    return v;
}

static const char *str(const collector_record *r, const char *name)
{
    const char *v = NULL;
    assert_int_equal(record_get_string(r, name, &v), 0);
    return v;
}

static void plugin_records(void **state)
{
    struct testhost *t;
    collector_record *r, *bank;
    int b = -1;
    (void)state;

    if (testhost_open_ex("charge_limits", "limits", 0,
                         "max_charge_current = 50; members = (\"b1\", \"b2\");", &t) != 0)
        fail_msg("open: %s", testhost_last_log());
    r = battery("b1", 1000, 3.30, 25);
    assert_int_equal(testhost_process(t, r), 0);
    NEAR(dbl(r, "charge_voltage_limit_v"), 13.8);
    NEAR(dbl(r, "discharge_voltage_limit_v"), 12.0);
    NEAR(dbl(r, "charge_current_limit_a"), 50);
    NEAR(dbl(r, "discharge_current_limit_a"), 100);
    assert_int_equal(record_get_bool(r, "charge_enable", &b), 0);
    assert_int_equal(b, 1);
    assert_string_equal(str(r, "charge_limit_reason"), CL_MAX_CURRENT);
    record_free(r);
    r = battery("b2", 1001, 3.40, 25);
    assert_int_equal(testhost_process(t, r), 0);
    NEAR(dbl(r, "charge_current_limit_a"), 12.5);
    assert_string_equal(str(r, "charge_limit_reason"), CL_CELL_HIGH);
    record_free(r);
    /* the bank's record 10 s later: both fresh (3 x 5 s) */
    assert_int_equal(record_new("bank", (int64_t)(1010 * 1e9), &bank), 0);
    record_set_int(bank, "members_total", 2);
    assert_int_equal(testhost_process(t, bank), 0);
    NEAR(dbl(bank, "charge_current_limit_a"), 25.0); /* 2 x 12.5 */
    assert_string_equal(str(bank, "charge_limit_reason"), "b2: cell_high");
    NEAR(dbl(bank, "charge_voltage_limit_v"), 13.8);
    record_free(bank);
    /* 15.5 s after b1's record: b1 is stale, b2 (at 1001) still fresh */
    assert_int_equal(record_new("bank", (int64_t)(1015.5 * 1e9), &bank), 0);
    record_set_int(bank, "members_total", 2);
    assert_int_equal(testhost_process(t, bank), 0);
    /* 0.9 x 12.5 = 11.25 A: 11.2 as sent, never rounded up to 11.3 */
    NEAR(dbl(bank, "charge_current_limit_a"), 11.2);
    record_free(bank);
    /* 20 s: none fresh */
    assert_int_equal(record_new("bank", (int64_t)(1020 * 1e9), &bank), 0);
    record_set_int(bank, "members_total", 2);
    assert_int_equal(testhost_process(t, bank), 0);
    NEAR(dbl(bank, "charge_current_limit_a"), 0);
    assert_string_equal(str(bank, "charge_limit_reason"), CL_STALE);
    assert_int_equal(record_get_bool(bank, "discharge_enable", &b), 0);
    assert_int_equal(b, 0);
    record_free(bank);
    testhost_close(t);
}

/* A bank's record at `t` through the plugin: the charge current it got,
 * and its reason in `why` (80 bytes). */
static double bank_charge(struct testhost *t, const char *bank, double at, char *why)
{
    collector_record *r;
    double ccl;

    assert_int_equal(record_new(bank, (int64_t)(at * 1e9), &r), 0);
    record_set_int(r, "members_total", 2);
    assert_int_equal(testhost_process(t, r), 0);
    ccl = dbl(r, "charge_current_limit_a");
    snprintf(why, 80, "%s", str(r, "charge_limit_reason"));
    record_free(r);
    return ccl;
}

static void process_free(struct testhost *t, collector_record *r)
{
    assert_int_equal(testhost_process(t, r), 0);
    record_free(r);
}

/* Without `members`, a bank counts only its own packs: those whose record
 * its record followed (the bank emits right after a member's record, with
 * its time). It used to count every battery seen: a bank of two 100 A packs
 * next to a third battery asked for 270 A, not 180. */
static void learned_members(void **state)
{
    struct testhost *t;
    collector_record *r;
    char why[80];
    (void)state;

    if (testhost_open_ex("charge_limits", "limits", 0, "", &t) != 0)
        fail_msg("open: %s", testhost_last_log());
    process_free(t, battery("b1", 1000, 3.30, 25));
    NEAR(bank_charge(t, "bankA", 1000, why), 90.0);
    process_free(t, battery("b3", 1000.5, 3.30, 25)); /* in no bank, or in bankB */
    process_free(t, battery("b2", 1001, 3.30, 25));
    /* a record of something else, in between: not a member */
    assert_int_equal(record_new("meter", (int64_t)(1001 * 1e9), &r), 0);
    record_set_double(r, "grid_power_w", 500);
    process_free(t, r);
    NEAR(bank_charge(t, "bankA", 1001, why), 180.0); /* min(0.9 x 200, 2 x 100, 300) */
    /* a second bank of b3 alone */
    process_free(t, battery("b3", 1002, 3.30, 25));
    NEAR(bank_charge(t, "bankB", 1002, why), 90.0);
    /* b3's high cell does not touch bankA; b2's does: 2 x 25 A */
    process_free(t, battery("b3", 1003, 3.40, 25));
    process_free(t, battery("b2", 1004, 3.40, 25));
    NEAR(bank_charge(t, "bankA", 1004, why), 50.0);
    assert_string_equal(why, "b2: cell_high");
    testhost_close(t);
}

static void plugin_settings(void **state)
{
    struct testhost *t = NULL;
    (void)state;

    assert_int_equal(testhost_open("charge_limits", "charge_taper = ((3.4, 1.0), (3.3, 0.0));",
                                   &t),
                     -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "must increase strictly"));
    assert_int_equal(testhost_open("charge_limits", "charge_temperature = ((0, 2.0), (5, 1));",
                                   &t),
                     -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "outside 0..1"));
    assert_int_equal(testhost_open("charge_limits",
                                   "cell_charge_voltage = 3.1; cell_discharge_voltage = 3.2;", &t),
                     -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "not below cell_charge_voltage"));
    assert_int_equal(testhost_open("charge_limits", "cell_charge_voltage = 3.9;", &t), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_table),      cmocka_unit_test(missing_data_is_no_current),
        cmocka_unit_test(rounding_to_the_safe_side),
        cmocka_unit_test(bank_combination), cmocka_unit_test(plugin_records),
        cmocka_unit_test(learned_members),
        cmocka_unit_test(plugin_settings),
    };
    return cmocka_run_group_tests_name("charge_limits", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_plaus: every documented range at both edges, what a rejection leaves
 * out of the record and the JSON report, and that each field is said once. */
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
#include <jansson.h>

#include "plugins/libjk/jk_metrics.h"
#include "plugins/libjk/jk_plaus.h"
#include "plugins/libjk/jk_report.h"

/* A JK02_32S record like the PB2A16S15P fixture: 16 cells, 4 probes. */
static void base_record(struct jk_cell_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    ci->proto = JK_PROTO_JK02_32S;
    ci->ncells = 16;
    for (size_t i = 0; i < 16; i++) {
        ci->cell_v[i] = 3.2 + 0.001 * (double)i;
        ci->cell_ohm[i] = 0.1;
        ci->pack_v += ci->cell_v[i];
    }
    ci->has_pack = 1;
    ci->current_a = -3.3;
    ci->ntemps = 4;
    ci->temps[0] = 17.7;
    ci->temps[1] = 17.7;
    ci->temps[2] = 18.0;
    ci->temps[3] = 17.9;
    ci->has_mos_temp = 1;
    ci->mos_temp = 17.3;
    ci->has_errors = 1;
    ci->has_balance_current = 1;
    ci->soc = 52;
    ci->soh = 100;
    ci->remaining_ah = 1.043;
    ci->nominal_ah = 2.0;
    ci->cycle_capacity_ah = 7475.896;
    ci->cycles = 56;
    ci->has_runtime = 1;
    ci->charging = ci->discharging = 1;
}

struct edge {
    int field;
    const char *metric;
    double min, max;
    int integral; /* stored as an unsigned integer: no value below 0, steps of 1 */
};

static const struct edge edges[] = {
    {JK_PLAUS_CELL_RES, "cell_resistances", 0.0, 10.0, 0},
    {JK_PLAUS_CURRENT, "battery_current", -1000.0, 1000.0, 0},
    {JK_PLAUS_TEMP1, "temperatures", -40.0, 120.0, 0},
    {JK_PLAUS_TEMP1 + 1, "temperatures", -40.0, 120.0, 0},
    {JK_PLAUS_TEMP1 + 2, "temperatures", -40.0, 120.0, 0},
    {JK_PLAUS_TEMP1 + 3, "temperatures", -40.0, 120.0, 0},
    {JK_PLAUS_MOS_TEMP, "mos_temperature", -40.0, 120.0, 0},
    {JK_PLAUS_BALANCE_CURRENT, "balance_current", -10.0, 10.0, 0},
    {JK_PLAUS_SOC, "bms_soc", 0.0, 100.0, 1},
    {JK_PLAUS_SOH, "soh", 0.0, 100.0, 1},
    {JK_PLAUS_REMAINING, "capacity_remaining_ah", 0.0, 10000.0, 0},
    {JK_PLAUS_NOMINAL, "capacity_nominal_ah", 0.0, 10000.0, 0},
    {JK_PLAUS_CYCLES, "cycle_count", 0.0, 100000.0, 1},
    {JK_PLAUS_CYCLE_CAP, "cycle_capacity_ah", 0.0, 4000000.0, 0},
};

static void set_field(struct jk_cell_info *ci, int field, double v)
{
    switch (field) {
    case JK_PLAUS_CELL_RES:
        ci->cell_ohm[7] = v;
        break;
    case JK_PLAUS_CURRENT:
        ci->current_a = v;
        break;
    case JK_PLAUS_MOS_TEMP:
        ci->mos_temp = v;
        break;
    case JK_PLAUS_BALANCE_CURRENT:
        ci->balance_current_a = v;
        break;
    case JK_PLAUS_SOC:
        ci->soc = (uint8_t)v;
        break;
    case JK_PLAUS_SOH:
        ci->soh = (uint8_t)v;
        break;
    case JK_PLAUS_REMAINING:
        ci->remaining_ah = v;
        break;
    case JK_PLAUS_NOMINAL:
        ci->nominal_ah = v;
        break;
    case JK_PLAUS_CYCLES:
        ci->cycles = (uint32_t)v;
        break;
    case JK_PLAUS_CYCLE_CAP:
        ci->cycle_capacity_ah = v;
        break;
    default:
        ci->temps[field - JK_PLAUS_TEMP1] = v;
        break;
    }
}

static void expect_ok(const struct edge *e, double v)
{
    struct jk_cell_info ci;
    struct jk_plaus p;

    base_record(&ci);
    set_field(&ci, e->field, v);
    jk_plaus_check(&ci, &p);
    if (p.n != 0)
        fail_msg("%s = %.17g should pass", e->metric, v);
}

static void expect_rejected(const struct edge *e, double v)
{
    struct jk_cell_info ci;
    struct jk_plaus p;

    base_record(&ci);
    set_field(&ci, e->field, v);
    jk_plaus_check(&ci, &p);
    if (p.n != 1 || !jk_plaus_is_rejected(&p, e->field))
        fail_msg("%s = %.17g should be rejected (n %zu)", e->metric, v, p.n);
    assert_int_equal(p.drop, 0);
    assert_int_equal(p.list[0].field, e->field);
    assert_string_equal(p.list[0].metric, e->metric);
    assert_true(p.list[0].raw == v || (isnan(v) && isnan(p.list[0].raw)));
    assert_true(p.list[0].min == e->min && p.list[0].max == e->max);
}

static void every_field_passes_at_its_edges_and_not_past_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        const struct edge *e = &edges[i];
        expect_ok(e, e->min);
        expect_ok(e, e->max);
        if (e->integral) {
            expect_rejected(e, e->max + 1);
        } else {
            expect_rejected(e, nextafter(e->min, -INFINITY));
            expect_rejected(e, nextafter(e->max, INFINITY));
            expect_rejected(e, NAN);
        }
    }
}

static void the_issues_values_are_rejected(void **state)
{
    static const struct {
        int field;
        double raw;
    } cases[] = {
        {JK_PLAUS_CURRENT, -2147483.648},  {JK_PLAUS_TEMP1 + 2, 3276.7},
        {JK_PLAUS_CYCLES, 4294967295.0},   {JK_PLAUS_SOH, 255},
        {JK_PLAUS_REMAINING, 4294967.295}, {JK_PLAUS_NOMINAL, 4294967.295},
        {JK_PLAUS_CYCLE_CAP, 4294967.295},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jk_cell_info ci;
        struct jk_plaus p;
        base_record(&ci);
        set_field(&ci, cases[i].field, cases[i].raw);
        jk_plaus_check(&ci, &p);
        assert_int_equal(p.n, 1);
        assert_int_equal(p.list[0].field, cases[i].field);
        assert_true(p.list[0].raw == cases[i].raw);
        assert_int_equal(p.drop, 0);
    }
}

static void cells_and_pack_voltage_drop_the_frame(void **state)
{
    struct jk_cell_info ci;
    struct jk_plaus p;
    double sum = 0, tol;
    (void)state;

    /* edges of a cell, and an empty slot */
    base_record(&ci);
    ci.cell_v[3] = 0.0;
    ci.cell_v[4] = 0.5;
    ci.cell_v[5] = 5.0;
    for (size_t i = 0; i < ci.ncells; i++)
        sum += ci.cell_v[i];
    ci.pack_v = sum;
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.n, 0);
    assert_int_equal(p.drop, 0);
    for (int side = 0; side < 2; side++) {
        base_record(&ci);
        ci.cell_v[9] = side ? nextafter(5.0, 6.0) : nextafter(0.5, 0.0);
        jk_plaus_check(&ci, &p);
        assert_int_equal(p.drop, 1);
        assert_true(jk_plaus_is_rejected(&p, JK_PLAUS_CELLS));
        assert_int_equal(p.list[0].index, 10);
        assert_true(p.list[0].raw == ci.cell_v[9]);
    }
    /* 32 cells at 5.5 V: a 176 V pack that adds up, and still impossible */
    base_record(&ci);
    ci.ncells = 32;
    for (size_t i = 0; i < 32; i++)
        ci.cell_v[i] = 5.5;
    ci.pack_v = 176.0;
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.drop, 1);
    assert_int_equal(p.list[0].index, 1);
    /* no cell reading at all */
    base_record(&ci);
    memset(ci.cell_v, 0, sizeof(ci.cell_v));
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.drop, 1);
    assert_int_equal(p.list[0].index, 0);
    /* the pack voltage: 5 % + 0.1 V around the sum of the cells (edges to 0.1 % of
     * the tolerance: the sum is not exact in binary) */
    base_record(&ci);
    sum = 0;
    for (size_t i = 0; i < ci.ncells; i++)
        sum += ci.cell_v[i];
    tol = 0.05 * sum + 0.1;
    for (int sign = -1; sign <= 1; sign += 2) {
        ci.pack_v = sum + sign * 0.999 * tol;
        jk_plaus_check(&ci, &p);
        assert_int_equal(p.drop, 0);
        ci.pack_v = sum + sign * 1.001 * tol;
        jk_plaus_check(&ci, &p);
        assert_int_equal(p.drop, 1);
        assert_true(jk_plaus_is_rejected(&p, JK_PLAUS_PACK_V));
        assert_true(p.list[0].raw == ci.pack_v);
        assert_true(fabs(p.list[0].min - (sum - tol)) < 1e-9);
        assert_true(fabs(p.list[0].max - (sum + tol)) < 1e-9);
    }
    /* JK04 has no pack voltage of its own: nothing to compare */
    ci.has_pack = 0;
    ci.pack_v = 0;
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.drop, 0);
}

static void probes_after_an_implausible_one_are_left_out(void **state)
{
    struct jk_cell_info ci;
    struct jk_plaus p;
    (void)state;

    base_record(&ci);
    ci.temps[3] = 3276.7; /* T4 */
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.ntemps, 3);
    ci.temps[2] = 3276.7; /* and T3 */
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.ntemps, 2);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.list[0].index, 3);
    assert_int_equal(p.list[1].index, 4);
    ci.temps[2] = 18.0;
    ci.temps[0] = -40.1;
    jk_plaus_check(&ci, &p);
    assert_int_equal(p.ntemps, 0);
}

struct names {
    char list[64][40];
    size_t n;
    size_t ntemps;
};

static void add(void *ctx, const char *name)
{
    struct names *nm = ctx;
    assert_true(nm->n < 64);
    snprintf(nm->list[nm->n++], sizeof(nm->list[0]), "%s", name);
}

static void on_number(void *ctx, const char *name, double value)
{
    (void)value;
    add(ctx, name);
}

static void on_integer(void *ctx, const char *name, int64_t value)
{
    (void)value;
    add(ctx, name);
}

static void on_boolean(void *ctx, const char *name, int value)
{
    (void)value;
    add(ctx, name);
}

static void on_string(void *ctx, const char *name, const char *value)
{
    (void)value;
    add(ctx, name);
}

static void on_numbers(void *ctx, const char *name, const double *values, size_t count)
{
    struct names *nm = ctx;
    (void)values;
    if (strcmp(name, "temperatures") == 0)
        nm->ntemps = count;
    add(ctx, name);
}

static int has(const struct names *nm, const char *name)
{
    for (size_t i = 0; i < nm->n; i++)
        if (strcmp(nm->list[i], name) == 0)
            return 1;
    return 0;
}

static void rejected_metrics_are_absent_and_the_rest_present(void **state)
{
    static const struct jk_metric_visitor v = {on_number, on_integer, on_boolean, on_string,
                                               on_numbers};
    struct jk_cell_info ci;
    struct jk_plaus p;
    struct names all, some, dropped;
    (void)state;

    base_record(&ci);
    jk_plaus_check(&ci, &p);
    memset(&all, 0, sizeof(all));
    jk_metrics_visit(&ci, &p, NULL, NULL, &v, &all);
    assert_int_equal(all.ntemps, 4);

    ci.current_a = -2147483.648;
    ci.temps[2] = 3276.7;
    ci.soh = 255;
    ci.cycles = 4294967295u;
    ci.remaining_ah = 4294967.295;
    jk_plaus_check(&ci, &p);
    memset(&some, 0, sizeof(some));
    jk_metrics_visit(&ci, &p, NULL, NULL, &v, &some);
    assert_int_equal(some.ntemps, 2);
    for (size_t i = 0; i < all.n; i++) {
        const char *name = all.list[i];
        int gone = strcmp(name, "battery_current") == 0 || strcmp(name, "battery_power") == 0 ||
                   strcmp(name, "soh") == 0 || strcmp(name, "cycle_count") == 0 ||
                   strcmp(name, "capacity_remaining_ah") == 0;
        if (has(&some, name) == gone)
            fail_msg("%s should be %s", name, gone ? "absent" : "present");
    }
    assert_int_equal(some.n, all.n - 5);

    /* a dropped frame gives nothing but its protocol, and no record at all */
    ci.cell_v[0] = 5.5;
    jk_plaus_check(&ci, &p);
    memset(&dropped, 0, sizeof(dropped));
    jk_metrics_visit(&ci, &p, NULL, NULL, &v, &dropped);
    assert_int_equal(dropped.n, 1);
    assert_string_equal(dropped.list[0], "protocol");
    assert_int_equal(jk_record_fill(NULL, NULL, &ci, &p, NULL, NULL), -ERANGE);
}

struct said {
    char lines[8][256];
    size_t n;
};

static void say(void *user, const char *line)
{
    struct said *s = user;
    assert_true(s->n < 8);
    snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s", line);
}

static void each_field_is_said_once_per_battery_and_counted(void **state)
{
    struct jk_plaus_tally t;
    struct jk_cell_info ci;
    struct jk_plaus p;
    struct said s;
    (void)state;

    memset(&t, 0, sizeof(t));
    memset(&s, 0, sizeof(s));
    base_record(&ci);
    ci.current_a = -2147483.648;
    jk_plaus_check(&ci, &p);
    jk_plaus_tally(&t, &p, say, &s);
    jk_plaus_tally(&t, &p, say, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.lines[0], "implausible battery_current = -2147483.648 A is outside "
                                    "-1000..1000 A: left out (said once per field)");
    assert_int_equal(t.fields, 2);
    assert_int_equal(t.frames, 0);

    ci.cycles = 4294967295u;
    ci.temps[2] = 3276.7;
    jk_plaus_check(&ci, &p);
    jk_plaus_tally(&t, &p, say, &s);
    assert_int_equal(s.n, 3); /* the current was said already */
    assert_string_equal(s.lines[1], "implausible temperatures[3] = 3276.7 degC is outside "
                                    "-40..120 degC: left out (said once per field)");
    assert_string_equal(s.lines[2], "implausible cycle_count = 4294967295 is outside 0..100000: "
                                    "left out (said once per field)");
    assert_int_equal(t.fields, 5);

    base_record(&ci);
    ci.cell_v[0] = 5.5;
    jk_plaus_check(&ci, &p);
    jk_plaus_tally(&t, &p, say, &s);
    jk_plaus_tally(&t, &p, say, &s);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.lines[3], "implausible cells[1] = 5.5 V is outside 0.5..5 V: frame "
                                    "dropped (said once per field)");
    assert_int_equal(t.frames, 2);
    assert_int_equal(t.fields, 5);

    /* another battery has its own tally: it says the current again */
    {
        struct jk_plaus_tally other;
        memset(&other, 0, sizeof(other));
        base_record(&ci);
        ci.current_a = 1000.001;
        jk_plaus_check(&ci, &p);
        jk_plaus_tally(&other, &p, say, &s);
        assert_int_equal(s.n, 5);
    }
}

static void the_json_report_lists_what_it_rejected(void **state)
{
    struct jk_cell_info ci;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem;
    json_t *obj, *rej, *e;
    json_error_t jerr;
    (void)state;

    base_record(&ci);
    ci.current_a = -2147483.648;
    ci.temps[2] = 3276.7;
    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    assert_int_equal(jk_report_json(mem, &ci, NULL, NULL), 0);
    ci.cell_v[0] = 5.5;
    assert_int_equal(jk_report_json(mem, &ci, NULL, NULL), -ERANGE);
    fclose(mem);

    obj = json_loadb(buf, strcspn(buf, "\n"), 0, &jerr);
    assert_non_null(obj);
    assert_null(json_object_get(obj, "battery_current"));
    assert_null(json_object_get(obj, "dropped"));
    assert_int_equal(json_array_size(json_object_get(obj, "temperatures")), 2);
    assert_non_null(json_object_get(obj, "battery_voltage"));
    rej = json_object_get(obj, "rejected");
    assert_int_equal(json_array_size(rej), 2);
    e = json_array_get(rej, 0);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "battery_current");
    assert_true(json_real_value(json_object_get(e, "raw")) == -2147483.648);
    assert_true(json_real_value(json_object_get(e, "min")) == -1000.0);
    assert_true(json_real_value(json_object_get(e, "max")) == 1000.0);
    assert_string_equal(json_string_value(json_object_get(e, "unit")), "A");
    assert_null(json_object_get(e, "index"));
    e = json_array_get(rej, 1);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "temperatures");
    assert_int_equal(json_integer_value(json_object_get(e, "index")), 3);
    json_decref(obj);

    obj = json_loads(buf + strcspn(buf, "\n") + 1, 0, &jerr);
    assert_non_null(obj);
    assert_true(json_is_true(json_object_get(obj, "dropped")));
    assert_null(json_object_get(obj, "cells"));
    assert_null(json_object_get(obj, "battery_voltage"));
    e = json_array_get(json_object_get(obj, "rejected"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "cells");
    assert_true(json_real_value(json_object_get(e, "raw")) == 5.5);
    json_decref(obj);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_passes_at_its_edges_and_not_past_them),
        cmocka_unit_test(the_issues_values_are_rejected),
        cmocka_unit_test(cells_and_pack_voltage_drop_the_frame),
        cmocka_unit_test(probes_after_an_implausible_one_are_left_out),
        cmocka_unit_test(rejected_metrics_are_absent_and_the_rest_present),
        cmocka_unit_test(each_field_is_said_once_per_battery_and_counted),
        cmocka_unit_test(the_json_report_lists_what_it_rejected),
    };
    return cmocka_run_group_tests_name("jk_plaus", tests, NULL, NULL);
}

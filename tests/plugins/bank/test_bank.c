/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bank: the record it emits for two packs (sums, weighted SOC, cell
 * extremes), a stale member left out, records of other sources untouched,
 * and its settings. */
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

#define T0 1700000000.0

struct pack {
    double current, power, voltage, soc, capacity, remaining, cell_min, cell_max;
    int soc_from_bms; /* bms_soc instead of battery_soc */
};

static const struct pack pb16 = {-3.26, -168.5, 51.689, 46.0, 280.0, 128.9, 3.216, 3.246, 0};
static const struct pack b24 = {2.0, 157.4, 78.7, 80.0, 100.0, 80.0, 3.270, 3.300, 1};

static struct testhost *open_bank(const char *settings)
{
    struct testhost *t;
    if (testhost_open_ex("bank", "bank", 0, settings, &t) != 0)
        fail_msg("open: %s", testhost_last_log());
    return t;
}

/* Process a record of `source` at T0 + at (interval 5 s) carrying `p`
 * (NULL: no metrics). Returns what the bank emitted for it (borrowed). */
static const collector_record *feed(struct testhost *t, const char *source, double at,
                                    const struct pack *p)
{
    collector_record *r;
    size_t before = testhost_record_count(t);

    assert_int_equal(record_new(source, (int64_t)((T0 + at) * 1e9), &r), 0);
    record_set_interval_ms(r, 5000);
    if (p != NULL) {
        double cells[3] = {p->cell_min, (p->cell_min + p->cell_max) / 2, p->cell_max};
        record_set_double(r, "battery_current", p->current);
        record_set_double(r, "battery_power", p->power);
        record_set_double(r, "battery_voltage", p->voltage);
        record_set_double(r, p->soc_from_bms ? "bms_soc" : "battery_soc", p->soc);
        record_set_double(r, "capacity_nominal_ah", p->capacity);
        record_set_double(r, "capacity_remaining_ah", p->remaining);
        record_set_doubles(r, "cells", cells, 3);
        record_set_double(r, "bms_cell_min_v", p->cell_min);
        record_set_double(r, "bms_cell_max_v", p->cell_max);
    }
    assert_int_equal(testhost_process(t, r), 0);
    record_free(r);
    return testhost_record_count(t) > before ? testhost_record(t, before) : NULL;
}

static double get(const collector_record *r, const char *name)
{
    double v = NAN;
    assert_non_null(r);
    testhost_api(NULL)->get_double(r, name, &v);
    return v;
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void sums_weights_and_extremes(void **state)
{
    struct testhost *t = open_bank("members = (\"battery1\", \"battery2\");");
    const collector_record *r;
    (void)state;

    r = feed(t, "battery1", 0, &pb16);
    assert_string_equal(record_source(r), "bank");
    NEAR(get(r, "members_online"), 1);
    NEAR(get(r, "members_total"), 2);
    NEAR(get(r, "battery_current"), pb16.current);
    NEAR(get(r, "battery_soc"), pb16.soc);

    r = feed(t, "battery2", 1, &b24);
    assert_true(record_time_ns(r) == (int64_t)((T0 + 1) * 1e9));
    assert_int_equal(record_interval_ms(r), 5000);
    NEAR(get(r, "members_online"), 2);
    NEAR(get(r, "battery_current"), pb16.current + b24.current);
    NEAR(get(r, "battery_power"), pb16.power + b24.power);
    NEAR(get(r, "battery_voltage"), (pb16.voltage + b24.voltage) / 2);
    NEAR(get(r, "battery_soc"), (46.0 * 280 + 80.0 * 100) / 380);
    NEAR(get(r, "capacity_remaining_ah"), pb16.remaining + b24.remaining);
    NEAR(get(r, "capacity_nominal_ah"), 380);
    NEAR(get(r, "bms_cell_min_v"), 3.216);
    NEAR(get(r, "bms_cell_max_v"), 3.300);
    NEAR(get(r, "bms_cell_delta_v"), 3.300 - 3.216);
    assert_int_equal(testhost_record_count(t), 2);
    testhost_close(t);
}

static void a_stale_member_drops_out(void **state)
{
    struct testhost *t = open_bank("members = (\"battery1\", \"battery2\");");
    const collector_record *r;
    (void)state;

    feed(t, "battery1", 0, &pb16);
    feed(t, "battery2", 1, &b24);
    r = feed(t, "battery2", 15, &b24); /* battery1 is 15 s old: 3 x 5 s, still in */
    NEAR(get(r, "members_online"), 2);
    r = feed(t, "battery2", 16, &b24); /* 16 s: out */
    NEAR(get(r, "members_online"), 1);
    NEAR(get(r, "battery_current"), b24.current);
    NEAR(get(r, "battery_power"), b24.power);
    NEAR(get(r, "capacity_remaining_ah"), b24.remaining);
    NEAR(get(r, "battery_soc"), b24.soc);
    NEAR(get(r, "bms_cell_min_v"), b24.cell_min);
    assert_non_null(strstr(testhost_log(t), "battery1 offline (no record for 16.0 s)"));
    r = feed(t, "battery1", 17, &pb16);
    NEAR(get(r, "members_online"), 2);
    assert_non_null(strstr(testhost_log(t), "battery1 back in the bank"));
    testhost_close(t);
}

static void partial_data_and_other_sources(void **state)
{
    struct testhost *t = open_bank("members = (\"battery1\", \"battery2\");");
    struct pack no_capacity = b24;
    const collector_record *r;
    (void)state;

    /* another source: passes unchanged, nothing emitted */
    assert_null(feed(t, "battery3", 0, &pb16));
    /* a member without a capacity: a plain mean of the SOCs, no capacity sum */
    no_capacity.capacity = 0;
    feed(t, "battery1", 0, &pb16);
    r = feed(t, "battery2", 1, &no_capacity);
    NEAR(get(r, "battery_soc"), (46.0 + 80.0) / 2);
    assert_true(isnan(get(r, "capacity_nominal_ah")));
    /* a member without current (a JK04 balancer): no current sum at all */
    r = feed(t, "battery2", 2, NULL);
    assert_true(isnan(get(r, "battery_current")));
    NEAR(get(r, "battery_voltage"), pb16.voltage);
    NEAR(get(r, "members_online"), 2);
    testhost_close(t);
}

static void members_are_checked(void **state)
{
    struct testhost *t = NULL;
    (void)state;

    assert_int_equal(testhost_open_ex("bank", "bank", 0, "", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "members"));
    assert_int_equal(testhost_open_ex("bank", "bank", 0, "members = (\"a\", \"a\");", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "members: a is listed twice"));
    assert_int_equal(testhost_open_ex("bank", "bank", 0, "members = (\"bank\");", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "members: bank is this instance itself"));
    assert_int_equal(testhost_open_ex("bank", "bank", 0, "members = (1, 2);", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "members: element 1: want a name"));
}

/* A member's record now (vet_command judges freshness by the clock) with
 * its switches: `dis` discharge_switch and discharging_enabled. */
static void feed_switches(struct testhost *t, const char *source, int dis, int chg)
{
    const struct collector_host_api *api = testhost_api(t);
    collector_record *r;

    assert_int_equal(record_new(source, api->time_ns(testhost_handle(t), COLLECTOR_CLOCK_REALTIME),
                                &r),
                     0);
    record_set_interval_ms(r, 5000);
    record_set_bool(r, "discharge_switch", dis);
    record_set_bool(r, "discharging_enabled", dis);
    record_set_bool(r, "charge_switch", chg);
    record_set_bool(r, "charging_enabled", chg);
    assert_int_equal(testhost_process(t, r), 0);
    record_free(r);
}

static int vet(struct testhost *t, const char *target, const char *name, const char *value,
               uint32_t flags, char *reason, size_t size)
{
    struct collector_command c = {
        .struct_size = sizeof(c), .flags = flags, .id = 1, .target = target,
        .name = name, .value = value, .origin = "test",
    };
    reason[0] = '\0';
    return testhost_vet_command(t, &c, reason, size);
}

static void vets_commands_that_leave_no_pack(void **state)
{
    struct testhost *t = open_bank("members = (\"p1\", \"p2\", \"p3\");");
    char why[256];
    (void)state;

    /* p3 never reported: only p2 can carry the bank */
    feed_switches(t, "p1", 1, 1);
    feed_switches(t, "p2", 1, 1);
    assert_int_equal(vet(t, "p1", "discharge", "off", 0, why, sizeof(why)), 0);
    feed_switches(t, "p2", 0, 1); /* p2 cannot discharge now */
    assert_int_equal(vet(t, "p1", "discharge", "off", 0, why, sizeof(why)), -EPERM);
    assert_string_equal(why, "discharge off on p1 would leave no fresh pack of the bank able to "
                             "discharge (p2: off, p3: no fresh record); force overrides");
    /* charge is judged on its own; on, balancer and non-members always pass */
    assert_int_equal(vet(t, "p1", "charge", "off", 0, why, sizeof(why)), 0);
    assert_int_equal(vet(t, "p1", "discharge", "on", 0, why, sizeof(why)), 0);
    assert_int_equal(vet(t, "p1", "balancer", "off", 0, why, sizeof(why)), 0);
    assert_int_equal(vet(t, "other", "discharge", "off", 0, why, sizeof(why)), 0);
    /* force passes, and is said */
    assert_int_equal(vet(t, "p1", "discharge", "off", COLLECTOR_COMMAND_FORCE, why, sizeof(why)), 0);
    assert_non_null(strstr(testhost_log(t), "discharge off on p1 leaves no pack of the bank able "
                                            "to discharge (p2: off, p3: no fresh record): forced"));
    /* a stale pack does not count, however able it was */
    testhost_close(t);
    t = open_bank("members = (\"p1\", \"p2\");");
    feed(t, "p2", 0, &pb16); /* in 2023: long stale */
    assert_int_equal(vet(t, "p1", "charge", "off", 0, why, sizeof(why)), -EPERM);
    assert_non_null(strstr(why, "(p2: no fresh record)"));
    testhost_close(t);
}

static void events_are_not_members_records(void **state)
{
    struct testhost *t = open_bank("members = (\"p1\", \"p2\");");
    collector_record *ev;
    (void)state;

    assert_int_equal(record_new("p1", (int64_t)(T0 * 1e9), &ev), 0);
    record_set_kind(ev, COLLECTOR_RECORD_EVENT);
    record_set_string(ev, "outcome", "confirmed");
    assert_int_equal(testhost_process(t, ev), 0);
    assert_int_equal(testhost_record_count(t), 0);
    record_free(ev);
    testhost_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sums_weights_and_extremes),
        cmocka_unit_test(a_stale_member_drops_out),
        cmocka_unit_test(partial_data_and_other_sources),
        cmocka_unit_test(members_are_checked),
        cmocka_unit_test(vets_commands_that_leave_no_pack),
        cmocka_unit_test(events_are_not_members_records),
    };
    return cmocka_run_group_tests_name("bank", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* energy: trapezoids against hand-computed integrals, gaps, totals kept
 * across stop/start and a new instance, local midnight, the state writer's
 * cadence, time to full and to empty. */
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

#include "core/record.h"
#include "testhost.h"

#define T0 1700000000.0 /* 2023-11-14 22:13:20 UTC */

static char state_dir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(state_dir, sizeof(state_dir), "%s/energy-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(state_dir));
    setenv("COLLECTOR_STATE_DIR", state_dir, 1);
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(state_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    unsetenv("COLLECTOR_STATE_DIR");
    return 0;
}

static struct testhost *open_energy(const char *settings)
{
    struct testhost *t;
    if (testhost_open("energy", settings, &t) != 0)
        fail_msg("open: %s", testhost_last_log());
    return t;
}

/* A record of battery1 (interval 5 s) at T0 + at with power p (W) and,
 * when i is not NAN, current i; `more` adds capacity metrics. Processed;
 * the caller reads and frees it. */
static collector_record *step(struct testhost *t, double at, double p, double i, int more)
{
    collector_record *r;

    assert_int_equal(record_new("battery1", (int64_t)((T0 + at) * 1e9), &r), 0);
    record_set_interval_ms(r, 5000);
    record_set_double(r, "battery_power", p);
    if (!isnan(i))
        record_set_double(r, "battery_current", i);
    if (more) {
        record_set_double(r, "capacity_remaining_ah", 50.0);
        record_set_double(r, "capacity_nominal_ah", 100.0);
    }
    assert_int_equal(testhost_process(t, r), 0);
    return r;
}

static double metric(const collector_record *r, const char *name)
{
    double v = NAN;
    testhost_api(NULL)->get_double(r, name, &v);
    return v;
}

/* Process and return one metric of the result. */
static double at_power(struct testhost *t, double at, double p, const char *name)
{
    collector_record *r = step(t, at, p, NAN, 0);
    double v = metric(r, name);
    record_free(r);
    return v;
}

static void integrates_constant_power_and_splits_at_zero(void **state)
{
    struct testhost *t = open_energy("");
    double in = 0, out = 0;
    (void)state;

    assert_true(at_power(t, 0, 1000, "energy_charged_kwh") == 0.0);
    /* 1000 W for 99 x 5 s = 495 s: 0.1375 kWh */
    for (int k = 1; k < 100; k++)
        in = at_power(t, 5.0 * k, 1000, "energy_charged_kwh");
    assert_true(fabs(in - 1000.0 * 495 / 3.6e6) < 1e-12);
    /* 1000 W to -1000 W in 5 s: 2.5 s each side of zero, 1250 Ws each way */
    in = at_power(t, 500, -1000, "energy_charged_kwh");
    assert_true(fabs(in - (1000.0 * 495 + 1250) / 3.6e6) < 1e-12);
    /* -1000 W for 7 x 5 s */
    for (int k = 1; k <= 7; k++)
        out = at_power(t, 500 + 5.0 * k, -1000, "energy_discharged_kwh");
    assert_true(fabs(out - (1250 + 35000.0) / 3.6e6) < 1e-12);
    /* daily is off: no today metrics */
    assert_true(isnan(at_power(t, 540, -1000, "energy_charged_today_kwh")));
    testhost_close(t);
}

static void gap_is_not_integrated_and_logged_once(void **state)
{
    struct testhost *t = open_energy("");
    double in = 0;
    const char *log, *first;
    (void)state;

    at_power(t, 0, 3600, "energy_charged_kwh");
    at_power(t, 5, 3600, "energy_charged_kwh");
    at_power(t, 20, 3600, "energy_charged_kwh"); /* 15 s = 3 x 5 s: integrated */
    at_power(t, 40, 3600, "energy_charged_kwh"); /* 20 s: a gap */
    at_power(t, 45, 3600, "energy_charged_kwh");
    at_power(t, 200, 3600, "energy_charged_kwh"); /* another gap */
    in = at_power(t, 205, 3600, "energy_charged_kwh");
    /* 5 + 15 + 5 + 5 s at 3600 W = 30 Wh */
    assert_true(fabs(in - 0.030) < 1e-12);
    log = testhost_log(t);
    first = strstr(log, "battery1: 20.0 s without a record (more than 3 x its interval)");
    assert_non_null(first);
    assert_null(strstr(strstr(first, "\n"), "without a record"));
    testhost_stop(t);
    assert_non_null(strstr(testhost_log(t), "2 gap(s) longer than 3 x"));
    testhost_close(t);
}

static char *read_state(void)
{
    static char buf[4096];
    char path[400];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "%s/energy.energy", state_dir);
    fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void totals_survive_stop_start_and_a_new_instance(void **state)
{
    struct testhost *t = open_energy("");
    double before, after;
    FILE *fp;
    char path[400];
    (void)state;

    for (int k = 0; k <= 10; k++)
        before = at_power(t, 5.0 * k, -720, "energy_discharged_kwh"); /* 50 s: 10 Wh */
    assert_true(fabs(before - 0.010) < 1e-12);
    /* a reload of a changed instance: stop() saves, start() loads */
    testhost_stop(t);
    assert_non_null(strstr(read_state(), "collectord-energy 1\nbattery1 0 0.01"));
    assert_int_equal(testhost_start(t), 0);
    after = at_power(t, 55, -720, "energy_discharged_kwh"); /* 5 s across the restart */
    assert_true(fabs(after - 0.011) < 1e-12);
    testhost_close(t);

    /* a new process: continues from the file; a long pause is a gap */
    t = open_energy("");
    after = at_power(t, 3600, -720, "energy_discharged_kwh");
    assert_true(after >= 0.011 && fabs(after - 0.011) < 1e-12);
    testhost_close(t);

    /* a damaged line: one warning naming file:line, that battery from 0 */
    snprintf(path, sizeof(path), "%s/energy.energy", state_dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("collectord-energy 1\nbattery1 x\n", fp);
    fclose(fp);
    t = open_energy("");
    assert_non_null(strstr(testhost_log(t), "energy.energy:2: unreadable line ignored"));
    assert_true(at_power(t, 4000, -720, "energy_discharged_kwh") == 0.0);
    testhost_close(t);

    /* nan, inf and absurd figures are refused on read, not stored again */
    {
        static const char *const bad[] = {
            "battery1 1e308 0 0 0 0 0 0\n", "battery1 0 0 0 inf 0 0 0\n",
            "battery1 0 0 0 0 nan 0 0\n",   "battery1 0 0 0 0 0 1e308 0\n",
            "battery1 0 0 0 0 0 0 1e300\n", "battery1 nan 0 0 0 0 0 0\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            fp = fopen(path, "w");
            assert_non_null(fp);
            fputs("collectord-energy 1\n", fp);
            fputs(bad[i], fp);
            fclose(fp);
            t = open_energy("");
            if (strstr(testhost_log(t), "energy.energy:2: unreadable line ignored") == NULL)
                fail_msg("accepted: %s", bad[i]);
            assert_true(at_power(t, 4000, -720, "energy_discharged_kwh") == 0.0);
            testhost_close(t);
        }
    }
}

static void daily_counters_reset_at_local_midnight(void **state)
{
    struct testhost *t = open_energy("daily = true;");
    /* T0 is 22:13:20 UTC; midnight is 6400 s later */
    double midnight = 6400, today, total;
    collector_record *r;
    (void)state;

    at_power(t, midnight - 10, 360, "energy_charged_kwh");
    today = at_power(t, midnight - 5, 360, "energy_charged_today_kwh");
    assert_true(fabs(today - 0.0005) < 1e-12);
    r = step(t, midnight + 2, 360, NAN, 0); /* across midnight: counts for the new day */
    today = metric(r, "energy_charged_today_kwh");
    total = metric(r, "energy_charged_kwh");
    record_free(r);
    assert_true(fabs(today - 0.0007) < 1e-12);
    assert_true(fabs(total - 0.0012) < 1e-12);
    testhost_close(t);
}

/* battery1's charged total in the state file, or -1 when there is none. */
static double saved_charged(void)
{
    const char *s = read_state();
    const char *line = s ? strstr(s, "\nbattery1 ") : NULL;
    double v = -1;

    if (line == NULL || sscanf(line, "\nbattery1 %lf", &v) != 1)
        return -1;
    return v;
}

/* The writer is a thread: wait (bounded) until the saved total is `want`. */
static int saved_becomes(double want, int tries)
{
    for (int i = 0; i < tries; i++) {
        if (fabs(saved_charged() - want) < 1e-12)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void writes_at_most_once_per_save_interval(void **state)
{
    struct testhost *t = open_energy("save_interval = 60;");
    (void)state;

    at_power(t, 0, 3600, "energy_charged_kwh"); /* the first record saves */
    assert_true(saved_becomes(0.0, 500));
    for (int k = 1; k <= 11; k++) /* up to 55 s: no write */
        at_power(t, 5.0 * k, 3600, "energy_charged_kwh");
    for (int i = 0; i < 30; i++) { /* a write would show within 300 ms */
        assert_true(saved_charged() == 0.0);
        usleep(10000);
    }
    at_power(t, 60, 3600, "energy_charged_kwh"); /* 60 Wh by now: the next write */
    assert_true(saved_becomes(0.060, 500));
    testhost_close(t);
}

static void time_to_full_and_to_empty(void **state)
{
    struct testhost *t = open_energy("window = 0; min_current = 1.0;");
    const struct collector_host_api *api = testhost_api(t);
    collector_record *r;
    int64_t s = 0;
    (void)state;

    /* 50 of 100 Ah, 10 A charging: 5 h to full; no time to empty */
    r = step(t, 0, 520, 10.0, 1);
    assert_int_equal(api->get_int(r, "time_to_full_s", &s), 0);
    assert_int_equal(s, 18000);
    assert_int_equal(api->get_int(r, "time_to_empty_s", &s), -ENOENT);
    record_free(r);
    /* 25 A discharging: 2 h to empty */
    r = step(t, 5, -1300, -25.0, 1);
    assert_int_equal(api->get_int(r, "time_to_empty_s", &s), 0);
    assert_int_equal(s, 7200);
    assert_int_equal(api->get_int(r, "time_to_full_s", &s), -ENOENT);
    record_free(r);
    /* 0.5 A: too small to say, both absent (not zero, not infinite) */
    r = step(t, 10, 26, 0.5, 1);
    assert_int_equal(api->get_int(r, "time_to_full_s", &s), -ENOENT);
    assert_int_equal(api->get_int(r, "time_to_empty_s", &s), -ENOENT);
    record_free(r);
    /* no capacity at all: absent, one warning */
    r = step(t, 15, 520, 10.0, 0);
    assert_int_equal(api->get_int(r, "time_to_full_s", &s), -ENOENT);
    record_free(r);
    assert_non_null(strstr(testhost_log(t), "no capacity or remaining charge"));
    testhost_close(t);

    /* smoothed: -10 A, then +10 A 5 s later with a 60 s time constant */
    t = open_energy("window = 60; capacity_ah = 200.0;");
    record_free(step(t, 0, -520, -10.0, 1));
    r = step(t, 5, 520, 10.0, 1);
    {
        double i = -10.0 + (1.0 - exp(-5.0 / 60.0)) * 20.0; /* still discharging */
        assert_int_equal(api->get_int(r, "time_to_empty_s", &s), 0);
        assert_int_equal(s, llround(50.0 / -i * 3600.0));
    }
    record_free(r);
    testhost_close(t);
}

static void settings_are_declared(void **state)
{
    struct testhost *t = NULL;
    (void)state;

    assert_int_equal(testhost_open("energy", "save_interval = 0.5;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "save_interval"));
    assert_int_equal(testhost_open("energy", "dayly = true;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "dayly"));
    /* --check: create() writes nothing */
    assert_int_equal(testhost_open_flags("energy", "energy", 0, "", TESTHOST_NO_START, &t), 0);
    testhost_close(t);
    assert_null(read_state());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(integrates_constant_power_and_splits_at_zero, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(gap_is_not_integrated_and_logged_once, setup, teardown),
        cmocka_unit_test_setup_teardown(totals_survive_stop_start_and_a_new_instance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(daily_counters_reset_at_local_midnight, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_at_most_once_per_save_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(time_to_full_and_to_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(settings_are_declared, setup, teardown),
    };
    return cmocka_run_group_tests_name("energy", tests, NULL, NULL);
}

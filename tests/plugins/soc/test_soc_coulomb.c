/* SPDX-License-Identifier: GPL-2.0-or-later */
/* soc_coulomb: a replayed current profile against a hand-computed integral,
 * re-sync at full, and state kept across a restart. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testhost.h"

#define T0 1700000000.0

static char state_dir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(state_dir, sizeof(state_dir), "%s/soc-coulomb-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(state_dir));
    setenv("COLLECTOR_STATE_DIR", state_dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(state_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    unsetenv("COLLECTOR_STATE_DIR");
    return 0;
}

/* Process one record at time T0 + t with current i (and cells at v if v > 0,
 * else a bms_soc of 50); returns battery_soc. */
static double step(struct testhost *t, double at, double i, double v)
{
    const struct collector_host_api *api = testhost_api(t);
    collector_record *rec = testhost_record_new(t);
    double cells[4] = {v, v, v, v}, soc = -1;

    api->set_time_ns(rec, (int64_t)((T0 + at) * 1e9));
    api->set_device(rec, "C8:47:8C:00:00:01");
    api->set_double(rec, "battery_current", i);
    if (v > 0)
        api->set_doubles(rec, "cells", cells, 4);
    else
        api->set_int(rec, "bms_soc", 50);
    assert_int_equal(testhost_process(t, rec), 0);
    api->get_double(rec, "battery_soc", &soc);
    testhost_record_free(rec);
    return soc;
}

static void integrates_a_current_profile(void **state)
{
    struct testhost *t;
    double soc = 0;
    (void)state;

    assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = 100.0;", &t), 0);
    /* starts at the BMS's 50 % (no cells in these records) */
    assert_true(step(t, 0, 20.0, 0) == 50.0);
    /* 20 A charging for 900 s = 5 Ah = 5 % of 100 Ah */
    for (int s = 1; s <= 900; s++)
        soc = step(t, s, 20.0, 0);
    assert_true(fabs(soc - 55.0) < 0.051);
    /* a ramp from 20 A down to -40 A over 600 s: trapezoids integrate it exactly,
     * (20 + -40) / 2 * 600 s = -6000 As = -1.667 Ah */
    for (int s = 1; s <= 600; s++)
        soc = step(t, 900 + s, 20.0 - 60.0 * s / 600.0, 0);
    assert_true(fabs(soc - (55.0 - 6000.0 / 3600.0)) < 0.051);
    /* 10 A discharging for 2 h: -20 Ah, clamped at the bottom long before */
    for (int s = 1; s <= 7200; s += 10)
        soc = step(t, 1500 + s, -40.0, 0);
    assert_true(soc == 0.0);
    testhost_close(t);
}

static void resyncs_to_full_and_keeps_state_across_restart(void **state)
{
    struct testhost *t;
    double soc = 0;
    FILE *fp;
    char path[400], line[256];
    (void)state;

    assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = 100.0; full_voltage = 3.45; "
                                                  "full_seconds = 60;", &t), 0);
    /* first seen at 3.30 V per cell: 50 % on the default curve */
    assert_true(step(t, 0, 1.0, 3.30) == 50.0);
    /* at 3.50 V while charging: after 60 s it is full */
    for (int s = 1; s <= 59; s++)
        soc = step(t, s, 1.0, 3.50);
    assert_true(soc < 51.0);
    soc = step(t, 60, 1.0, 3.50);
    assert_true(soc < 51.0); /* full_since began at t = 1 */
    soc = step(t, 61, 1.0, 3.50);
    assert_true(soc == 100.0);
    /* discharge 10 A for 360 s: 1 Ah */
    for (int s = 1; s <= 360; s++)
        soc = step(t, 61 + s, -10.0, 3.30);
    assert_true(fabs(soc - 99.0) < 0.051);
    testhost_close(t); /* saves */

    snprintf(path, sizeof(path), "%s/soc_coulomb.soc", state_dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    if (strncmp(line, "C8:47:8C:00:00:01 99.0", 22) != 0 && strncmp(line, "C8:47:8C:00:00:01 98.99", 23) != 0)
        fail_msg("state line: %s", line);

    /* a restart continues from 99 %, not from the voltage (3.30 V = 50 %) */
    assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = 100.0;", &t), 0);
    soc = step(t, 422, -10.0, 3.30);
    assert_true(fabs(soc - 99.0) < 0.051);
    testhost_close(t);

    /* a corrupt state file: a warning, and the battery starts from its voltage */
    fp = fopen(path, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = 100.0;", &t), 0);
    assert_non_null(strstr(testhost_log(t), "soc_coulomb.soc:1: unreadable line ignored"));
    assert_true(step(t, 500, 0.0, 3.30) == 50.0);
    testhost_close(t);

    /* nan and absurd figures are refused on read, one line each */
    {
        static const char *const bad[] = {
            "C8:47:8C:00:00:01 99.0 400 nan\n", "C8:47:8C:00:00:01 99.0 1e308 -10\n",
            "C8:47:8C:00:00:01 99.0 400 1e308\n", "C8:47:8C:00:00:01 nan 400 -10\n",
            "C8:47:8C:00:00:01 99.0 inf -10\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            fp = fopen(path, "w");
            fputs(bad[i], fp);
            fclose(fp);
            assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = 100.0;", &t), 0);
            if (strstr(testhost_log(t), "soc_coulomb.soc:1: unreadable line ignored") == NULL)
                fail_msg("accepted: %s", bad[i]);
            assert_true(step(t, 500, 0.0, 3.30) == 50.0); /* from the voltage */
            testhost_close(t);
        }
    }
}

static void capacity_from_the_record_or_a_warning(void **state)
{
    struct testhost *t;
    const struct collector_host_api *api;
    collector_record *rec;
    double soc;
    (void)state;

    assert_int_equal(testhost_open("soc_coulomb", "", &t), 0);
    api = testhost_api(t);
    rec = testhost_record_new(t);
    api->set_double(rec, "battery_current", 1.0);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(api->get_double(rec, "battery_soc", &soc), -ENOENT);
    testhost_record_free(rec);
    assert_non_null(strstr(testhost_log(t), "set capacity_ah"));
    rec = testhost_record_new(t);
    api->set_double(rec, "battery_current", 1.0);
    api->set_double(rec, "capacity_nominal_ah", 280.0);
    api->set_int(rec, "bms_soc", 77);
    assert_int_equal(testhost_process(t, rec), 0);
    assert_int_equal(api->get_double(rec, "battery_soc", &soc), 0);
    assert_true(soc == 77.0);
    testhost_record_free(rec);
    testhost_close(t);
    assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = -5;", &t), -EINVAL);
    assert_non_null(strstr(testhost_last_log(), "capacity_ah: too small: want at least 0.001 Ah"));
}

/* A symlink planted where the state goes (or where the seed put its
 * temporary file) never makes the daemon write through it: the victim file
 * stays as it was and the state file becomes a regular file of its own. */
static void planted_symlinks_are_never_followed(void **state)
{
    struct testhost *t;
    char victim[400], link1[400], link2[400], buf[64] = "";
    struct stat st;
    FILE *fp;
    (void)state;

    snprintf(victim, sizeof(victim), "%s/victim", state_dir);
    snprintf(link1, sizeof(link1), "%s/soc_coulomb.soc", state_dir);
    snprintf(link2, sizeof(link2), "%s/soc_coulomb.soc.tmp", state_dir);
    fp = fopen(victim, "w");
    assert_non_null(fp);
    fputs("precious\n", fp);
    fclose(fp);
    assert_int_equal(symlink(victim, link1), 0);
    assert_int_equal(symlink(victim, link2), 0);

    assert_int_equal(testhost_open("soc_coulomb", "capacity_ah = 100.0;", &t), 0);
    step(t, 0, 1.0, 3.30);
    step(t, 100, 1.0, 3.30); /* 100 s later: a save is due */
    testhost_close(t);        /* stop() writes the last state */

    fp = fopen(victim, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, "precious\n");
    assert_int_equal(lstat(link1, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 077, 0);
    assert_int_equal(lstat(link2, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* left alone: never opened */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(integrates_a_current_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(resyncs_to_full_and_keeps_state_across_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(capacity_from_the_record_or_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(planted_symlinks_are_never_followed, setup, teardown),
    };
    return cmocka_run_group_tests_name("soc_coulomb", tests, NULL, NULL);
}

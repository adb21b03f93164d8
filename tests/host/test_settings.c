/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Settings and the host API around them: typed getters, lists, file:line errors. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libconfig.h>

#include "core/expand.h"
#include "core/hostapi.h"
#include "core/settings.h"

static const char cfg_text[] = "sources = (\n"
                               "  { plugin = \"jk_replay\";\n"
                               "    file = \"demo.hex\";\n"
                               "    loop = true;\n"
                               "    big = 5000000000L;\n"
                               "    ratio = 0.25;\n"
                               "    count = 3;\n"
                               "    curve = ( (2.50, 0.0), (3.30, 50.0), (3.65, 100) );\n"
                               "  }\n"
                               ");\n";

struct fixture {
    config_t cfg;
    const collector_settings *group;
    char log[1024];
};

static int setup(void **state)
{
    static struct fixture f;
    FILE *fp;
    char path[] = "/tmp/test_settings-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    fputs(cfg_text, fp);
    fclose(fp);
    config_init(&f.cfg);
    assert_int_equal(config_read_file(&f.cfg, path), CONFIG_TRUE);
    unlink(path);
    f.group = settings_wrap(config_setting_get_elem(config_lookup(&f.cfg, "sources"), 0));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_destroy(&f->cfg);
    return 0;
}

static void typed_getters(void **state)
{
    struct fixture *f = *state;
    const struct collector_host_api *api = hostapi_table();
    const char *s = "untouched";
    int64_t i = -1;
    double d = -1;
    int b = -1;

    assert_int_equal(api->setting_string(f->group, "file", &s), 0);
    assert_string_equal(s, "demo.hex");
    assert_int_equal(api->setting_bool(f->group, "loop", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(api->setting_int(f->group, "big", &i), 0);
    assert_true(i == 5000000000LL);
    assert_int_equal(api->setting_double(f->group, "ratio", &d), 0);
    assert_true(d == 0.25);
    /* doubles accept integers, not the other way round */
    assert_int_equal(api->setting_double(f->group, "count", &d), 0);
    assert_true(d == 3.0);
    assert_int_equal(api->setting_int(f->group, "ratio", &i), -EINVAL);
    assert_int_equal(api->setting_bool(f->group, "count", &b), -EINVAL);
    /* absent: -ENOENT and out untouched */
    s = "untouched";
    assert_int_equal(api->setting_string(f->group, "nope", &s), -ENOENT);
    assert_string_equal(s, "untouched");
}

static void lists_and_elements(void **state)
{
    struct fixture *f = *state;
    const struct collector_host_api *api = hostapi_table();
    const collector_settings *curve, *point, *v;
    double d;

    assert_int_equal(api->setting_child(f->group, "curve", &curve), 0);
    assert_int_equal(api->setting_count(curve), 3);
    assert_int_equal(api->setting_element(curve, 2, &point), 0);
    assert_int_equal(api->setting_count(point), 2);
    assert_int_equal(api->setting_element(point, 1, &v), 0);
    assert_int_equal(api->setting_double(v, NULL, &d), 0); /* NULL key: the setting itself */
    assert_true(d == 100.0);
    assert_int_equal(api->setting_element(curve, 3, &point), -ENOENT);
    assert_int_equal(api->setting_count(v), 0); /* scalar */
    assert_int_equal(api->setting_child(v, "x", &point), -ENOENT);
}

static void capture(void *ctx, int level, const char *message)
{
    struct fixture *f = ctx;
    snprintf(f->log, sizeof(f->log), "%d %s", level, message);
}

static void setting_error_names_file_and_line(void **state)
{
    struct fixture *f = *state;
    const struct collector_host_api *api = hostapi_table();
    struct collector_host host;
    const collector_settings *curve, *point;

    assert_int_equal(host_init(&host, "battery1", 1000, "/tmp"), 0);
    host.log_hook = capture;
    host.log_ctx = f;
    api->setting_error(&host, f->group, "ratio", "must be at most %d", 1);
    assert_non_null(strstr(f->log, "test_settings-"));
    assert_non_null(strstr(f->log, ":6: battery1: ratio: must be at most 1"));
    assert_int_equal(f->log[0] - '0', COLLECTOR_LOG_ERROR);

    assert_int_equal(api->setting_child(f->group, "curve", &curve), 0);
    assert_int_equal(api->setting_element(curve, 1, &point), 0);
    api->setting_error(&host, point, NULL, "voltages must increase");
    assert_non_null(strstr(f->log, ":8: battery1: voltages must increase"));
    host_fini(&host);
}

static void stop_fd_becomes_readable(void **state)
{
    const struct collector_host_api *api = hostapi_table();
    struct collector_host host;
    char byte;
    (void)state;

    assert_int_equal(host_init(&host, "x", 0, "/tmp"), 0);
    assert_int_equal(api->is_stopping(&host), 0);
    assert_int_equal(read(api->stop_fd(&host), &byte, 1), -1); /* nonblocking, empty */
    host_request_stop(&host);
    host_request_stop(&host); /* idempotent */
    assert_int_equal(api->is_stopping(&host), 1);
    assert_int_equal(read(api->stop_fd(&host), &byte, 1), 1);
    assert_string_equal(api->instance_name(&host), "x");
    assert_string_equal(api->state_dir(&host), "/tmp");
    assert_true(api->time_ns(&host, COLLECTOR_CLOCK_REALTIME) > 1600000000LL * 1000000000LL);
    host_fini(&host);
    host_fini(&host);
}

static void emit_without_pipeline_frees(void **state)
{
    const struct collector_host_api *api = hostapi_table();
    struct collector_host host;
    collector_record *rec;
    (void)state;

    assert_int_equal(host_init(&host, "x", 0, "/tmp"), 0);
    assert_int_equal(api->record_new(&host, &rec), 0);
    assert_string_equal(api->record_source(rec), "x");
    /* no emit hook: the record is taken and freed (ASan would see a leak) */
    assert_int_equal(api->emit(&host, rec), -ENOTSUP);
    host_fini(&host);
}

/* ${A:-${B}} takes the nested default, as the shell does (it kept the
 * literal "${B" plus a stray "}" before). */
static void nested_default_expands(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *out; /* the text, or the name in `missing` for -ENOENT */
    } cases[] = {
        {"${COLLECTOR_TEST_NOPE:-${COLLECTOR_TEST_B}}", 1, "bee"},
        {"x${COLLECTOR_TEST_NOPE:-a${COLLECTOR_TEST_NOPE:-b}c}y", 1, "xabcy"},
        {"${COLLECTOR_TEST_B:-${COLLECTOR_TEST_NOPE}}", 1, "bee"}, /* default not looked at */
        {"${COLLECTOR_TEST_NOPE:-${COLLECTOR_TEST_NOPE}}", -ENOENT, "COLLECTOR_TEST_NOPE"},
        {"${COLLECTOR_TEST_NOPE:-${B", -EINVAL, NULL},
    };
    char out[256], missing[64];
    (void)state;

    unsetenv("COLLECTOR_TEST_NOPE");
    setenv("COLLECTOR_TEST_B", "bee", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = expand_env(cases[i].in, out, sizeof(out), missing, sizeof(missing));
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].out != NULL)
            assert_string_equal(rc == -ENOENT ? missing : out, cases[i].out);
    }
    unsetenv("COLLECTOR_TEST_B");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_getters),
        cmocka_unit_test(lists_and_elements),
        cmocka_unit_test(setting_error_names_file_and_line),
        cmocka_unit_test(stop_fd_becomes_readable),
        cmocka_unit_test(emit_without_pipeline_frees),
        cmocka_unit_test(nested_default_expands),
    };
    return cmocka_run_group_tests_name("settings", tests, setup, teardown);
}

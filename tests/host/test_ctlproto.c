/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's request parser (core/ctlproto.c): the two requests it
 * takes, every refusal as one line, and the durations of --for. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ctlproto.h"

static int parse(const char *line, struct ctl_request *req, char *err, size_t size)
{
    err[0] = '\0';
    return ctl_parse_request(line, strlen(line), req, err, size);
}

static void takes_status_and_set(void **state)
{
    struct ctl_request r;
    char err[256];
    (void)state;

    assert_int_equal(parse("{\"battery\":\"battery1\"}", &r, err, sizeof(err)), 0);
    assert_string_equal(r.battery, "battery1");
    assert_string_equal(r.sw, "");
    assert_int_equal(parse("{\"battery\":\"b-1.x\",\"switch\":\"charge\",\"value\":\"off\","
                           "\"for\":\"1h30m\",\"force\":true}\n",
                           &r, err, sizeof(err)),
                     0);
    assert_string_equal(r.battery, "b-1.x");
    assert_string_equal(r.sw, "charge");
    assert_string_equal(r.value, "off");
    assert_int_equal(r.duration_ms, 5400000);
    assert_int_equal(r.force, 1);
}

static void refuses_in_one_line(void **state)
{
    static const struct {
        const char *line, *why;
    } bad[] = {
        {"", "want one JSON object per line"},
        {"[1]", "want one JSON object per line (not an object)"},
        {"{\"battery\":\"b1\"} {}", "want one JSON object per line"},
        {"{}", "battery: missing"},
        {"{\"battery\":\"b/1\"}", "battery: want an instance name"},
        {"{\"battery\":1}", "battery: want an instance name"},
        {"{\"battery\":\"b1\",\"battery\":\"b2\"}", "want one JSON object per line"},
        {"{\"battery\":\"b1\",\"switch\":\"charge\"}", "switch and value go together"},
        {"{\"battery\":\"b1\",\"switch\":\"Charge\",\"value\":\"on\"}", "switch: want a command name"},
        {"{\"battery\":\"b1\",\"switch\":\"charge\",\"value\":\"ON\"}", "value: want \"on\" or \"off\""},
        {"{\"battery\":\"b1\",\"for\":\"30min\"}", "for and force need a switch and a value"},
        {"{\"battery\":\"b1\",\"switch\":\"charge\",\"value\":\"on\",\"for\":\"soon\"}",
         "for: want a duration"},
        {"{\"battery\":\"b1\",\"switch\":\"charge\",\"value\":\"on\",\"force\":1}",
         "force: want true or false"},
        {"{\"battery\":\"b1\",\"colour\":\"red\"}", "unknown key"},
        /* jansson quotes the token it stopped at: a raw newline in it (found by
         * fuzz/ctl_request) must not split the answer */
        {"{\"ba\\\n\\\\tery\":\"x\"}", "want one JSON object per line"},
        {"{\"b\x01\x7f\x1b[2J", "want one JSON object per line"},
    };
    struct ctl_request r;
    char err[256], big[CTL_LINE_MAX + 10];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i].line, &r, err, sizeof(err)) != -EINVAL ||
            strstr(err, bad[i].why) == NULL || strpbrk(err, "\n\r\x01\x1b\x7f") != NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].line, err, bad[i].why);
    }
    memset(big, ' ', sizeof(big));
    assert_int_equal(ctl_parse_request(big, sizeof(big), &r, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "request longer than"));
}

static void durations(void **state)
{
    static const struct {
        const char *s;
        int64_t ms; /* -1: refused */
    } d[] = {
        {"45", 45000},  {"90s", 90000},   {"30min", 1800000}, {"30m", 1800000},
        {"2h", 7200000}, {"1h30m", 5400000}, {"500ms", 500},  {"7d", 604800000},
        {"8d", -1},     {"0", -1},        {"", -1},           {"-5s", -1},
        {"5x", -1},     {"1h30", -1},     {"s", -1},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        int64_t ms = 0;
        int rc = ctl_parse_duration(d[i].s, &ms);
        if (d[i].ms < 0 ? rc != -EINVAL : rc != 0 || ms != d[i].ms)
            fail_msg("\"%s\": rc %d, %lld ms", d[i].s, rc, (long long)ms);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(takes_status_and_set),
        cmocka_unit_test(refuses_in_one_line),
        cmocka_unit_test(durations),
    };
    return cmocka_run_group_tests_name("ctlproto", tests, NULL, NULL);
}

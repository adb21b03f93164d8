/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_serial loaded as collectord loads it: settings, nothing opened before
 * a poll or start(), and a missing device reported once per outage. The
 * bus itself is exercised over a pty pair by jk_serial_e2e.py. */
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

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void a_device_is_required(void **state)
{
    struct testhost *t = NULL;
    (void)state;
    assert_int_not_equal(testhost_open("jk_serial", "slave = 2;", &t), 0);
    assert_null(t);
    assert_non_null(strstr(testhost_last_log(), "device"));
}

static void bad_settings_name_the_key(void **state)
{
    static const struct {
        const char *text, *key;
    } cases[] = {
        {"device = \"/dev/ttyUSB0\"; protocol = \"rtu\";", "protocol"},
        {"device = \"/dev/ttyUSB0\"; slave = 0; bus_mode = \"master\";", "slave"},
        {"device = \"/dev/ttyUSB0\"; slave = 0; protocol = \"uart\";", "slave"},
        {"device = \"/dev/ttyUSB0\"; request = \"fc03\";", "request"},
        {"device = \"/dev/ttyUSB0\"; bus_mode = \"slave\";", "bus_mode"},
        {"device = \"/dev/ttyUSB0\"; max_registers = 126;", "max_registers"},
        {"device = \"/dev/ttyUSB0\"; gap = 3.0;", "gap"},
        {"device = \"/dev/ttyUSB0\"; slave = 16;", "slave"},
        {"device = \"/dev/ttyUSB0\"; baudrate = 12345;", "baudrate"},
        {"device = \"/dev/ttyUSB0\"; timeout = 0.0;", "timeout"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct testhost *t = NULL;
        assert_int_not_equal(testhost_open("jk_serial", cases[i].text, &t), 0);
        if (strstr(testhost_last_log(), cases[i].key) == NULL)
            fail_msg("%s: the error does not name %s: %s", cases[i].text, cases[i].key,
                     testhost_last_log());
    }
}

/* create() only validates (it runs for --check): a device that is not
 * there is no error yet, and nothing is logged. start() tries it once: an
 * adapter unplugged at boot is one line, not a failed start; poll() opens it
 * when it comes. */
static void create_opens_nothing_and_start_tolerates_a_missing_device(void **state)
{
    struct testhost *t;
    (void)state;
    assert_int_equal(testhost_open_flags("jk_serial", "jk_serial", 1000,
                                         "device = \"/nonexistent/ttyJK\"; protocol = \"uart\";",
                                         TESTHOST_NO_START, &t),
                     0);
    assert_string_equal(testhost_log(t), "");
    assert_int_equal(testhost_start(t), 0);
    assert_int_equal(count(testhost_log(t), "ERROR"), 1);
    assert_int_equal(testhost_poll(t), -ENOENT);
    assert_int_equal(count(testhost_log(t), "ERROR"), 1); /* the same outage */
    testhost_close(t);
}

static void a_missing_device_is_one_line_per_outage(void **state)
{
    struct testhost *t;
    (void)state;
    assert_int_equal(testhost_open("jk_serial", "device = \"/nonexistent/ttyJK\"; slave = 3;", &t),
                     0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(testhost_poll(t), -ENOENT);
    assert_int_equal(testhost_record_count(t), 0);
    assert_int_equal(count(testhost_log(t), "ERROR"), 1);
    assert_non_null(strstr(testhost_log(t), "/nonexistent/ttyJK: no such device"));
    testhost_close(t);
}

/* Not a serial port will not fix itself: start() fails, saying so. */
static void not_a_serial_port_fails_the_start(void **state)
{
    struct testhost *t = NULL;
    (void)state;
    assert_int_equal(testhost_open("jk_serial", "device = \"/dev/null\"; protocol = \"uart\";", &t),
                     -ENOTTY);
    assert_null(t);
    assert_non_null(strstr(testhost_last_log(), "/dev/null: not a serial port"));
    assert_int_equal(
        testhost_open("jk_serial", "device = \"/dev/null\"; protocol = \"modbus\";", &t), -ENOTTY);
    assert_non_null(strstr(testhost_last_log(), "/dev/null: not a serial port"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_device_is_required),
        cmocka_unit_test(bad_settings_name_the_key),
        cmocka_unit_test(create_opens_nothing_and_start_tolerates_a_missing_device),
        cmocka_unit_test(a_missing_device_is_one_line_per_outage),
        cmocka_unit_test(not_a_serial_port_fails_the_start),
    };
    return cmocka_run_group_tests_name("jk_serial", tests, NULL, NULL);
}

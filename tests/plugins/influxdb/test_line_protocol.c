/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plugins/influxdb/line_protocol: exact lines, escaping per the line
 * protocol reference, numbers that read back exactly, time precision. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/influxdb/line_protocol.h"

static void a_point_with_every_kind_of_field(void **state)
{
    struct lp_buf b = {0};
    struct lp_tag tags[] = {
        {"model", "JK_PB2A16S15P"}, {"battery", "battery1"}, {"address", "C8:47:8C:00:00:01"}};
    (void)state;

    lp_begin(&b, "battery", tags, 3);
    lp_field_double(&b, "battery_voltage", 51.689);
    lp_field_int(&b, "bms_soc", 52);
    lp_field_int(&b, "errors_bitmask", -1);
    lp_field_bool(&b, "balancing", 0);
    lp_field_bool(&b, "charging_enabled", 1);
    lp_field_string(&b, "protocol", "JK02_32S");
    assert_int_equal(lp_end(&b, 1700000000123), 0);
    /* tags sorted by key, fields in the order given */
    assert_string_equal(b.data, "battery,address=C8:47:8C:00:00:01,battery=battery1,"
                                "model=JK_PB2A16S15P battery_voltage=51.689,bms_soc=52i,"
                                "errors_bitmask=-1i,balancing=false,charging_enabled=true,"
                                "protocol=\"JK02_32S\" 1700000000123\n");
    lp_buf_free(&b);
}

static void escaping_per_element(void **state)
{
    struct lp_buf b = {0};
    struct lp_tag tags[] = {{"si te", "my house,=2"}, {"k=ey", "a b"}};
    (void)state;

    lp_begin(&b, "bat tery,x=y", tags, 2);
    lp_field_string(&b, "no te,=", "say \"hi\" \\o/");
    assert_int_equal(lp_end(&b, 1), 0);
    /* measurement: comma and space (not =); keys and tag values: comma,
     * equals, space; string values: quote and backslash */
    assert_string_equal(b.data, "bat\\ tery\\,x=y,k\\=ey=a\\ b,si\\ te=my\\ house\\,\\=2 "
                                "no\\ te\\,\\==\"say \\\"hi\\\" \\\\o/\" 1\n");
    lp_buf_free(&b);
}

static void backslashes_in_names_never_eat_a_separator(void **state)
{
    struct lp_buf b = {0};
    struct lp_tag tags[] = {{"a", "ends\\"}, {"b", "x\\,y"}, {"c", "C:\\\\dir"}, {"d", "\\q"}};
    (void)state;

    lp_begin(&b, "m\\", tags, 4);
    lp_field_int(&b, "f", 1);
    assert_int_equal(lp_end(&b, 2), 0);
    /* an odd run of backslashes before a separator or a special character
     * gets one more; even runs and backslashes before ordinary characters
     * stay as they are */
    assert_string_equal(b.data, "m\\\\,a=ends\\\\,b=x\\\\\\,y,c=C:\\\\dir,d=\\q f=1i 2\n");
    lp_buf_free(&b);
}

static void newlines_cannot_be_said_so_they_become_spaces(void **state)
{
    struct lp_buf b = {0};
    struct lp_tag tags[] = {{"t", "a\nb"}};
    (void)state;

    lp_begin(&b, "m\r", tags, 1);
    lp_field_string(&b, "s", "line1\nline2");
    assert_int_equal(lp_end(&b, 3), 0);
    assert_string_equal(b.data, "m\\ ,t=a\\ b s=\"line1 line2\" 3\n");
    assert_null(memchr(b.data, '\n', b.len - 1));
    lp_buf_free(&b);
}

static void empty_tags_are_left_out_and_a_point_needs_a_field(void **state)
{
    struct lp_buf b = {0};
    struct lp_tag tags[] = {{"address", ""}, {"battery", "b1"}, {"model", NULL}, {"", "x"}};
    (void)state;

    lp_begin(&b, "battery", tags, 4);
    lp_field_double(&b, "nan", NAN);
    lp_field_double(&b, "inf", INFINITY);
    assert_int_equal(lp_end(&b, 4), -ENODATA); /* only non-finite numbers: no point */
    assert_int_equal(b.len, 0);
    lp_begin(&b, "battery", tags, 4);
    lp_field_double(&b, "v", 1.0);
    lp_field_double(&b, "nan", NAN);
    assert_int_equal(lp_end(&b, 4), 0);
    assert_string_equal(b.data, "battery,battery=b1 v=1 4\n");
    /* a second point appends */
    lp_begin(&b, "battery", tags, 4);
    lp_field_double(&b, "v", -0.5);
    assert_int_equal(lp_end(&b, 5), 0);
    assert_string_equal(b.data, "battery,battery=b1 v=1 4\nbattery,battery=b1 v=-0.5 5\n");
    lp_buf_free(&b);
}

static void doubles_read_back_exactly(void **state)
{
    const double values[] = {51.689, 3.246, 0.1, 1.0 / 3.0, 1e300, -2.5e-300, 123456789.125, 0.0};
    char out[40];
    (void)state;

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        lp_format_double(values[i], out, sizeof(out));
        assert_true(strtod(out, NULL) == values[i]);
    }
    lp_format_double(51.689, out, sizeof(out));
    assert_string_equal(out, "51.689"); /* the shortest, not 51.689000000000000 */
    lp_format_double(1.0 / 3.0, out, sizeof(out));
    assert_string_equal(out, "0.3333333333333333");
}

static void time_in_each_precision(void **state)
{
    int64_t t = 0;
    (void)state;

    assert_int_equal(lp_scale_time(1700000000123456789, "ns", &t), 0);
    assert_true(t == 1700000000123456789);
    assert_int_equal(lp_scale_time(1700000000123456789, "us", &t), 0);
    assert_true(t == 1700000000123456);
    assert_int_equal(lp_scale_time(1700000000123456789, "ms", &t), 0);
    assert_true(t == 1700000000123);
    assert_int_equal(lp_scale_time(1700000000999999999, "s", &t), 0);
    assert_true(t == 1700000000);
    assert_int_equal(lp_scale_time(-1, "s", &t), 0); /* rounded down, not toward zero */
    assert_true(t == -1);
    t = 42;
    assert_int_equal(lp_scale_time(1, "m", &t), -EINVAL);
    assert_true(t == 42);
}

static void url_query_values_are_percent_encoded(void **state)
{
    struct lp_buf b = {0};
    (void)state;

    lp_url_escape(&b, "my db&rp=x/y~z.-_");
    assert_string_equal(b.data, "my%20db%26rp%3Dx%2Fy~z.-_");
    lp_buf_reset(&b);
    lp_url_escape(&b, "\xc3\xa9");
    assert_string_equal(b.data, "%C3%A9");
    lp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_point_with_every_kind_of_field),
        cmocka_unit_test(escaping_per_element),
        cmocka_unit_test(backslashes_in_names_never_eat_a_separator),
        cmocka_unit_test(newlines_cannot_be_said_so_they_become_spaces),
        cmocka_unit_test(empty_tags_are_left_out_and_a_point_needs_a_field),
        cmocka_unit_test(doubles_read_back_exactly),
        cmocka_unit_test(time_in_each_precision),
        cmocka_unit_test(url_query_values_are_percent_encoded),
    };
    return cmocka_run_group_tests_name("line_protocol", tests, NULL, NULL);
}

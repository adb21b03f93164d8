/* libble's pure parts: HCI LE advertising reports as a controller sends
 * them, AD structures, and ATT PDUs. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/libble/adv.h"
#include "plugins/libble/att.h"

/* LE Advertising Report event with two reports: an ADV_IND from
 * C8:47:8C:12:34:56 listing service FFE0, and a SCAN_RSP from
 * 20:21:11:AA:BB:CC carrying the complete name "JK_B2A8S20P". */
static const uint8_t two_reports[] = {
    0x3E, 0x2A, 0x02, 0x02,
    /* report 1 */
    0x00, 0x00, 0x56, 0x34, 0x12, 0x8C, 0x47, 0xC8, 0x07, 0x02, 0x01, 0x06, 0x03, 0x03, 0xE0, 0xFF, 0xC4,
    /* report 2 */
    0x04, 0x01, 0xCC, 0xBB, 0xAA, 0x11, 0x21, 0x20, 0x0D, 0x0C, 0x09, 'J', 'K', '_', 'B', '2', 'A', '8', 'S', '2', '0', 'P', 0xB5,
};

static void several_reports_in_one_event(void **state)
{
    struct adv_report r[ADV_MAX_REPORTS];
    char name[32] = "";
    int ffe0 = 0;
    (void)state;

    assert_int_equal(adv_parse_event(two_reports, sizeof(two_reports), r, ADV_MAX_REPORTS), 2);
    assert_string_equal(r[0].address, "C8:47:8C:12:34:56");
    assert_int_equal(r[0].rssi, -60);
    assert_int_equal(adv_parse_data(r[0].data, r[0].data_len, name, sizeof(name), &ffe0), 0);
    assert_int_equal(ffe0, 1);
    assert_string_equal(name, "");
    assert_true(adv_is_jk(name, ffe0)); /* renamed, but it offers FFE0 */
    assert_string_equal(r[1].address, "20:21:11:AA:BB:CC");
    assert_int_equal(r[1].event_type, 4); /* scan response */
    assert_int_equal(r[1].address_type, 1);
    ffe0 = 0;
    assert_int_equal(adv_parse_data(r[1].data, r[1].data_len, name, sizeof(name), &ffe0), 0);
    assert_string_equal(name, "JK_B2A8S20P");
    assert_true(adv_is_jk(name, ffe0));
    assert_false(adv_is_jk("Flower care", 0));
}

static void every_truncation_is_refused_not_overread(void **state)
{
    struct adv_report r[ADV_MAX_REPORTS];
    (void)state;
    for (size_t n = 0; n < sizeof(two_reports); n++) {
        int rc = adv_parse_event(two_reports, n, r, ADV_MAX_REPORTS);
        if (rc != -EBADMSG)
            fail_msg("%zu bytes: %d", n, rc);
    }
    /* a parameter length larger than what arrived */
    {
        uint8_t bad[sizeof(two_reports)];
        memcpy(bad, two_reports, sizeof(bad));
        bad[1] = 0xFF;
        assert_int_equal(adv_parse_event(bad, sizeof(bad), r, ADV_MAX_REPORTS), -EBADMSG);
    }
}

static void short_name_kept_until_a_complete_one(void **state)
{
    /* flags, shortened name "JK-B", then in another AD structure the complete name */
    static const uint8_t data[] = {0x02, 0x01, 0x06, 0x05, 0x08, 'J', 'K', '-', 'B',
                                   0x0A, 0x09, 'J', 'K', '-', 'B', '2', 'A', '2', '4', 'S'};
    static const uint8_t overrun[] = {0x02, 0x01, 0x06, 0x09, 0x09, 'J', 'K'};
    char name[32] = "";
    int ffe0 = 0;
    (void)state;
    assert_int_equal(adv_parse_data(data, 9, name, sizeof(name), &ffe0), 0);
    assert_string_equal(name, "JK-B");
    assert_int_equal(adv_parse_data(data, sizeof(data), name, sizeof(name), &ffe0), 0);
    assert_string_equal(name, "JK-B2A24S");
    assert_int_equal(adv_parse_data(overrun, sizeof(overrun), name, sizeof(name), &ffe0), -EBADMSG);
}

static void extended_report(void **state)
{
    /* LE Extended Advertising Report, one legacy-PDU report named "JK_X" */
    static const uint8_t ev[] = {
        0x3E, 0x20, 0x0D, 0x01, 0x13, 0x00, 0x00, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        0x01, 0x00, 0xFF, 0x7F, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x06, 0x05, 0x09, 'J', 'K', '_', 'X'};
    struct adv_report r[2];
    char name[16] = "";
    int ffe0 = 0;
    (void)state;
    assert_int_equal(adv_parse_event(ev, sizeof(ev), r, 2), 1);
    assert_string_equal(r[0].address, "01:02:03:04:05:06");
    assert_int_equal(r[0].rssi, -80);
    adv_parse_data(r[0].data, r[0].data_len, name, sizeof(name), &ffe0);
    assert_string_equal(name, "JK_X");
}

static void att_discovery_responses(void **state)
{
    /* Read By Type response: two characteristic declarations (FFE1 write-only
     * at 0x0003, FFE1 notify at 0x0005, the second as a 128-bit UUID) */
    static const uint8_t rbt16[] = {0x09, 0x07, 0x02, 0x00, 0x0C, 0x03, 0x00, 0xE1, 0xFF,
                                    0x04, 0x00, 0x12, 0x05, 0x00, 0xE1, 0xFF};
    static const uint8_t rbt128[] = {0x09, 0x15, 0x04, 0x00, 0x12, 0x05, 0x00,
                                     0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00, 0x00, 0x80,
                                     0x00, 0x10, 0x00, 0x00, 0xE1, 0xFF, 0x00, 0x00};
    static const uint8_t info[] = {0x05, 0x01, 0x05, 0x00, 0xE1, 0xFF, 0x06, 0x00, 0x02, 0x29};
    struct att_pdu p;
    (void)state;

    assert_int_equal(att_parse(rbt16, sizeof(rbt16), &p), 0);
    assert_int_equal(p.nitems, 2);
    assert_int_equal(p.item[1].b, 0x0005);
    assert_int_equal(p.item[1].props, 0x12);
    assert_int_equal(p.item[1].uuid16, 0xFFE1);
    assert_int_equal(att_parse(rbt128, sizeof(rbt128), &p), 0);
    assert_int_equal(p.item[0].uuid16, 0xFFE1);
    assert_int_equal(att_parse(info, sizeof(info), &p), 0);
    assert_int_equal(p.item[1].a, 6);
    assert_int_equal(p.item[1].uuid16, 0x2902);
    /* every truncation of them is refused */
    for (size_t n = 1; n < sizeof(rbt16); n++)
        if (n != 9 && att_parse(rbt16, n, &p) == 0 && p.nitems != 1)
            fail_msg("truncated at %zu accepted with %zu items", n, p.nitems);
    assert_int_equal(att_parse(rbt16, 5, &p), -EBADMSG);
    assert_int_equal(att_parse(info, 3, &p), -EBADMSG);
    {
        static const uint8_t bad_len[] = {0x09, 0x03, 0x01, 0x02, 0x03};
        assert_int_equal(att_parse(bad_len, sizeof(bad_len), &p), -EBADMSG);
    }
}

static void att_builders(void **state)
{
    uint8_t b[32];
    static const uint8_t v[2] = {1, 0};
    (void)state;
    assert_int_equal(att_build_find_by_type_req(b, sizeof(b), 1, 0xffff, 0x2800, 0xFFE0), 9);
    assert_int_equal(b[0], 0x06);
    assert_int_equal(b[7], 0xE0);
    assert_int_equal(b[8], 0xFF);
    assert_int_equal(att_build_write(b, sizeof(b), ATT_OP_WRITE_REQ, 0x0013, v, 2), 5);
    assert_memory_equal(b, ((const uint8_t[]){0x12, 0x13, 0x00, 0x01, 0x00}), 5);
    assert_int_equal(att_build_write(b, 4, ATT_OP_WRITE_CMD, 1, v, 2), -ENOSPC);
    assert_int_equal(att_build_mtu_req(b, 2, 247), -ENOSPC);
    assert_true(att_is_request(ATT_OP_MTU_REQ));
    assert_false(att_is_request(ATT_OP_NOTIFICATION));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(several_reports_in_one_event),
        cmocka_unit_test(every_truncation_is_refused_not_overread),
        cmocka_unit_test(short_name_kept_until_a_complete_one),
        cmocka_unit_test(extended_report),
        cmocka_unit_test(att_discovery_responses),
        cmocka_unit_test(att_builders),
    };
    return cmocka_run_group_tests_name("libble", tests, NULL, NULL);
}

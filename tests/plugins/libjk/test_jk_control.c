/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The switch frames byte for byte against every frame of the facts sheet
 * (docs/control.md, "Devices"; from jk-control.md, which rebuilt them from
 * esphome-jk-bms's write-command test and published Modbus captures), so a
 * frame with a wrong checksum or register is never sent; the
 * acknowledgement; where the settings and cell-info frames carry the state. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/libjk/jk_capture.h"
#include "plugins/libjk/jk_control.h"
#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"

/* Hex with any spaces -> bytes; returns the count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;

    for (const char *p = hex; *p != '\0'; p++) {
        int v;
        if (*p == ' ')
            continue;
        v = (*p >= '0' && *p <= '9') ? *p - '0' : (*p | 0x20) - 'a' + 10;
        assert_true(v >= 0 && v < 16);
        if (hi < 0) {
            hi = v;
            continue;
        }
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    assert_int_equal(hi, -1);
    return n;
}

static void assert_frame(const uint8_t *got, size_t len, const char *want_hex)
{
    uint8_t want[64];
    size_t n = unhex(want_hex, want, sizeof(want));

    assert_int_equal(n, len);
    if (memcmp(got, want, n) != 0) {
        char line[200] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(line + 2 * i, sizeof(line) - 2 * i, "%02X", got[i]);
        fail_msg("built %s, want %s", line, want_hex);
    }
}

/* The BLE table of jk-control.md section 1 (both JK02 variants). */
static const struct {
    int sw;
    const char *on, *off;
} ble_frames[] = {
    {JK_SWITCH_CHARGE, "AA5590EB 1D 04 01000000 000000000000000000 9C",
     "AA5590EB 1D 04 00000000 000000000000000000 9B"},
    {JK_SWITCH_DISCHARGE, "AA5590EB 1E 04 01000000 000000000000000000 9D",
     "AA5590EB 1E 04 00000000 000000000000000000 9C"},
    {JK_SWITCH_BALANCER, "AA5590EB 1F 04 01000000 000000000000000000 9E",
     "AA5590EB 1F 04 00000000 000000000000000000 9D"},
};

static void ble_switch_frames_are_exact(void **state)
{
    static const int variants[] = {JK_PROTO_JK02_24S, JK_PROTO_JK02_32S};
    uint8_t f[JK_CMD_LEN];
    (void)state;

    for (size_t v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof(ble_frames) / sizeof(ble_frames[0]); i++) {
            assert_int_equal(jk_build_switch_frame(variants[v], ble_frames[i].sw, 1, f), 0);
            assert_frame(f, sizeof(f), ble_frames[i].on);
            assert_int_equal(jk_build_switch_frame(variants[v], ble_frames[i].sw, 0, f), 0);
            assert_frame(f, sizeof(f), ble_frames[i].off);
        }
    }
    /* JK04: the balancer only, register 0x6C, length 1 (section 2) */
    assert_int_equal(jk_build_switch_frame(JK_PROTO_JK04, JK_SWITCH_BALANCER, 1, f), 0);
    assert_frame(f, sizeof(f), "AA5590EB 6C 01 01000000 000000000000000000 E8");
    assert_int_equal(jk_build_switch_frame(JK_PROTO_JK04, JK_SWITCH_BALANCER, 0, f), 0);
    assert_frame(f, sizeof(f), "AA5590EB 6C 01 00000000 000000000000000000 E7");
    assert_int_equal(jk_build_switch_frame(JK_PROTO_JK04, JK_SWITCH_CHARGE, 0, f), -EOPNOTSUPP);
    assert_int_equal(jk_build_switch_frame(JK_PROTO_JK04, JK_SWITCH_DISCHARGE, 1, f),
                     -EOPNOTSUPP);
    /* an undecided variant is never guessed */
    assert_int_equal(jk_build_switch_frame(JK_PROTO_AUTO, JK_SWITCH_CHARGE, 0, f), -EINVAL);
    assert_int_equal(jk_build_switch_frame(JK_PROTO_UART, JK_SWITCH_CHARGE, 0, f), -EINVAL);
    assert_int_equal(jk_build_switch_frame(JK_PROTO_JK02_32S, 3, 0, f), -EINVAL);
}

/* The other registers of the facts sheet (heating, float, emergency, and the
 * ones esphome's test covers with the same formula): the one builder under
 * every switch frame gets every checksum right. */
static void register_writes_match_the_sheet(void **state)
{
    static const struct {
        uint8_t reg;
        uint8_t on_sum, off_sum;
    } rows[] = {{0x27, 0xA6, 0xA5}, {0x30, 0xAF, 0xAE}, {0x6B, 0xEA, 0xE9}, {0x31, 0xB0, 0xAF}};
    uint8_t f[JK_CMD_LEN];
    (void)state;

    jk_build_register_write(0x27, 4, 1, f);
    assert_frame(f, sizeof(f), "AA5590EB 27 04 01000000 000000000000000000 A6");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        jk_build_register_write(rows[i].reg, 4, 1, f);
        assert_int_equal(f[19], rows[i].on_sum);
        jk_build_register_write(rows[i].reg, 4, 0, f);
        assert_int_equal(f[19], rows[i].off_sum);
    }
    /* the formula: (0x27A + register + length + value bytes) mod 256 */
    jk_build_register_write(0xB5, 4, 0x01020304, f);
    assert_int_equal(f[19], (0x27A + 0xB5 + 4 + 1 + 2 + 3 + 4) & 0xFF);
    assert_int_equal(f[6], 0x04);
    assert_int_equal(f[9], 0x01);
}

static void ack_is_recognised_also_behind_at(void **state)
{
    static const uint8_t at[] = {'A', 'T', '\r', '\n'};
    uint8_t ack[JK_ACK_LEN], buf[64];
    struct jk_assembler a;
    (void)state;

    unhex("AA5590EB C8 01 01 000000000000000000000000 44", ack, sizeof(ack));
    assert_true(jk_is_ack(ack, sizeof(ack)));
    assert_false(jk_is_ack(ack, sizeof(ack) - 1)); /* cut short */
    ack[19] ^= 1;
    assert_false(jk_is_ack(ack, sizeof(ack))); /* wrong sum8 */
    ack[19] ^= 1;

    /* fw 15.41 as captured (syssi/esphome-jk-bms @2fa4323, docs/btsnoops/
     * heating-start-stop-setting/btsnoop_hci-commands.txt): the ack, then
     * "AT\r\n", in one notification */
    jk_assembler_init(&a);
    assert_int_equal(unhex("aa5590ebc80101000000000000000000000000 44 41540d0a", buf,
                           sizeof(buf)),
                     24);
    jk_assembler_feed(&a, buf, 24, NULL, NULL);
    assert_int_equal(a.acks, 1);
    /* "AT\r\n" in front of it */
    jk_assembler_init(&a);
    memcpy(buf, at, 4);
    memcpy(buf + 4, ack, sizeof(ack));
    jk_assembler_feed(&a, buf, 24, NULL, NULL);
    assert_int_equal(a.acks, 1);
    /* ... and split over two 20-byte notifications (MTU 23) */
    jk_assembler_feed(&a, buf, 20, NULL, NULL);
    assert_int_equal(a.acks, 1);
    jk_assembler_feed(&a, buf + 20, 4, NULL, NULL);
    assert_int_equal(a.acks, 2);
    /* "AT\r\n" alone counts as junk, not as an ack */
    jk_assembler_feed(&a, at, 4, NULL, NULL);
    assert_int_equal(a.acks, 2);
}

static void settings_frame(uint8_t f[JK_FRAME_LEN])
{
    memset(f, 0, JK_FRAME_LEN);
    f[0] = 0x55, f[1] = 0xAA, f[2] = 0xEB, f[3] = 0x90, f[4] = JK_RECORD_SETTINGS;
}

static void settings_flags_at_their_offsets(void **state)
{
    uint8_t f[JK_FRAME_LEN];
    int flags[JK_SWITCH_COUNT];
    (void)state;

    settings_frame(f);
    f[118] = 1; /* charge */
    f[126] = 1; /* balancer */
    f[114] = 0; /* JK04 balancer: off */
    assert_int_equal(jk_settings_switches(f, JK_PROTO_JK02_24S, flags), 0);
    assert_int_equal(flags[JK_SWITCH_CHARGE], 1);
    assert_int_equal(flags[JK_SWITCH_DISCHARGE], 0);
    assert_int_equal(flags[JK_SWITCH_BALANCER], 1);
    f[118] = 0;
    f[122] = 1;
    assert_int_equal(jk_settings_switches(f, JK_PROTO_JK02_32S, flags), 0);
    assert_int_equal(flags[JK_SWITCH_CHARGE], 0);
    assert_int_equal(flags[JK_SWITCH_DISCHARGE], 1);
    assert_int_equal(jk_settings_switches(f, JK_PROTO_JK04, flags), 0);
    assert_int_equal(flags[JK_SWITCH_CHARGE], -1);
    assert_int_equal(flags[JK_SWITCH_DISCHARGE], -1);
    assert_int_equal(flags[JK_SWITCH_BALANCER], 0);
    f[114] = 1;
    assert_int_equal(jk_settings_switches(f, JK_PROTO_JK04, flags), 0);
    assert_int_equal(flags[JK_SWITCH_BALANCER], 1);
    assert_int_equal(jk_settings_switches(f, JK_PROTO_AUTO, flags), -EINVAL);
    f[4] = JK_RECORD_CELL_INFO;
    assert_int_equal(jk_settings_switches(f, JK_PROTO_JK02_24S, flags), -EINVAL);
}

static void load_fixture(const char *name, uint8_t out[JK_FRAME_LEN])
{
    const char *top = getenv("top_srcdir");
    char path[4200], err[256];
    struct jk_capture cap;

    snprintf(path, sizeof(path), "%s/tests/data/jk/%s", top ? top : ".", name);
    assert_int_equal(jk_capture_load(path, &cap, err, sizeof(err)), 0);
    assert_int_equal(cap.len, JK_FRAME_LEN);
    memcpy(out, cap.data, JK_FRAME_LEN);
    jk_capture_free(&cap);
}

/* The MOSFET bytes: 166/167 (24S), 198/199 (32S), read by the decoder. */
static void mosfet_bytes_at_their_offsets(void **state)
{
    static const struct {
        const char *file;
        int proto;
        size_t chg;
    } cases[] = {{"jk02_24s_v10_cell_info.hex", JK_PROTO_JK02_24S, 166},
                 {"jk02_32s_v11_cell_info.hex", JK_PROTO_JK02_32S, 198}};
    uint8_t f[JK_FRAME_LEN];
    struct jk_cell_info ci;
    (void)state;

    for (size_t i = 0; i < 2; i++) {
        load_fixture(cases[i].file, f);
        for (int bits = 0; bits < 4; bits++) {
            f[cases[i].chg] = (uint8_t)(bits & 1);
            f[cases[i].chg + 1] = (uint8_t)(bits >> 1);
            f[JK_FRAME_LEN - 1] = jk_sum8(f, JK_FRAME_LEN - 1);
            assert_int_equal(jk_decode_cell_info(f, cases[i].proto, &ci), 0);
            assert_int_equal(ci.charging, bits & 1);
            assert_int_equal(ci.discharging, bits >> 1);
        }
    }
}

static void confirmation_needs_flag_and_mosfet(void **state)
{
    struct jk_switch_state st = {.flag = 0, .mosfet = 0};
    char d[100];
    (void)state;

    assert_true(jk_switch_confirmed(JK_SWITCH_CHARGE, 0, &st, d, sizeof(d)));
    assert_string_equal(d, "charge: BMS reports switch off, MOSFET off");
    /* a BMS that acknowledged and kept the old state */
    st.flag = st.mosfet = 1;
    assert_false(jk_switch_confirmed(JK_SWITCH_CHARGE, 0, &st, d, sizeof(d)));
    assert_string_equal(d, "charge: BMS reports switch on, MOSFET on");
    /* the flag took, the MOSFET did not (a latched protection, #887) */
    st.mosfet = 0;
    assert_false(jk_switch_confirmed(JK_SWITCH_DISCHARGE, 1, &st, d, sizeof(d)));
    assert_string_equal(d, "discharge: BMS reports switch on, MOSFET off");
    /* the balancer has no MOSFET: its flag alone confirms */
    st.flag = 1;
    st.mosfet = -1;
    assert_true(jk_switch_confirmed(JK_SWITCH_BALANCER, 1, &st, d, sizeof(d)));
    assert_string_equal(d, "balancer: BMS reports switch on");
    /* a flag never seen is not a confirmation */
    st.flag = -1;
    assert_false(jk_switch_confirmed(JK_SWITCH_BALANCER, 1, &st, d, sizeof(d)));
    assert_string_equal(d, "balancer: BMS reports switch unknown");
}

/* jk-control.md section 3: all 12 FC 0x10 frames and their echoes. */
static void modbus_frames_are_exact(void **state)
{
    static const struct {
        int slave, sw;
        const char *on, *off, *echo;
    } rows[] = {
        {1, JK_SWITCH_CHARGE, "01 10 1070 0002 04 00000001 F88B",
         "01 10 1070 0002 04 00000000 394B", "01 10 1070 0002 44D3"},
        {1, JK_SWITCH_DISCHARGE, "01 10 1074 0002 04 00000001 F978",
         "01 10 1074 0002 04 00000000 38B8", "01 10 1074 0002 0512"},
        {1, JK_SWITCH_BALANCER, "01 10 1078 0002 04 00000001 F92D",
         "01 10 1078 0002 04 00000000 38ED", "01 10 1078 0002 C511"},
        {2, JK_SWITCH_CHARGE, "02 10 1070 0002 04 00000001 F7CF",
         "02 10 1070 0002 04 00000000 360F", "02 10 1070 0002 44E0"},
        {2, JK_SWITCH_DISCHARGE, "02 10 1074 0002 04 00000001 F63C",
         "02 10 1074 0002 04 00000000 37FC", "02 10 1074 0002 0521"},
        {2, JK_SWITCH_BALANCER, "02 10 1078 0002 04 00000001 F669",
         "02 10 1078 0002 04 00000000 37A9", "02 10 1078 0002 C522"},
    };
    uint8_t f[JK_MB_WRITE_LEN], e[JK_MB_ECHO_LEN], rd[8];
    uint16_t crc;
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(jk_modbus_switch_frame(rows[i].slave, rows[i].sw, 1, f), 0);
        assert_frame(f, sizeof(f), rows[i].on);
        assert_int_equal(jk_modbus_switch_frame(rows[i].slave, rows[i].sw, 0, f), 0);
        assert_frame(f, sizeof(f), rows[i].off);
        assert_int_equal(jk_modbus_switch_echo(rows[i].slave, rows[i].sw, e), 0);
        assert_frame(e, sizeof(e), rows[i].echo);
    }
    /* the read-back request's CRC from the sheet: 01 03 12C0 0001 814E */
    unhex("01 03 12C0 0001", rd, sizeof(rd));
    crc = jk_modbus_crc(rd, 6);
    assert_int_equal(crc & 0xFF, 0x81);
    assert_int_equal(crc >> 8, 0x4E);
    assert_int_equal(jk_modbus_switch_frame(0, JK_SWITCH_CHARGE, 1, f), -EINVAL);
    assert_int_equal(jk_modbus_switch_frame(1, 3, 1, f), -EINVAL);
}

/* Read-back over Modbus: the flag register (uint32 BE) and 0x12C0, whose
 * high byte is charge and low byte discharge (swapped in esphome's example
 * until fafdc55, #864). */
static void modbus_read_back(void **state)
{
    static const uint8_t on[4] = {0, 0, 0, 1}, off[4] = {0, 0, 0, 0};
    static const uint8_t chg_only[2] = {0x01, 0x00};
    struct jk_switch_state st;
    (void)state;

    jk_modbus_switch_state(JK_SWITCH_CHARGE, on, chg_only, &st);
    assert_int_equal(st.flag, 1);
    assert_int_equal(st.mosfet, 1);
    jk_modbus_switch_state(JK_SWITCH_DISCHARGE, off, chg_only, &st);
    assert_int_equal(st.flag, 0);
    assert_int_equal(st.mosfet, 0);
    jk_modbus_switch_state(JK_SWITCH_BALANCER, on, chg_only, &st);
    assert_int_equal(st.flag, 1);
    assert_int_equal(st.mosfet, -1);
    jk_modbus_switch_state(JK_SWITCH_CHARGE, on, NULL, &st);
    assert_int_equal(st.mosfet, -1);
}

static void names_and_values(void **state)
{
    int sw, on;
    (void)state;

    assert_int_equal(jk_switch_parse("discharge", &sw), 0);
    assert_int_equal(sw, JK_SWITCH_DISCHARGE);
    assert_int_equal(jk_switch_parse("heating", &sw), -EINVAL);
    assert_string_equal(jk_switch_name(JK_SWITCH_BALANCER), "balancer");
    assert_string_equal(jk_switch_metric(JK_SWITCH_CHARGE), "charge_switch");
    assert_int_equal(jk_switch_value_parse("OFF", &on), 0);
    assert_int_equal(on, 0);
    assert_int_equal(jk_switch_value_parse("on", &on), 0);
    assert_int_equal(on, 1);
    assert_int_equal(jk_switch_value_parse("of", &on), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ble_switch_frames_are_exact),
        cmocka_unit_test(register_writes_match_the_sheet),
        cmocka_unit_test(ack_is_recognised_also_behind_at),
        cmocka_unit_test(settings_flags_at_their_offsets),
        cmocka_unit_test(mosfet_bytes_at_their_offsets),
        cmocka_unit_test(confirmation_needs_flag_and_mosfet),
        cmocka_unit_test(modbus_frames_are_exact),
        cmocka_unit_test(modbus_read_back),
        cmocka_unit_test(names_and_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

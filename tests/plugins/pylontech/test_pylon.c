/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libpylon: every worked example of docs/inverter-link.md byte for byte
 * (requests, replies, both checksums, the spec's own wrong examples, the
 * LCHKSUM corner), malformed frames, and the CAN frames of the same pack. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/libpylon/pylon.h"

/* Encode and compare with `want` (a whole frame with '~' and "\r"). */
static void assert_frame(uint8_t ver, uint8_t adr, uint8_t cid2, const uint8_t *info, size_t n,
                         const char *want)
{
    char out[PYLON_FRAME_MAX + 1];
    size_t len = pylon_frame_encode(ver, adr, PYLON_CID1_BATTERY, cid2, info, n, out,
                                    sizeof(out) - 1);
    out[len] = '\0';
    assert_string_equal(out, want);
}

static void chksum_and_length(void **state)
{
    (void)state;
    /* LENID 18 -> D012 (the spec's own example) */
    assert_int_equal(pylon_length_field(18), 0xD012);
    /* 0x07E: 0+7+14 = 21 -> B */
    assert_int_equal(pylon_length_field(0x07E), 0xB07E);
    assert_int_equal(pylon_length_field(0x014), 0xB014);
    assert_int_equal(pylon_length_field(0x002), 0xE002);
    /* the corner: a nibble sum that is a multiple of 16 gives 0, not 0x10
     * (python-pylontech yields 0x100F1 for LENID 0x0F1) */
    assert_int_equal(pylon_length_field(0x0F1), 0x00F1);
    assert_int_equal(pylon_length_field(0x000), 0x0000);
    /* the spec's CHKSUM example is wrong: 1203400456ABCEFE sums to 0x038F */
    assert_int_equal(pylon_chksum("1203400456ABCEFE", 16), 0xFC71);
    assert_int_equal(pylon_chksum("20024642E00202", 14), 0xFD33);
}

static void requests_decode(void **state)
{
    struct pylon_frame f;
    const char *r42 = "20024642E00202FD33", *r92 = "20024692E00202FD2E";
    (void)state;

    assert_int_equal(pylon_frame_decode(r42, strlen(r42), &f), 0);
    assert_int_equal(f.ver, 0x20);
    assert_int_equal(f.adr, 0x02);
    assert_int_equal(f.cid1, 0x46);
    assert_int_equal(f.cid2, 0x42);
    assert_int_equal(f.info_len, 1);
    assert_int_equal(f.info[0], 0x02);
    assert_int_equal(pylon_frame_decode(r92, strlen(r92), &f), 0);
    assert_int_equal(f.cid2, 0x92);
    /* and they encode back to the same text */
    assert_frame(0x20, 0x02, 0x42, (const uint8_t[]){0x02}, 1, "~20024642E00202FD33\r");
    assert_frame(0x20, 0x02, 0x92, (const uint8_t[]){0x02}, 1, "~20024692E00202FD2E\r");
}

static void malformed_requests(void **state)
{
    struct pylon_frame f;
    (void)state;

    /* a flipped CHKSUM digit: RTN 02, the header still read for the reply */
    assert_int_equal(pylon_frame_decode("20024642E00202FD34", 18, &f), -EBADMSG);
    assert_int_equal(f.adr, 0x02);
    assert_int_equal(f.cid2, 0x42);
    /* LCHKSUM wrong (F002 for LENID 2), CHKSUM right for that text: RTN 03 */
    {
        char t[32];
        uint16_t sum;
        memcpy(t, "20024642F00202", 14);
        sum = pylon_chksum(t, 14);
        snprintf(t + 14, sizeof(t) - 14, "%04X", sum);
        assert_int_equal(pylon_frame_decode(t, 18, &f), -EPROTO);
    }
    /* LENID longer than the INFO present */
    {
        char t[32];
        memcpy(t, "20024642C00402", 14);
        snprintf(t + 14, sizeof(t) - 14, "%04X", pylon_chksum(t, 14));
        assert_int_equal(pylon_frame_decode(t, 18, &f), -EPROTO);
    }
    /* too short, not hex */
    assert_int_equal(pylon_frame_decode("2002464", 7, &f), -EINVAL);
    assert_int_equal(pylon_frame_decode("2002464ZE00202FD33", 18, &f), -EINVAL);
}

/* The 16S 280 Ah pack of the facts sheet's 0x42 reply. */
static void example_pack(struct pylon_pack *p)
{
    static const uint16_t cells[16] = {0x0CE5, 0x0CE9, 0x0CEB, 0x0CE6, 0x0CEE, 0x0CE8,
                                       0x0CEA, 0x0CE7, 0x0CEC, 0x0CED, 0x0CE5, 0x0CE6,
                                       0x0CF0, 0x0CE8, 0x0CE9, 0x0CEA};
    memset(p, 0, sizeof(*p));
    p->info_flag = 0x11;
    p->ncells = 16;
    memcpy(p->cell_mv, cells, sizeof(cells));
    p->ntemps = 5;
    p->temp_dc[0] = 250; /* 0x0BA5 = 2981 */
    p->temp_dc[1] = 241;
    p->temp_dc[2] = 243;
    p->temp_dc[3] = 240;
    p->temp_dc[4] = 242;
    p->current_ma = 12500;
    p->voltage_mv = 52885;
    p->remaining_mah = 196000;
    p->total_mah = 280000;
    p->cycles = 37;
    p->soc = 70;
    p->soh = 100;
    p->charge_fet = p->discharge_fet = 1;
}

static void analog_reply(void **state)
{
    struct pylon_pack p;
    uint8_t info[PYLON_INFO_MAX];
    size_t n;
    (void)state;

    example_pack(&p);
    n = pylon_info_analog(&p, 0x02, info, sizeof(info));
    assert_int_equal(n, 63);
    assert_frame(0x20, 0x02, PYLON_RTN_OK, info, n,
                 "~20024600B07E110210"
                 "0CE50CE90CEB0CE60CEE0CE80CEA0CE70CEC0CED0CE50CE60CF00CE80CE90CEA"
                 "050BA50B9C0B9E0B9B0B9D007DCE95FFFF04FFFF002502FDA00445C0E05F\r");
    /* a small pack keeps the 2-byte capacities, user items 2 */
    p.remaining_mah = 50000;
    p.total_mah = 60000;
    n = pylon_info_analog(&p, 0x02, info, sizeof(info));
    assert_int_equal(n, 63 - 6);
    assert_int_equal(info[n - 7] << 8 | info[n - 6], 50000);
    assert_int_equal(info[n - 5], 2);
    assert_int_equal(info[n - 4] << 8 | info[n - 3], 60000);
    /* a negative current: 100 mA per count, two's complement */
    p.current_ma = -4000;
    n = pylon_info_analog(&p, 0x02, info, sizeof(info));
    assert_int_equal(info[3 + 32 + 1 + 10] << 8 | info[3 + 32 + 1 + 11], 0xFFD8);
    /* a buffer too small gives 0, not a cut reply */
    assert_int_equal(pylon_info_analog(&p, 0x02, info, 20), 0);
}

static void management_reply(void **state)
{
    struct pylon_limits l = {.cvl_mv = 55200, .dvl_mv = 48000, .ccl_da = 1400, .dcl_da = 1500,
                             .charge_enable = 1, .discharge_enable = 1};
    uint8_t info[PYLON_INFO_MAX];
    size_t n;
    (void)state;

    n = pylon_info_management(&l, 0x02, 1, info, sizeof(info));
    assert_int_equal(n, 10);
    assert_frame(0x20, 0x02, PYLON_RTN_OK, info, n, "~20024600B01402D7A0BB800578FA24C0F92D\r");
    /* the UP2500 vector */
    l = (struct pylon_limits){.cvl_mv = 28400, .dvl_mv = 23200, .ccl_da = 555, .dcl_da = 555,
                              .charge_enable = 1, .discharge_enable = 1};
    n = pylon_info_management(&l, 0x02, 1, info, sizeof(info));
    assert_frame(0x20, 0x02, PYLON_RTN_OK, info, n, "~20024600B014026EF05AA0022BFDD5C0F915\r");
    /* positive discharge limit, enables and force charge in the status */
    l.charge_enable = 0;
    l.force_charge = 1;
    n = pylon_info_management(&l, 0x02, 0, info, sizeof(info));
    assert_int_equal(info[7] << 8 | info[8], 555);
    assert_int_equal(info[9], 0x40 | 0x20);
}

static void error_replies(void **state)
{
    (void)state;
    /* RTN in CID2, no INFO: LENGTH 0000 */
    assert_frame(0x20, 0x02, PYLON_RTN_CHKSUM, NULL, 0, "~200246020000FDB0\r");
    assert_frame(0x20, 0x02, PYLON_RTN_CID2, NULL, 0, "~200246040000FDAE\r");
}

static void other_replies(void **state)
{
    struct pylon_pack p;
    struct pylon_identity id = {.battery_name = "JK-BMS", .manufacturer = "PYLON",
                                .sw_major = 1, .sw_minor = 2};
    struct pylon_limits l = {.cvl_mv = 55200, .dvl_mv = 48000, .ccl_da = 1400, .dcl_da = 1500,
                             .charge_enable = 1, .discharge_enable = 1};
    uint8_t info[PYLON_INFO_MAX];
    size_t n;
    (void)state;

    example_pack(&p);
    snprintf(p.serial, sizeof(p.serial), "%s", "4041041234");
    /* 0x51: name 10, version 2, maker 20 */
    n = pylon_info_maker(&id, info, sizeof(info));
    assert_int_equal(n, 32);
    assert_memory_equal(info, "JK-BMS    \x01\x02PYLON               ", 32);
    /* 0x93: ADR + 16 */
    n = pylon_info_serial(&p, 0x03, info, sizeof(info));
    assert_int_equal(n, 17);
    assert_int_equal(info[0], 0x03);
    assert_memory_equal(info + 1, "4041041234      ", 16);
    /* 0x44: flag, ADR, 16 cell states, 5 temperature states, 3, 5 status */
    p.cell_mv[3] = 3700; /* above */
    p.cell_mv[12] = 2400; /* below */
    p.alarm_bits = PYLON_ALARM_CELL_OV;
    n = pylon_info_alarm(&p, 0x02, info, sizeof(info));
    assert_int_equal(n, 2 + 1 + 16 + 1 + 5 + 3 + 5);
    assert_int_equal(info[3 + 3], 0x02);
    assert_int_equal(info[3 + 12], 0x01);
    assert_int_equal(info[n - 5], 0x01);              /* Status1 b0 module OV */
    assert_int_equal(info[n - 4], 0x02 | 0x04);       /* Status2 CFET, DFET */
    assert_int_equal(info[n - 3], 0x80);              /* Status3 I > 0.1 A */
    assert_int_equal(info[n - 2], 0x08);              /* Status4 cell 4 */
    assert_int_equal(info[n - 1], 0x10);              /* Status5 cell 13 */
    /* 0x63: 9 bytes, currents in 10 mA */
    n = pylon_info_sys_management(&l, info, sizeof(info));
    assert_int_equal(n, 9);
    assert_int_equal(info[4] << 8 | info[5], 14000);
    assert_int_equal(info[8], 0xC0);
    /* 0x61: 49 bytes */
    n = pylon_info_sys_analog(&p, &p, 1, info, sizeof(info));
    assert_int_equal(n, 49);
    assert_int_equal(info[0] << 8 | info[1], 52885);
    assert_int_equal(info[4], 70);
    /* highest cell 3700 mV at pack 1 cell 4 */
    assert_int_equal(info[11] << 8 | info[12], 3700);
    assert_int_equal(info[13] << 8 | info[14], 0x0104);
    /* 0x62 */
    n = pylon_info_sys_alarm(&p, info, sizeof(info));
    assert_int_equal(n, 4);
    assert_int_equal(info[0], 0x20);
}

static void group_reply(void **state)
{
    struct pylon_pack p[2];
    uint8_t info[PYLON_INFO_MAX];
    size_t n1, n2;
    (void)state;

    example_pack(&p[0]);
    example_pack(&p[1]);
    n1 = pylon_info_analog(&p[0], 0x02, info, sizeof(info));
    n2 = pylon_info_analog_group(p, 2, info, sizeof(info));
    /* flag, count, then two blocks starting at M */
    assert_int_equal(n2, 2 + 2 * (n1 - 2));
    assert_int_equal(info[1], 2);
    assert_int_equal(info[2], 16);
}

/* A group of twelve packs (the sink's most, ADR 2..13) of 32 cells fits
 * one frame: LENID counts to 4095 characters. 256 bytes of INFO did not
 * hold five 16-cell packs, and the sink sent an empty "RTN 00". */
static void group_of_twelve(void **state)
{
    static struct pylon_pack p[12];
    static uint8_t info[PYLON_INFO_MAX];
    static char frame[PYLON_FRAME_MAX];
    static struct pylon_frame back;
    size_t n, len;
    (void)state;

    for (size_t i = 0; i < 12; i++) {
        example_pack(&p[i]);
        p[i].ncells = 32;
        for (size_t c = 16; c < 32; c++)
            p[i].cell_mv[c] = 3300;
    }
    /* a block: M, 32 cells, N, 5 probes, current, voltage, remaining,
     * items, total, cycles, the 3-byte capacities: 93 bytes */
    n = pylon_info_analog_group(p, 5, info, sizeof(info));
    assert_int_equal(n, 2 + 5 * 93);
    n = pylon_info_analog_group(p, 12, info, sizeof(info));
    assert_int_equal(n, 2 + 12 * 93);
    assert_int_equal(info[1], 12);
    len = pylon_frame_encode(0x20, 0x02, PYLON_CID1_BATTERY, 0x00, info, n, frame, sizeof(frame));
    assert_int_equal(len, 1 + 12 + 2 * n + 4 + 1);
    /* and it reads back: LENGTH's checksum and CHKSUM over 2200+ characters */
    assert_int_equal(pylon_frame_decode(frame + 1, len - 2, &back), 0);
    assert_int_equal(back.info_len, n);
    assert_memory_equal(back.info, info, n);
    n = pylon_info_alarm_group(p, 12, info, sizeof(info));
    assert_true(n > 256);
}

static void can_frames(void **state)
{
    struct pylon_pack p;
    struct pylon_limits l = {.cvl_mv = 55200, .dvl_mv = 48000, .ccl_da = 1400, .dcl_da = 1500,
                             .charge_enable = 1, .discharge_enable = 1};
    struct pylon_can_frame f[PYLON_CAN_FRAMES], back;
    uint8_t wire[PYLON_CAN_WIRE];
    (void)state;

    example_pack(&p);
    p.temp_dc[0] = 243;
    assert_int_equal(pylon_can_frames(&p, &l, 1, "PYLON", f), 6);
    assert_int_equal(f[0].id, 0x351);
    assert_int_equal(f[0].len, 8);
    assert_memory_equal(f[0].data, "\x28\x02\x78\x05\xDC\x05\xE0\x01", 8);
    assert_int_equal(f[1].id, 0x355);
    assert_memory_equal(f[1].data, "\x46\x00\x64\x00", 4);
    assert_int_equal(f[2].id, 0x356);
    assert_memory_equal(f[2].data, "\xA8\x14\x7D\x00\xF3\x00", 6);
    assert_int_equal(f[3].id, 0x359);
    assert_int_equal(f[3].len, 7);
    assert_memory_equal(f[3].data, "\x00\x00\x00\x00\x01\x50\x4E", 7);
    assert_int_equal(f[4].id, 0x35C);
    assert_memory_equal(f[4].data, "\xC0\x00", 2);
    assert_int_equal(f[5].id, 0x35E);
    assert_memory_equal(f[5].data, "PYLON   ", 8);
    /* Deye's maker name */
    pylon_can_frames(&p, &l, 1, "PYLONDIY", f);
    assert_memory_equal(f[5].data, "PYLONDIY", 8);
    /* the 16-byte struct can_frame, both ways; flags are refused */
    pylon_can_pack(&f[0], wire);
    assert_int_equal(wire[4], 8);
    assert_memory_equal(wire + 8, f[0].data, 8);
    assert_int_equal(pylon_can_unpack(wire, sizeof(wire), &back), 0);
    assert_int_equal(back.id, 0x351);
    wire[3] |= 0x80; /* CAN_EFF_FLAG on a little-endian host, any flag on others */
    wire[0] |= 0x80;
    {
        uint32_t id = 0x80000305u;
        memcpy(wire, &id, 4);
    }
    assert_int_equal(pylon_can_unpack(wire, sizeof(wire), &back), -EINVAL);
    assert_int_equal(pylon_can_unpack(wire, 8, &back), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chksum_and_length), cmocka_unit_test(requests_decode),
        cmocka_unit_test(malformed_requests), cmocka_unit_test(analog_reply),
        cmocka_unit_test(management_reply),  cmocka_unit_test(error_replies),
        cmocka_unit_test(other_replies),     cmocka_unit_test(group_reply),
        cmocka_unit_test(group_of_twelve),
        cmocka_unit_test(can_frames),
    };
    return cmocka_run_group_tests_name("libpylon", tests, NULL, NULL);
}

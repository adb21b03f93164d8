/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libjk's wired paths: the 0x4E57 assembler and decoder against the real
 * recorded answer (split, behind junk, corrupted, cut short, with unknown
 * IDs), and the Modbus register images of the real JK02_32S frames, which
 * must decode to exactly what the BLE frames decode to. */
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
#include <jansson.h>

#include "plugins/libjk/jk_capture.h"
#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"
#include "plugins/libjk/jk_uart.h"

static const char *top(void)
{
    const char *t = getenv("top_srcdir");
    return t ? t : ".";
}

/* The bytes after `prefix` ("<<< " or ">>> ") in the .pdu fixture. */
static size_t load_pdu(const char *prefix, uint8_t *out, size_t out_cap)
{
    char path[4096], line[8192], err[256];
    size_t n = 0;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/tests/data/jk-uart/jk_b2a24s20p_1007_13s.pdu", top());
    fp = fopen(path, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        struct jk_capture hex;
        const uint8_t *c;
        size_t len;
        if (strncmp(line, prefix, strlen(prefix)) != 0)
            continue;
        assert_int_equal(jk_capture_parse_hex(line + strlen(prefix), strlen(line + strlen(prefix)),
                                              &hex, err, sizeof(err)),
                         0);
        c = jk_capture_chunk(&hex, 0, &len);
        assert_true(len <= out_cap);
        memcpy(out, c, len);
        n = len;
        jk_capture_free(&hex);
    }
    fclose(fp);
    assert_true(n > 0);
    return n;
}

static json_t *expected_uart(void)
{
    char path[4096];
    json_error_t jerr;
    json_t *root;

    snprintf(path, sizeof(path), "%s/tests/data/jk-uart/jk_b2a24s20p_1007_13s.expected.json",
             top());
    root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    return root;
}

static void fix_checksum(uint8_t *f, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 4 < len; i++)
        sum += f[i];
    f[len - 4] = (uint8_t)(sum >> 24);
    f[len - 3] = (uint8_t)(sum >> 16);
    f[len - 2] = (uint8_t)(sum >> 8);
    f[len - 1] = (uint8_t)sum;
}

/* Offset of the value of data ID `id` in the recorded answer. */
static size_t value_at(const uint8_t *f, size_t len, uint8_t id)
{
    size_t i = 11;
    while (i < len - 9) {
        int size = jk_uart_id_size(f[i]);
        assert_true(size >= 0);
        if (f[i] == id)
            return i + 1;
        i += size == 0 ? 2u + f[i + 1] : 1u + (size_t)size;
    }
    fail_msg("ID 0x%02x not in the answer", id);
    return 0;
}

struct got {
    int n;
    size_t len;
    uint8_t frame[JK_UART_MAX_FRAME];
};

static void on_frame(const uint8_t *frame, size_t len, void *user)
{
    struct got *g = user;
    g->n++;
    g->len = len;
    memcpy(g->frame, frame, len);
}

static void the_recorded_answer_decodes_to_its_values(void **state)
{
    uint8_t f[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f));
    json_t *want = expected_uart(), *cells = json_object_get(want, "cells"), *v;
    struct jk_uart_data d;
    size_t i;
    (void)state;

    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_int_equal(d.ci.proto, JK_PROTO_UART);
    assert_int_equal(d.ci.ncells, json_array_size(cells));
    json_array_foreach(cells, i, v)
    {
        assert_true(fabs(d.ci.cell_v[i] - json_real_value(v)) < 1e-9);
    }
    assert_int_equal(d.cell_count, json_integer_value(json_object_get(want, "cell_count")));
    assert_true(fabs(d.ci.pack_v - json_real_value(json_object_get(want, "total_voltage"))) < 1e-9);
    assert_true(d.ci.current_a == json_real_value(json_object_get(want, "current")));
    assert_false(signbit(d.ci.current_a));
    assert_int_equal(d.ci.soc, json_integer_value(json_object_get(want, "soc")));
    assert_true(d.ci.mos_temp == json_real_value(json_object_get(want, "mos_temp")));
    assert_int_equal(d.ci.ntemps, 2);
    assert_true(d.ci.temps[0] == 19.0 && d.ci.temps[1] == 19.0);
    assert_int_equal(d.ci.cycles, json_integer_value(json_object_get(want, "cycles")));
    assert_string_equal(d.software_version,
                        json_string_value(json_object_get(want, "software_version")));
    assert_int_equal(d.protocol_version,
                     json_integer_value(json_object_get(want, "protocol_version")));
    /* as BLE names them for the same model */
    assert_string_equal(d.di.hw_version, "10.XW");
    assert_string_equal(d.di.sw_version, "10.07");
    assert_string_equal(d.di.model, "JK-B2A24S15P");
    assert_int_equal(d.stopped_at, 0);
    assert_true(d.ci.no_cell_ohm);
    assert_true(d.ci.no_remaining);
    json_decref(want);
}

static void the_request_is_the_recorded_one(void **state)
{
    uint8_t rec[64], req[JK_UART_REQ_LEN];
    (void)state;
    assert_int_equal(load_pdu(">>> ", rec, sizeof(rec)), JK_UART_REQ_LEN);
    jk_uart_build_read_all(req);
    assert_memory_equal(req, rec, JK_UART_REQ_LEN);
}

static void every_split_behind_junk_yields_the_answer_once(void **state)
{
    uint8_t f[1024], stream[2048];
    size_t len = load_pdu("<<< ", f, sizeof(f)), n = 0;
    static const uint8_t junk[] = {'A', 'T', '\r', '\n', 0x4e, 0x00, 0x4e, 0x57, 0x01};
    (void)state;

    memcpy(stream, junk, sizeof(junk));
    n = sizeof(junk);
    memcpy(stream + n, f, len);
    n += len;
    for (size_t chunk = 1; chunk <= n; chunk += chunk < 16 ? 1 : 37) {
        struct jk_uart_assembler a;
        struct got g = {0};
        jk_uart_assembler_init(&a);
        for (size_t i = 0; i < n; i += chunk)
            jk_uart_assembler_feed(&a, stream + i, n - i < chunk ? n - i : chunk, on_frame, &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.len, len);
        assert_memory_equal(g.frame, f, len);
        assert_int_equal(a.frames, 1);
    }
}

static void a_corrupt_byte_anywhere_drops_the_frame_and_the_next_one_arrives(void **state)
{
    uint8_t f[1024], bad[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f));
    (void)state;

    for (size_t at = 0; at < len; at++) {
        struct jk_uart_assembler a;
        struct got g = {0};
        memcpy(bad, f, len);
        bad[at] ^= 0x20;
        jk_uart_assembler_init(&a);
        jk_uart_assembler_feed(&a, bad, len, on_frame, &g);
        assert_int_equal(g.n, 0);
        jk_uart_assembler_feed(&a, f, len, on_frame, &g);
        if (g.n != 1)
            fail_msg("byte %zu corrupted: the good frame after it was not delivered", at);
        assert_memory_equal(g.frame, f, len);
    }
}

static void truncated_frames_and_echoes_are_never_delivered(void **state)
{
    uint8_t f[1024], req[JK_UART_REQ_LEN];
    size_t len = load_pdu("<<< ", f, sizeof(f));
    struct jk_uart_assembler a;
    struct got g = {0};
    struct jk_uart_data d;
    (void)state;

    for (size_t cut = 0; cut < len; cut++) {
        jk_uart_assembler_init(&a);
        jk_uart_assembler_feed(&a, f, cut, on_frame, &g);
        assert_int_equal(g.n, 0);
        assert_int_equal(jk_uart_decode(f, cut, &d), -EBADMSG);
    }
    /* Our own request echoed by a half-duplex adapter is a valid frame, but
     * no answer. */
    jk_uart_build_read_all(req);
    jk_uart_assembler_init(&a);
    jk_uart_assembler_feed(&a, req, sizeof(req), on_frame, &g);
    assert_int_equal(g.n, 0);
    assert_int_equal(a.ignored, 1);
    /* A length field of junk does not hide the answer behind it. */
    {
        static const uint8_t lie[] = {0x4e, 0x57, 0x03, 0xff, 0x00};
        jk_uart_assembler_init(&a);
        jk_uart_assembler_feed(&a, lie, sizeof(lie), on_frame, &g);
        jk_uart_assembler_feed(&a, f, len, on_frame, &g);
        assert_int_equal(g.n, 1);
    }
}

static void an_unknown_id_ends_the_walk_keeping_what_came_before(void **state)
{
    uint8_t f[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f)), at;
    struct jk_uart_data d;
    (void)state;

    at = value_at(f, len, 0x85) - 1; /* the SOC's ID */
    f[at] = 0x77;
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_int_equal(d.stopped_at, 0x77);
    assert_int_equal(d.ci.ncells, 13);
    assert_true(d.ci.has_mos_temp && d.ci.has_pack);
    assert_int_equal(d.ci.soc, 0);   /* not reached */
    assert_false(d.has_device_info); /* the version string comes later */
    /* No cells at all: nothing to report. */
    f[11] = 0x77;
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), -ENODATA);
}

static void current_in_both_protocol_versions(void **state)
{
    uint8_t f[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f));
    size_t cur = value_at(f, len, 0x84), ver = value_at(f, len, 0xc0);
    struct jk_uart_data d;
    (void)state;

    f[cur] = 0x80 | 0x03, f[cur + 1] = 0xe8; /* version 1: charging 10.00 A */
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_true(fabs(d.ci.current_a - 10.0) < 1e-9);
    f[cur] = 0x01, f[cur + 1] = 0xf4; /* version 1: discharging 5.00 A */
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_true(fabs(d.ci.current_a + 5.0) < 1e-9);
    f[ver] = 0; /* version 0: 10000 - current; 9500 = 5.00 A charging */
    f[cur] = 0x25, f[cur + 1] = 0x1c;
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_true(fabs(d.ci.current_a - 5.0) < 1e-9);
    /* temperatures above 100 are below zero */
    f[value_at(f, len, 0x81) + 1] = 105;
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_true(d.ci.temps[0] == -5.0);
}

/* Issue 27.7: 0xC0 (the last TLV) is read by position, so a walk that stops
 * at an unknown ID before it still decodes the current by the right
 * convention: `84 00 45` with version 1 is -0.69 A, not +99.31 A. */
static void the_protocol_version_is_read_by_position(void **state)
{
    uint8_t f[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f));
    size_t cur = value_at(f, len, 0x84), soc_id = value_at(f, len, 0x85) - 1;
    struct jk_uart_data d;
    (void)state;

    assert_int_equal(f[value_at(f, len, 0xc0)], 1);
    f[cur] = 0x00, f[cur + 1] = 0x45;
    f[soc_id] = 0x77; /* an ID this decoder does not know: the walk stops here */
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_int_equal(d.stopped_at, 0x77);
    assert_int_equal(d.protocol_version, 1);
    assert_true(fabs(d.ci.current_a + 0.69) < 1e-9);
}

/* Issue 27.7: 0x8C bit 2 is the balancer switch, not balancing now. */
static void status_bit_2_is_the_balancer_switch(void **state)
{
    uint8_t f[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f)), st = value_at(f, len, 0x8c);
    struct jk_uart_data d;
    (void)state;

    assert_int_equal(f[st + 1], 0x04); /* the recorded pack: balancer on, MOSFETs off */
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_int_equal(d.ci.balancer_switch, 1);
    assert_int_equal(d.ci.balancing_action, 0);
    assert_true(d.ci.no_balancing);
    f[st + 1] = 0x03;
    fix_checksum(f, len);
    assert_int_equal(jk_uart_decode(f, len, &d), 0);
    assert_int_equal(d.ci.balancer_switch, 0);
    assert_int_equal(d.ci.charging, 1);
    assert_int_equal(d.ci.discharging, 1);
}

/* Issue 27.4: the password (TLV 0xB2, "123456" in the recording) is zeroed
 * before any dump, also in a corrupted frame and past an unknown ID. */
static void the_password_is_masked(void **state)
{
    uint8_t f[1024], g[1024];
    size_t len = load_pdu("<<< ", f, sizeof(f)), pw = value_at(f, len, 0xb2);
    static const uint8_t zero[10];
    struct jk_uart_data d;
    (void)state;

    assert_memory_equal(f + pw, "123456", 6);
    memcpy(g, f, len);
    jk_uart_mask_password(g, len);
    assert_memory_equal(g + pw, zero, 10);
    assert_memory_equal(g, f, pw);                                  /* nothing before it */
    assert_memory_equal(g + pw + 10, f + pw + 10, len - pw - 10);   /* nor after it */
    assert_int_equal(jk_uart_decode(g, len, &d), -EBADMSG);         /* the checksum is not ours */
    /* corrupted, and cut short */
    memcpy(g, f, len);
    g[20] ^= 0x40;
    jk_uart_mask_password(g, pw + 4);
    assert_memory_equal(g + pw, zero, 4);
    /* past an unknown ID: all of the rest but the protocol version */
    memcpy(g, f, len);
    g[value_at(f, len, 0x8e) - 1] = 0x77;
    jk_uart_mask_password(g, len);
    assert_memory_equal(g + pw, zero, 10);
    assert_int_equal(g[value_at(f, len, 0xc0)], 1);
    assert_int_equal(g[value_at(f, len, 0xc0) - 1], 0xc0);
}

/* ---- Modbus register images ---- */

static void load_frame(const char *name, uint8_t out[JK_FRAME_LEN])
{
    char path[4200], err[256];
    struct jk_capture cap;
    size_t len;
    const uint8_t *c;

    snprintf(path, sizeof(path), "%s/tests/data/jk/%s", top(), name);
    assert_int_equal(jk_capture_load(path, &cap, err, sizeof(err)), 0);
    assert_int_equal(cap.n, 15); /* 20 bytes a line */
    c = jk_capture_chunk(&cap, 0, &len);
    memcpy(out, c, JK_FRAME_LEN); /* chunks are back to back in cap.data */
    jk_capture_free(&cap);
}

/* The widths of JK's live-block map (jk-wired.md): every multi-byte field
 * the register image carries big-endian. */
static const struct {
    size_t off, width, count;
} live_widths[] = {
    {0x00, 2, 32}, {0x40, 4, 1},  {0x44, 2, 2},  {0x4a, 2, 32}, {0x8a, 2, 1}, {0x8c, 4, 3},
    {0x98, 4, 1},  {0x9c, 2, 2},  {0xa0, 4, 1},  {0xa4, 2, 1},  {0xa8, 4, 4}, {0xba, 2, 1},
    {0xbc, 4, 1},  {0xc2, 2, 7},  {0xd2, 2, 5},  {0xdc, 4, 1},  {0xe4, 2, 2}, {0xf0, 4, 1},
    {0xf8, 2, 3},  {0x100, 4, 1}, {0x108, 4, 1},
};

static void to_register_image(const uint8_t frame[JK_FRAME_LEN], uint8_t *img, size_t len)
{
    memcpy(img, frame + 6, len);
    for (size_t i = 0; i < sizeof(live_widths) / sizeof(live_widths[0]); i++)
        for (size_t k = 0; k < live_widths[i].count; k++) {
            size_t at = live_widths[i].off + k * live_widths[i].width, w = live_widths[i].width;
            for (size_t b = 0; b < w / 2 && at + w <= len; b++) {
                uint8_t t = img[at + b];
                img[at + b] = img[at + w - 1 - b];
                img[at + w - 1 - b] = t;
            }
        }
}

static void the_live_block_decodes_as_the_ble_frame(void **state)
{
    uint8_t frame[JK_FRAME_LEN], img[272];
    struct jk_cell_info ble, mb;
    (void)state;

    load_frame("jk02_32s_v11_cell_info.hex", frame);
    to_register_image(frame, img, sizeof(img));
    assert_int_equal(jk_decode_cell_info(frame, JK_PROTO_JK02_32S, &ble), 0);
    assert_int_equal(jk_decode_live_block(img, sizeof(img), &mb), 0);
    assert_int_equal(mb.proto, JK_PROTO_JK02_32S);
    assert_int_equal(mb.ncells, ble.ncells);
    assert_int_equal(mb.ncells, 16);
    assert_memory_equal(mb.cell_v, ble.cell_v, sizeof(ble.cell_v));
    assert_memory_equal(mb.cell_ohm, ble.cell_ohm, sizeof(ble.cell_ohm));
    assert_true(mb.pack_v == ble.pack_v && mb.pack_v == 51.689);
    assert_true(mb.current_a == ble.current_a);
    assert_int_equal(mb.ntemps, ble.ntemps);
    assert_memory_equal(mb.temps, ble.temps, sizeof(ble.temps));
    /* V1.1 map: T1, T2 at 0x9C/0x9E, T3/T4/T5 at 0xF8/0xFA/0xFC */
    assert_int_equal(mb.ntemps, 5);
    assert_true(mb.temps[0] == 17.7 && mb.temps[1] == 17.7 && mb.temps[2] == 17.3 &&
                mb.temps[3] == 17.9 && mb.temps[4] == 18.0);
    assert_true(mb.mos_temp == ble.mos_temp && mb.mos_temp == 17.3);
    assert_int_equal(mb.errors, ble.errors);
    assert_true(mb.balance_current_a == ble.balance_current_a);
    assert_int_equal(mb.soc, 52);
    assert_int_equal(mb.soh, ble.soh);
    assert_true(mb.remaining_ah == ble.remaining_ah && mb.nominal_ah == ble.nominal_ah);
    assert_int_equal(mb.cycles, ble.cycles);
    assert_int_equal(mb.runtime_s, 107416);
    assert_int_equal(mb.charging, 1);
    assert_int_equal(mb.discharging, 1);
    assert_int_equal(mb.heating, 0);
    /* read little-endian, the image would be nonsense: the order matters */
    memcpy(frame + 6, img, sizeof(img));
    assert_int_equal(jk_decode_cell_info(frame, JK_PROTO_JK02_32S, &ble), 0);
    assert_true(ble.pack_v != mb.pack_v && ble.cell_v[0] != mb.cell_v[0]);
    assert_int_equal(jk_decode_live_block(img, JK_LIVE_BLOCK_MIN - 1, &mb), -EINVAL);
}

/* Issue 27.6: probes are gated on 0xD0 bits 1-5 (1 present), not guessed. */
static void probes_are_gated_on_the_presence_bits(void **state)
{
    uint8_t frame[JK_FRAME_LEN];
    struct jk_cell_info ci;
    (void)state;

    load_frame("jk02_32s_v11_cell_info.hex", frame);
    assert_int_equal(frame[6 + 0xd0], 0xff);
    frame[6 + 0xd0] = 0x02 | 0x04 | 0x10; /* T1, T2, T4: T3 and T5 missing */
    assert_int_equal(jk_decode_cell_info(frame, JK_PROTO_JK02_32S, &ci), 0);
    assert_int_equal(ci.ntemps, 3);
    assert_true(ci.temps[0] == 17.7 && ci.temps[1] == 17.7 && ci.temps[2] == 17.9);
    frame[6 + 0xd0] = 0x01 | 0x20; /* MOS and T5 only, whatever the other values */
    assert_int_equal(jk_decode_cell_info(frame, JK_PROTO_JK02_32S, &ci), 0);
    assert_int_equal(ci.ntemps, 1);
    assert_true(ci.temps[0] == 18.0);
    assert_true(ci.has_mos_temp && ci.mos_temp == 17.3);
}

/* Issue 27.7 (0xA8): the remaining capacity is signed. */
static void remaining_capacity_is_signed(void **state)
{
    uint8_t frame[JK_FRAME_LEN];
    struct jk_cell_info ci;
    (void)state;

    load_frame("jk02_32s_v11_cell_info.hex", frame);
    frame[6 + 0xa8] = 0x18, frame[6 + 0xa9] = 0xfc, frame[6 + 0xaa] = 0xff,
                     frame[6 + 0xab] = 0xff; /* -1000 mAh, little-endian */
    assert_int_equal(jk_decode_cell_info(frame, JK_PROTO_JK02_32S, &ci), 0);
    assert_true(ci.remaining_ah == -1.0);
}

/* Issue 27.4: the passcodes of the device-info record (62, 97, 118) are
 * zeroed in a frame or in a part of a register image; nothing else is. */
static void device_info_passcodes_are_masked(void **state)
{
    uint8_t frame[JK_FRAME_LEN], orig[JK_FRAME_LEN], part[20];
    (void)state;

    load_frame("jk02_32s_v11_device_info.hex", frame);
    memset(frame + 62, 'P', 16), memset(frame + 97, 'Q', 5), memset(frame + 118, 'R', 16);
    memcpy(orig, frame, sizeof(frame));
    jk_mask_device_info_secrets(frame, sizeof(frame), 0);
    for (size_t i = 0; i < JK_FRAME_LEN; i++) {
        int secret = (i >= 62 && i < 78) || (i >= 97 && i < 102) || (i >= 118 && i < 134);
        if (secret ? frame[i] != 0 : frame[i] != orig[i])
            fail_msg("byte %zu: %02x", i, frame[i]);
    }
    /* registers 0x1448-0x145B: date, serial, and the first passcode byte */
    memcpy(part, orig + 6 + 0x48, sizeof(part));
    jk_mask_device_info_secrets(part, sizeof(part), 6 + 0x48);
    assert_memory_equal(part, orig + 6 + 0x48, 19);
    assert_int_equal(part[19], 0);
}

static void the_info_block_decodes_as_the_ble_frame(void **state)
{
    uint8_t frame[JK_FRAME_LEN], img[96];
    struct jk_device_info ble, mb;
    (void)state;

    load_frame("jk02_32s_v11_device_info.hex", frame);
    memcpy(img, frame + 6, sizeof(img));
    for (size_t at = 0x20; at <= 0x24; at += 4) { /* run time, power-on count: u32 */
        uint8_t t0 = img[at], t1 = img[at + 1];
        img[at] = img[at + 3], img[at + 1] = img[at + 2], img[at + 2] = t1, img[at + 3] = t0;
    }
    assert_int_equal(jk_decode_device_info(frame, &ble), 0);
    assert_int_equal(jk_decode_info_block(img, sizeof(img), &mb), 0);
    assert_string_equal(mb.hw_version, "14.XA");
    assert_string_equal(mb.sw_version, "14.20");
    assert_string_equal(mb.model, ble.model);
    assert_string_equal(mb.name, ble.name);
    assert_string_equal(mb.serial, ble.serial);
    assert_string_equal(mb.mfg_date, ble.mfg_date);
    assert_int_equal(mb.uptime_s, ble.uptime_s);
    assert_int_equal(mb.power_on_count, ble.power_on_count);
    assert_true(mb.uptime_s > 0 && mb.uptime_s < 100000000u);
    assert_int_equal(jk_decode_info_block(img, JK_INFO_BLOCK_MIN - 1, &mb), -EINVAL);
    /* The documented block alone (20 registers): model and versions */
    assert_int_equal(JK_INFO_BLOCK_MIN, 40);
    assert_int_equal(jk_decode_info_block(img, 40, &mb), 0);
    assert_string_equal(mb.model, ble.model);
    assert_string_equal(mb.sw_version, "14.20");
    assert_int_equal(mb.power_on_count, ble.power_on_count);
    assert_string_equal(mb.serial, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_recorded_answer_decodes_to_its_values),
        cmocka_unit_test(the_request_is_the_recorded_one),
        cmocka_unit_test(every_split_behind_junk_yields_the_answer_once),
        cmocka_unit_test(a_corrupt_byte_anywhere_drops_the_frame_and_the_next_one_arrives),
        cmocka_unit_test(truncated_frames_and_echoes_are_never_delivered),
        cmocka_unit_test(an_unknown_id_ends_the_walk_keeping_what_came_before),
        cmocka_unit_test(current_in_both_protocol_versions),
        cmocka_unit_test(the_protocol_version_is_read_by_position),
        cmocka_unit_test(status_bit_2_is_the_balancer_switch),
        cmocka_unit_test(the_password_is_masked),
        cmocka_unit_test(the_live_block_decodes_as_the_ble_frame),
        cmocka_unit_test(probes_are_gated_on_the_presence_bits),
        cmocka_unit_test(remaining_capacity_is_signed),
        cmocka_unit_test(device_info_passcodes_are_masked),
        cmocka_unit_test(the_info_block_decodes_as_the_ble_frame),
    };
    return cmocka_run_group_tests_name("jk_wired", tests, NULL, NULL);
}

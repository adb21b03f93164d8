/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libjk against the real captured frames and their asserted values, and the
 * assembler against every way notifications break frames apart. */
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
#include "plugins/libjk/jk_plaus.h"
#include "plugins/libjk/jk_stream.h"

static const char *data_dir(void)
{
    static char dir[4096];
    const char *top = getenv("top_srcdir");
    snprintf(dir, sizeof(dir), "%s/tests/data/jk", top ? top : ".");
    return dir;
}

/* A fixture frame: the hex file's bytes, which must be one 300-byte record. */
static void load_frame(const char *name, uint8_t out[JK_FRAME_LEN])
{
    char path[4200], err[256];
    struct jk_capture cap;
    size_t len, used = 0;

    snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
    assert_int_equal(jk_capture_load(path, &cap, err, sizeof(err)), 0);
    for (size_t i = 0; i < cap.n; i++) {
        const uint8_t *c = jk_capture_chunk(&cap, i, &len);
        assert_true(used + len <= JK_FRAME_LEN);
        memcpy(out + used, c, len);
        used += len;
    }
    assert_int_equal(used, JK_FRAME_LEN);
    jk_capture_free(&cap);
}

static const char *const fixtures[] = {
    "jk02_24s_v10_cell_info", "jk02_24s_v10_cell_info_neg_temps", "jk02_24s_v10_device_info",
    "jk02_32s_v11_cell_info", "jk02_32s_v11_device_info",          "jk04_cell_info",
    "jk04_device_info",
};

/* The decoded value of a fixture field; *is_text set for string fields. */
static int field_value(const char *field, size_t index, const struct jk_cell_info *ci,
                       const struct jk_device_info *di, double *num, char *text, size_t cap)
{
    struct jk_cell_stats st;
    double power = ci->pack_v * ci->current_a;

    jk_cell_stats(ci, &st);
    text[0] = '\0';
    if (strcmp(field, "cells") == 0 && index >= 1 && index <= ci->ncells)
        *num = ci->cell_v[index - 1];
    else if (strcmp(field, "cell_resistances") == 0 && index >= 1 && index <= ci->ncells)
        *num = ci->cell_ohm[index - 1];
    else if (strcmp(field, "temperatures") == 0 && index >= 1 && index <= ci->ntemps)
        *num = ci->temps[index - 1];
    else if (strcmp(field, "cell_min") == 0)
        *num = st.min_v;
    else if (strcmp(field, "cell_max") == 0)
        *num = st.max_v;
    else if (strcmp(field, "cell_min_index") == 0)
        *num = (double)st.min_index;
    else if (strcmp(field, "cell_max_index") == 0)
        *num = (double)st.max_index;
    else if (strcmp(field, "cell_delta") == 0)
        *num = st.delta_v;
    else if (strcmp(field, "cell_avg") == 0)
        *num = st.avg_v;
    else if (strcmp(field, "total_voltage") == 0)
        *num = ci->pack_v;
    else if (strcmp(field, "current") == 0)
        *num = ci->current_a;
    else if (strcmp(field, "power") == 0)
        *num = power;
    else if (strcmp(field, "charging_power") == 0)
        *num = power > 0 ? power : 0;
    else if (strcmp(field, "discharging_power") == 0)
        *num = power < 0 ? -power : 0;
    else if (strcmp(field, "mos_temp") == 0 && ci->has_mos_temp)
        *num = ci->mos_temp;
    else if (strcmp(field, "balancer_status") == 0)
        *num = ci->balancing_action;
    else if (strcmp(field, "balancing") == 0)
        *num = ci->balancing_action != 0;
    else if (strcmp(field, "soc") == 0 && ci->has_pack)
        *num = ci->soc;
    else if (strcmp(field, "soh") == 0 && ci->has_pack)
        *num = ci->soh;
    else if (strcmp(field, "capacity_remaining") == 0 && ci->has_pack)
        *num = ci->remaining_ah;
    else if (strcmp(field, "nominal_capacity") == 0 && ci->has_pack)
        *num = ci->nominal_ah;
    else if (strcmp(field, "cycles") == 0 && ci->has_pack)
        *num = ci->cycles;
    else if (strcmp(field, "runtime") == 0 && ci->has_runtime)
        *num = ci->runtime_s;
    else if (strcmp(field, "charging") == 0 && ci->charging >= 0)
        *num = ci->charging;
    else if (strcmp(field, "discharging") == 0 && ci->discharging >= 0)
        *num = ci->discharging;
    else if (strcmp(field, "heating") == 0 && ci->heating >= 0)
        *num = ci->heating;
    else if (strcmp(field, "errors_hex") == 0 && ci->has_errors)
        snprintf(text, cap, "0x%08X", (unsigned)ci->errors);
    else if (strcmp(field, "error_text") == 0 && ci->has_errors) {
        char names[512];
        jk_error_names(ci->errors, ci->proto, names, sizeof(names));
        /* the reference joins names with ";", we with ", " */
        for (char *p = names; (p = strstr(p, ", ")) != NULL;)
            memmove(p + 1, p + 2, strlen(p + 2) + 1), *p = ';';
        snprintf(text, cap, "%s", names);
    } else if (strcmp(field, "runtime_formatted") == 0 && ci->has_runtime)
        jk_format_runtime(ci->runtime_s, text, cap);
    else if (strcmp(field, "hardware_version") == 0 && di != NULL)
        snprintf(text, cap, "%s", di->hw_version);
    else if (strcmp(field, "software_version") == 0 && di != NULL)
        snprintf(text, cap, "%s", di->sw_version);
    else
        return -ENOENT;
    return 0;
}

static void every_asserted_value_is_reproduced(void **state)
{
    size_t checked = 0;
    (void)state;

    for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
        char path[4200], name[256], text[512];
        uint8_t frame[JK_FRAME_LEN];
        json_error_t jerr;
        json_t *root, *expected, *e;
        struct jk_cell_info ci;
        struct jk_device_info di;
        int proto, is_cell;
        size_t i;

        snprintf(path, sizeof(path), "%s/%s.expected.json", data_dir(), fixtures[f]);
        root = json_load_file(path, 0, &jerr);
        assert_non_null(root);
        snprintf(name, sizeof(name), "%s.hex", fixtures[f]);
        load_frame(name, frame);
        assert_true(jk_frame_checksum_ok(frame));
        assert_int_equal(frame[4], json_integer_value(json_object_get(root, "record_type")));
        assert_int_equal(jk_protocol_parse(json_string_value(json_object_get(root, "protocol")),
                                           &proto),
                         0);
        is_cell = frame[4] == JK_RECORD_CELL_INFO;
        if (is_cell) {
            assert_int_equal(jk_decode_cell_info(frame, proto, &ci), 0);
            /* and auto-detection picks the fixture's variant by itself */
            assert_int_equal(jk_cell_info_fits(frame, proto), 1);
            /* and every value of a real frame is plausible */
            {
                struct jk_plaus pl;
                jk_plaus_check(&ci, &pl);
                assert_int_equal(pl.n, 0);
                assert_int_equal(pl.ntemps, ci.ntemps);
            }
        } else {
            memset(&ci, 0, sizeof(ci));
            assert_int_equal(jk_decode_device_info(frame, &di), 0);
            assert_int_equal(jk_detect_from_device_info(&di), proto);
        }
        expected = json_object_get(root, "expected");
        json_array_foreach(expected, i, e)
        {
            const char *field = json_string_value(json_object_get(e, "field"));
            json_t *idx = json_object_get(e, "index");
            json_t *value = json_object_get(e, "value");
            double tol = json_number_value(json_object_get(e, "tolerance")), got = NAN;
            int rc = field_value(field, idx ? (size_t)json_integer_value(idx) : 0, &ci,
                                 is_cell ? NULL : &di, &got, text, sizeof(text));
            if (rc != 0)
                fail_msg("%s: field %s[%lld] not decoded", fixtures[f], field,
                         idx ? (long long)json_integer_value(idx) : 0LL);
            if (json_is_string(value)) {
                if (strcmp(text, json_string_value(value)) != 0)
                    fail_msg("%s: %s = \"%s\", want \"%s\"", fixtures[f], field, text,
                             json_string_value(value));
            } else {
                double want = json_is_boolean(value) ? (double)json_is_true(value)
                                                     : json_number_value(value);
                double slack = tol > 0 ? tol + 1e-9 : 1e-5 * fmax(1.0, fabs(want));
                if (!(fabs(got - want) <= slack))
                    fail_msg("%s: %s[%lld] = %.6f, want %.6f +- %g", fixtures[f], field,
                             idx ? (long long)json_integer_value(idx) : 0LL, got, want, tol);
            }
            checked++;
        }
        json_decref(root);
    }
    /* 54 + 3 + 2 + 19 + 2 + 5 + 2 values across the seven fixtures */
    assert_int_equal(checked, 87);
}

struct collected {
    int types[64];
    size_t n;
};

static void collect(const uint8_t *frame, void *user)
{
    struct collected *c = user;
    if (c->n < 64)
        c->types[c->n] = frame[4];
    c->n++;
}

static void feed_chunks(struct jk_assembler *a, const uint8_t *p, size_t len, size_t chunk,
                        struct collected *c)
{
    for (size_t off = 0; off < len; off += chunk)
        jk_assembler_feed(a, p + off, len - off < chunk ? len - off : chunk, collect, c);
}

static const uint8_t ack[JK_ACK_LEN] = {0xaa, 0x55, 0x90, 0xeb, 0xc8, 0x01, 0x01, 0, 0, 0,
                                        0,    0,    0,    0,    0,    0,    0,    0, 0, 0x44};

static void every_chunk_size_yields_each_record_once(void **state)
{
    uint8_t di[300], ci[300], stream[2048];
    size_t len = 0;
    (void)state;

    load_frame("jk02_32s_v11_device_info.hex", di);
    load_frame("jk02_32s_v11_cell_info.hex", ci);
    memcpy(stream + len, "AT\r\n", 4), len += 4;
    memcpy(stream + len, di, 300), len += 300;
    memcpy(stream + len, ack, 20), len += 20;
    memcpy(stream + len, "AT\r\n", 4), len += 4;
    memcpy(stream + len, ci, 300), len += 300;
    memcpy(stream + len, ci, 300), len += 300; /* back to back */
    memcpy(stream + len, "AT\r\n", 4), len += 4;
    for (size_t chunk = 1; chunk <= 512; chunk++) {
        struct jk_assembler a;
        struct collected c = {{0}, 0};
        jk_assembler_init(&a);
        feed_chunks(&a, stream, len, chunk, &c);
        if (c.n != 3 || c.types[0] != 3 || c.types[1] != 2 || c.types[2] != 2)
            fail_msg("chunk size %zu: %zu records", chunk, c.n);
        assert_int_equal(a.acks, 1);
        assert_int_equal(a.bad_frames, 0);
        /* the last 3 bytes stay buffered: they could start a preamble */
        assert_int_equal(a.junk_bytes + a.len, 12);
        assert_true(a.len <= 3);
    }
}

static void truncated_records_are_never_delivered(void **state)
{
    uint8_t ci[300], good[300];
    (void)state;

    load_frame("jk02_24s_v10_cell_info.hex", ci);
    load_frame("jk02_24s_v10_cell_info_neg_temps.hex", good);
    for (size_t cut = 0; cut < 300; cut++) {
        struct jk_assembler a;
        struct collected c = {{0}, 0};
        jk_assembler_init(&a);
        jk_assembler_feed(&a, ci, cut, collect, &c);
        assert_int_equal(c.n, 0);
        /* a new record after the cut-short one: the stub is dropped, the
         * new one delivered */
        jk_assembler_feed(&a, good, 300, collect, &c);
        if (c.n != 1)
            fail_msg("cut at %zu: %zu records after a good one", cut, c.n);
    }
}

static void a_checksum_error_at_any_byte_drops_the_record(void **state)
{
    uint8_t ci[300], bad[300], good[300];
    (void)state;

    load_frame("jk04_cell_info.hex", ci);
    load_frame("jk02_32s_v11_cell_info.hex", good);
    for (size_t i = 4; i < 300; i++) { /* bytes 0..3 are the preamble itself */
        struct jk_assembler a;
        struct collected c = {{0}, 0};
        memcpy(bad, ci, 300);
        bad[i] ^= 0x01;
        jk_assembler_init(&a);
        jk_assembler_feed(&a, bad, 300, collect, &c);
        jk_assembler_feed(&a, good, 300, collect, &c);
        if (c.n != 1 || a.bad_frames != 1)
            fail_msg("byte %zu flipped: %zu records, %lu bad", i, c.n, a.bad_frames);
    }
}

static void variants_interleaved_and_acks_glued(void **state)
{
    static const char *const names[] = {"jk02_24s_v10_cell_info.hex", "jk02_32s_v11_cell_info.hex",
                                        "jk04_cell_info.hex"};
    static const int protos[] = {JK_PROTO_JK02_24S, JK_PROTO_JK02_32S, JK_PROTO_JK04};
    uint8_t frames[3][300], glued[320];
    struct jk_stream s;
    struct jk_cell_info ci;
    (void)state;

    for (int i = 0; i < 3; i++)
        load_frame(names[i], frames[i]);
    jk_stream_init(&s, JK_PROTO_AUTO);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) {
            /* the old module glues the ack to the last 44 bytes: 256 + 64 */
            memcpy(glued, frames[i], 300);
            memcpy(glued + 300, ack, 20);
            jk_stream_feed(&s, glued, 256);
            assert_int_equal(jk_stream_take_cell_info(&s, &ci), -EAGAIN);
            jk_stream_feed(&s, glued + 256, 64);
            assert_int_equal(jk_stream_take_cell_info(&s, &ci), 0);
            assert_int_equal(ci.proto, protos[i]);
        }
    }
    assert_int_equal(s.as.acks, 6);
    assert_int_equal(s.as.bad_frames, 0);
}

static void a_configured_variant_that_does_not_fit_is_refused(void **state)
{
    uint8_t ci24[300];
    struct jk_stream s;
    struct jk_cell_info ci;
    (void)state;

    load_frame("jk02_24s_v10_cell_info.hex", ci24);
    assert_int_equal(jk_cell_info_fits(ci24, JK_PROTO_JK02_32S), 0);
    assert_int_equal(jk_cell_info_fits(ci24, JK_PROTO_JK04), 0);
    jk_stream_init(&s, JK_PROTO_JK02_32S);
    jk_stream_feed(&s, ci24, 300);
    assert_int_equal(jk_stream_take_cell_info(&s, &ci), -EPROTO);
    assert_non_null(strstr(jk_stream_error(&s), "JK02_32S"));
    assert_int_equal(jk_stream_take_cell_info(&s, &ci), -EAGAIN); /* dropped, not kept */
}

static void undecidable_frames_ask_for_the_protocol(void **state)
{
    uint8_t f[300] = {0};
    struct jk_stream s;
    struct jk_cell_info ci;
    unsigned sum = 0;
    (void)state;

    /* A cell-info record with no plausible content for any variant. */
    f[0] = 0x55, f[1] = 0xaa, f[2] = 0xeb, f[3] = 0x90, f[4] = 0x02;
    for (int i = 0; i < 299; i++)
        sum += f[i];
    f[299] = (uint8_t)sum;
    jk_stream_init(&s, JK_PROTO_AUTO);
    jk_stream_feed(&s, f, 300);
    assert_int_equal(jk_stream_take_cell_info(&s, &ci), -EPROTO);
    assert_non_null(strstr(jk_stream_error(&s), "protocol = "));
}

static void commands_are_exact(void **state)
{
    static const uint8_t want97[20] = {0xaa, 0x55, 0x90, 0xeb, 0x97, 0, 0, 0, 0, 0,
                                       0,    0,    0,    0,    0,    0, 0, 0, 0, 0x11};
    static const uint8_t want96[20] = {0xaa, 0x55, 0x90, 0xeb, 0x96, 0, 0, 0, 0, 0,
                                       0,    0,    0,    0,    0,    0, 0, 0, 0, 0x10};
    uint8_t out[20];
    (void)state;

    jk_build_command(JK_CMD_DEVICE_INFO, out);
    assert_memory_equal(out, want97, 20);
    jk_build_command(JK_CMD_CELL_INFO, out);
    assert_memory_equal(out, want96, 20);
}

static void hex_dumps_in_every_spelling(void **state)
{
    static const char text[] = "# comment line\n"
                               "55aaEB90 # trailing comment\n"
                               "\n"
                               "0x01 0x02\t03.04:05,06-07\n";
    static const char bad[] = "55 aa\nzz\n";
    static const char odd[] = "55 aa\n\n5a5\n";
    struct jk_capture cap;
    char err[128];
    size_t len;
    const uint8_t *c;
    (void)state;

    assert_int_equal(jk_capture_parse_hex(text, strlen(text), &cap, err, sizeof(err)), 0);
    assert_int_equal(cap.n, 2);
    c = jk_capture_chunk(&cap, 0, &len);
    assert_int_equal(len, 4);
    assert_int_equal(c[2], 0xeb);
    c = jk_capture_chunk(&cap, 1, &len);
    assert_int_equal(len, 7);
    assert_int_equal(c[6], 0x07);
    jk_capture_free(&cap);
    assert_int_equal(jk_capture_parse_hex(bad, strlen(bad), &cap, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 2"));
    assert_int_equal(jk_capture_parse_hex(odd, strlen(odd), &cap, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "line 3: odd number"));
}

/* Cell-info records a hex dump held in memory yields; -1 if it does not parse. */
static int cell_infos_in(const char *text, size_t len, size_t *cut_line)
{
    struct jk_capture cap;
    struct jk_stream s;
    struct jk_cell_info ci;
    char err[256];
    int n = 0;

    if (jk_capture_parse_hex(text, len, &cap, err, sizeof(err)) < 0)
        return -1;
    jk_stream_init(&s, JK_PROTO_AUTO);
    for (size_t i = 0; i < cap.n; i++) {
        size_t clen;
        const uint8_t *c = jk_capture_chunk(&cap, i, &clen);
        jk_stream_feed(&s, c, clen);
        n += jk_stream_take_cell_info(&s, &ci) == 0;
    }
    *cut_line = cap.cut_line;
    jk_capture_free(&cap);
    return n;
}

/* Ctrl-C while a capture is written cuts its last line anywhere: every
 * complete frame before the cut is still read. */
static void a_capture_cut_mid_line_keeps_every_complete_frame(void **state)
{
    char path[4200], *text, *longer;
    size_t len = 0, cut, line17 = 0, nl = 0;
    int prev = 0, n;
    FILE *fp;
    (void)state;

    snprintf(path, sizeof(path), "%s/etc/demo/jk_pb2a16s15p.hex",
             getenv("top_srcdir") ? getenv("top_srcdir") : ".");
    fp = fopen(path, "rb");
    assert_non_null(fp);
    text = calloc(1, 16384);
    assert_non_null(text);
    len = fread(text, 1, 16383, fp);
    fclose(fp);
    assert_true(len > 0 && len < 16383 && text[len - 1] == '\n');
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && ++nl == 16)
            line17 = i + 1; /* where line 17 starts */
    assert_int_equal(cell_infos_in(text, len, &cut), 2);
    assert_int_equal(cut, 0);
    /* any cut: never an error, frames only ever added as the cut moves on */
    for (size_t k = 0; k <= len; k++) {
        n = cell_infos_in(text, k, &cut);
        if (n < prev)
            fail_msg("cut at byte %zu: %d frame(s), %d before", k, n, prev);
        prev = n;
    }
    /* cut inside a byte in the middle of the second cell-info record (line 17) */
    assert_int_equal(cell_infos_in(text, line17 + 151, &cut), 1);
    assert_int_equal(cut, 17);
    /* the checksum byte itself cut in half: that record is not complete */
    assert_int_equal(cell_infos_in(text, len - 2, &cut), 1);
    assert_int_equal(cut, 18);
    assert_int_equal(cell_infos_in(text, len - 1, &cut), 2); /* only the newline missing */
    assert_int_equal(cut, 0);
    /* the next notification cut while being written: both records are read */
    longer = calloc(1, len + 16);
    assert_non_null(longer);
    memcpy(longer, text, len);
    memcpy(longer + len, "55 aa eb 9", 10);
    assert_int_equal(cell_infos_in(longer, len + 10, &cut), 2);
    assert_int_equal(cut, 19);
    /* a bad line that is not the last one is still an error */
    memcpy(longer + len, "5\n55 aa\n", 9);
    assert_int_equal(cell_infos_in(longer, len + 9, &cut), -1);
    free(longer);
    free(text);
}

/* btsnoop writer for the test: H4 records, big-endian headers. */
static size_t put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
    return 4;
}

static size_t snoop_record(uint8_t *out, uint32_t flags, const uint8_t *pkt, size_t n)
{
    size_t o = 0;
    o += put_be32(out + o, (uint32_t)n);
    o += put_be32(out + o, (uint32_t)n);
    o += put_be32(out + o, flags);
    o += put_be32(out + o, 0);
    memset(out + o, 0, 8), o += 8;
    memcpy(out + o, pkt, n);
    return o + n;
}

/* An ATT notification of `value` on `handle`, as ACL fragments of at most 27 bytes. */
static size_t snoop_notification(uint8_t *out, uint16_t conn, const uint8_t *value, size_t n)
{
    uint8_t l2[600], pkt[64];
    size_t l2len = 4 + 3 + n, o = 0;

    l2[0] = (uint8_t)((l2len - 4) & 0xff), l2[1] = (uint8_t)((l2len - 4) >> 8);
    l2[2] = 4, l2[3] = 0;          /* CID 4: ATT */
    l2[4] = 0x1b, l2[5] = 0x12, l2[6] = 0; /* notification, handle 0x0012 */
    memcpy(l2 + 7, value, n);
    for (size_t off = 0; off < l2len; off += 27) {
        size_t frag = l2len - off < 27 ? l2len - off : 27;
        uint16_t hdr = (uint16_t)(conn | (off == 0 ? 0x2000 : 0x1000));
        pkt[0] = 0x02;
        pkt[1] = (uint8_t)(hdr & 0xff), pkt[2] = (uint8_t)(hdr >> 8);
        pkt[3] = (uint8_t)frag, pkt[4] = 0;
        memcpy(pkt + 5, l2 + off, frag);
        o += snoop_record(out + o, 1 /* received */, pkt, 5 + frag);
    }
    return o;
}

static void btsnoop_notifications_reassembled(void **state)
{
    uint8_t di[300], ci[300];
    uint8_t *buf = calloc(1, 1 << 16);
    size_t o = 0;
    struct jk_capture cap;
    struct jk_stream s;
    struct jk_cell_info out;
    char err[128];
    static const uint8_t disc[] = {0x04, 0x05, 0x04, 0x00, 0x40, 0x00, 0x13};
    (void)state;

    assert_non_null(buf);
    load_frame("jk02_32s_v11_device_info.hex", di);
    load_frame("jk02_32s_v11_cell_info.hex", ci);
    memcpy(buf, "btsnoop", 8), o = 8;
    o += put_be32(buf + o, 1);
    o += put_be32(buf + o, 1002);
    o += snoop_notification(buf + o, 0x40, di, 128);
    o += snoop_notification(buf + o, 0x41, ci, 100); /* another link, interleaved */
    o += snoop_notification(buf + o, 0x40, di + 128, 172);
    o += snoop_record(buf + o, 3, disc, sizeof(disc)); /* link 0x40 drops */
    o += snoop_notification(buf + o, 0x41, ci + 100, 200);
    o += snoop_notification(buf + o, 0x40, ci, 150);   /* new link 0x40 */
    o += snoop_notification(buf + o, 0x40, ci + 150, 150);
    assert_int_equal(jk_capture_parse_btsnoop(buf, o, &cap, err, sizeof(err)), 0);
    assert_int_equal(cap.n, 6);
    {
        /* each notification whole again, per link, in capture order */
        const uint8_t *want[6] = {di, ci, di + 128, ci + 100, ci, ci + 150};
        const size_t want_len[6] = {128, 100, 172, 200, 150, 150};
        for (size_t i = 0; i < 6; i++) {
            size_t len;
            const uint8_t *c = jk_capture_chunk(&cap, i, &len);
            assert_int_equal(len, want_len[i]);
            assert_memory_equal(c, want[i], len);
        }
    }
    /* the last two chunks are one record of the new link */
    jk_stream_init(&s, JK_PROTO_AUTO);
    for (size_t i = 4; i < 6; i++) {
        size_t len;
        const uint8_t *c = jk_capture_chunk(&cap, i, &len);
        jk_stream_feed(&s, c, len);
    }
    assert_int_equal(jk_stream_take_cell_info(&s, &out), 0);
    assert_true(fabs(out.pack_v - 51.689) < 1e-9);
    jk_capture_free(&cap);
    /* truncation anywhere in a record header is reported or tolerated, never read past */
    for (size_t cut = 0; cut < 40; cut++) {
        int rc = jk_capture_parse_btsnoop(buf, cut, &cap, err, sizeof(err));
        assert_true(rc == -EINVAL || rc == 0);
        if (rc == 0)
            jk_capture_free(&cap);
    }
    free(buf);
}

static void runtime_formatting(void **state)
{
    char buf[32];
    (void)state;
    jk_format_runtime(269340, buf, sizeof(buf));
    assert_string_equal(buf, "3d 2h");
    jk_format_runtime(59, buf, sizeof(buf));
    assert_string_equal(buf, "0h");
    jk_format_runtime(365u * 86400u + 3600u, buf, sizeof(buf));
    assert_string_equal(buf, "1y 1h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_asserted_value_is_reproduced),
        cmocka_unit_test(every_chunk_size_yields_each_record_once),
        cmocka_unit_test(truncated_records_are_never_delivered),
        cmocka_unit_test(a_checksum_error_at_any_byte_drops_the_record),
        cmocka_unit_test(variants_interleaved_and_acks_glued),
        cmocka_unit_test(a_configured_variant_that_does_not_fit_is_refused),
        cmocka_unit_test(undecidable_frames_ask_for_the_protocol),
        cmocka_unit_test(commands_are_exact),
        cmocka_unit_test(hex_dumps_in_every_spelling),
        cmocka_unit_test(a_capture_cut_mid_line_keeps_every_complete_frame),
        cmocka_unit_test(btsnoop_notifications_reassembled),
        cmocka_unit_test(runtime_formatting),
    };
    return cmocka_run_group_tests_name("libjk", tests, NULL, NULL);
}

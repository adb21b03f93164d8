/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_uart.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugins/libjk/jk_bytes.h"

#define HEADER_LEN  11 /* 4E 57, length, terminal (4), command, source, type */
#define TRAILER_LEN 9  /* record number (4), end mark 68, checksum (4) */
#define END_MARK    0x68

void jk_uart_build_read_all(uint8_t out[JK_UART_REQ_LEN])
{
    static const uint8_t req[JK_UART_REQ_LEN] = {0x4e, 0x57, 0x00, 0x13, 0x00, 0x00, 0x00,
                                                 0x00, 0x06, 0x03, 0x00, 0x00, 0x00, 0x00,
                                                 0x00, 0x00, 0x68, 0x00, 0x00, 0x01, 0x29};
    memcpy(out, req, sizeof(req));
}

/* Whether buf[0..avail) starts a frame: its total length when complete and
 * valid (magic, length, end mark, checksum), 0 when more bytes are needed,
 * -EBADMSG when it cannot be one. */
static long frame_at(const uint8_t *buf, size_t avail)
{
    size_t total;
    uint32_t sum = 0;

    if (avail >= 1 && buf[0] != 0x4e)
        return -EBADMSG;
    if (avail >= 2 && buf[1] != 0x57)
        return -EBADMSG;
    if (avail < 4)
        return 0;
    total = (size_t)get_be16(buf + 2) + 2;
    if (total < JK_UART_MIN_FRAME || total > JK_UART_MAX_FRAME)
        return -EBADMSG;
    if (avail < total)
        return 0;
    if (buf[total - 5] != END_MARK)
        return -EBADMSG;
    for (size_t i = 0; i < total - 4; i++)
        sum += buf[i];
    return sum == get_be32(buf + total - 4) ? (long)total : -EBADMSG;
}

void jk_uart_assembler_init(struct jk_uart_assembler *a)
{
    memset(a, 0, sizeof(*a));
}

void jk_uart_assembler_reset(struct jk_uart_assembler *a)
{
    a->len = 0;
}

static void drop(struct jk_uart_assembler *a, size_t n)
{
    memmove(a->buf, a->buf + n, a->len - n);
    a->len -= n;
}

/* A complete valid frame further on while the one at 0 is still waiting for
 * bytes (its length field may be junk): its offset, or 0 when none. */
static size_t later_frame(const struct jk_uart_assembler *a)
{
    for (size_t i = 1; i + 1 < a->len; i++)
        if (a->buf[i] == 0x4e && frame_at(a->buf + i, a->len - i) > 0)
            return i;
    return 0;
}

static void deliver(struct jk_uart_assembler *a, size_t total, jk_uart_frame_fn on_frame,
                    void *user)
{
    if (a->buf[8] == JK_UART_CMD_READ_ALL && a->buf[10] == JK_UART_TYPE_RESPONSE) {
        a->frames++;
        on_frame(a->buf, total, user);
    } else {
        a->ignored++;
    }
    drop(a, total);
}

static void process(struct jk_uart_assembler *a, jk_uart_frame_fn on_frame, void *user)
{
    while (a->len > 0) {
        long r = frame_at(a->buf, a->len);
        size_t skip;
        if (r > 0) {
            deliver(a, (size_t)r, on_frame, user);
            continue;
        }
        if (r == 0) {
            skip = later_frame(a);
            if (skip == 0)
                return; /* wait for more */
            a->bad_frames++;
        } else {
            /* Not a frame here: resync at the next 4E. */
            const uint8_t *next = memchr(a->buf + 1, 0x4e, a->len - 1);
            skip = next != NULL ? (size_t)(next - a->buf) : a->len;
            if (a->buf[0] == 0x4e && a->len >= 2 && a->buf[1] == 0x57)
                a->bad_frames++;
            else
                a->junk_bytes += skip;
        }
        drop(a, skip);
    }
}

void jk_uart_assembler_feed(struct jk_uart_assembler *a, const uint8_t *data, size_t len,
                            jk_uart_frame_fn on_frame, void *user)
{
    while (len > 0) {
        size_t room = sizeof(a->buf) - a->len, n = len < room ? len : room;
        if (n == 0) {
            /* Full without a frame: no valid frame is that long. */
            a->junk_bytes += a->len;
            a->len = 0;
            continue;
        }
        memcpy(a->buf + a->len, data, n);
        a->len += n;
        data += n;
        len -= n;
        process(a, on_frame, user);
    }
}

int jk_uart_id_size(uint8_t id)
{
    if (id >= 0x80 && id <= 0x84)
        return 2;
    if (id >= 0x8e && id <= 0x9c)
        return 2;
    if (id >= 0x9e && id <= 0xa8)
        return 2;
    switch (id) {
    case 0x79:
        return 0;
    case 0x85:
    case 0x86:
    case 0x9d:
    case 0xa9:
    case 0xab:
    case 0xac:
    case 0xae:
    case 0xaf:
    case 0xb1:
    case 0xb3:
    case 0xb8:
    case 0xc0:
        return 1;
    case 0x87:
    case 0x8a:
    case 0x8b:
    case 0x8c:
    case 0xad:
    case 0xb0:
        return 2;
    case 0x89:
    case 0xaa:
    case 0xb5:
    case 0xb6:
    case 0xb9:
        return 4;
    case 0xb4:
        return 8;
    case 0xb2:
        return 10;
    case 0xb7:
        return 15;
    case 0xba:
        return 24;
    default:
        return -1;
    }
}

/* 0-100 are degrees, above 100 is minus (value - 100). */
static double temperature(const uint8_t *p)
{
    uint16_t v = get_be16(p);
    return v <= 100 ? (double)v : -(double)(v - 100);
}

static void cells(struct jk_cell_info *ci, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i += 3) {
        unsigned number = p[i];
        if (number == 0 || number > JK_MAX_CELLS)
            continue;
        ci->cell_v[number - 1] = get_be16(p + i + 1) / 1000.0;
        if (number > ci->ncells)
            ci->ncells = number;
    }
}

struct walk {
    int has_box, has_battery, has_current;
    double box, battery;
    uint16_t current_raw;
};

static void field(struct jk_uart_data *d, struct walk *w, uint8_t id, const uint8_t *p)
{
    struct jk_cell_info *ci = &d->ci;

    switch (id) {
    case 0x80:
        ci->has_mos_temp = 1;
        ci->mos_temp = temperature(p);
        break;
    case 0x81:
        w->has_box = 1;
        w->box = temperature(p);
        break;
    case 0x82:
        w->has_battery = 1;
        w->battery = temperature(p);
        break;
    case 0x83:
        ci->has_pack = 1;
        ci->pack_v = get_be16(p) / 100.0;
        break;
    case 0x84:
        w->has_current = 1;
        w->current_raw = get_be16(p);
        break;
    case 0x85:
        ci->soc = p[0];
        break;
    case 0x87:
        ci->cycles = get_be16(p);
        break;
    case 0x89:
        ci->cycle_capacity_ah = get_be32(p);
        break;
    case 0x8a:
        d->cell_count = get_be16(p);
        break;
    case 0x8b:
        ci->has_errors = 1;
        ci->errors = get_be16(p);
        break;
    case 0x8c:
        ci->charging = (p[1] & 0x01) != 0;
        ci->discharging = (p[1] & 0x02) != 0;
        ci->balancer_switch = (p[1] & 0x04) != 0; /* the switch, not balancing now */
        break;
    case 0xaa:
        ci->nominal_ah = get_be32(p);
        break;
    case 0xb4:
        jk_text_field(d->device_id, sizeof(d->device_id), p, 8);
        break;
    case 0xb6:
        ci->has_runtime = 1;
        ci->runtime_s = get_be32(p) * 60u;
        break;
    case 0xb7:
        jk_text_field(d->software_version, sizeof(d->software_version), p, 15);
        break;
    case 0xba:
        jk_text_field(d->manufacturer, sizeof(d->manufacturer), p, 24);
        break;
    case 0xc0: /* also read by position (protocol_version_at), which wins */
        if (d->protocol_version < 0)
            d->protocol_version = p[0];
        break;
    default:
        break;
    }
}

/* Current in 10 mA: protocol version 1 sets bit 15 when charging; version
 * 0 sends 10000 - current. Positive = charging. */
static double current(uint16_t raw, int version)
{
    double a;
    if (version == 1)
        a = (raw & 0x7fffu) / 100.0 * ((raw & 0x8000u) ? 1 : -1);
    else
        a = (10000 - (int)raw) / 100.0;
    return a == 0.0 ? 0.0 : a; /* never -0 */
}

/* "10.XW_S10.07___" is hardware "10.XW", software "10.07" (as BLE names them). */
static void versions(struct jk_uart_data *d)
{
    const char *v = d->software_version, *s = strstr(v, "_S");
    size_t hw = s != NULL ? (size_t)(s - v) : strlen(v);
    size_t n;

    if (v[0] == '\0')
        return;
    d->has_device_info = 1;
    snprintf(d->di.hw_version, sizeof(d->di.hw_version), "%.*s", (int)hw, v);
    if (s != NULL) {
        s += 2;
        n = strcspn(s, "_");
        snprintf(d->di.sw_version, sizeof(d->di.sw_version), "%.*s", (int)n, s);
    }
    /* The manufacturer field ends with the model ("...JK-B2A24S15P"). */
    s = strstr(d->manufacturer, "JK");
    snprintf(d->di.model, sizeof(d->di.model), "%.16s", s != NULL ? s : d->manufacturer);
    snprintf(d->di.name, sizeof(d->di.name), "%s", d->device_id);
}

static void finish(struct jk_uart_data *d, const struct walk *w)
{
    struct jk_cell_info *ci = &d->ci;

    if (w->has_box)
        ci->temps[ci->ntemps++] = w->box;
    if (w->has_battery)
        ci->temps[ci->ntemps++] = w->battery;
    if (w->has_current)
        ci->current_a = current(w->current_raw, d->protocol_version);
    else
        ci->has_pack = 0;
    if (!ci->has_pack) {
        /* Without a pack voltage and current: the sum of the cells, as JK04. */
        ci->pack_v = 0;
        for (size_t i = 0; i < ci->ncells; i++)
            ci->pack_v += ci->cell_v[i];
    }
    versions(d);
}

/* The protocol version (ID 0xC0) is the last value of the data, just
 * before the record number: read it there, so a walk that stops at an
 * unknown ID still knows the convention of the current. -1 when absent. */
static int protocol_version_at(const uint8_t *frame, size_t len)
{
    size_t id_at = len - TRAILER_LEN - 2;
    return len >= HEADER_LEN + TRAILER_LEN + 2 && id_at >= HEADER_LEN && frame[id_at] == 0xc0
               ? frame[id_at + 1]
               : -1;
}

/* Zero the password (TLV 0xB2) walking the IDs as the decoder does, in a
 * frame or in what looks like the start of one (4E 57, up to `len` bytes). Where
 * the walk stops at an unknown ID the rest cannot be told apart: all of it
 * is zeroed, but for the protocol version at the end. */
void jk_uart_mask_password(uint8_t *frame, size_t len)
{
    size_t i = HEADER_LEN, end, total, keep = 0;

    if (len < JK_UART_MIN_FRAME || frame[0] != 0x4e || frame[1] != 0x57 ||
        frame[8] != JK_UART_CMD_READ_ALL || frame[10] != JK_UART_TYPE_RESPONSE)
        return; /* only a read-all answer carries the password */
    /* The frame's own length when the bytes hold that much (checksum or
     * not: a corrupted frame is dumped too); a frame cut short has no
     * trailer in the bytes. */
    total = (size_t)get_be16(frame + 2) + 2;
    if (total >= JK_UART_MIN_FRAME && total <= len) {
        len = total;
        end = len - TRAILER_LEN;
        keep = protocol_version_at(frame, len) >= 0 ? 2 : 0;
    } else {
        end = len;
    }
    while (i < end) {
        uint8_t id = frame[i];
        int size = jk_uart_id_size(id);
        size_t at = i + 1, n = (size_t)size;
        if (size == 0 && at < end)
            n = frame[at++];
        if (size < 0 || (size == 0 && at >= end) || n > end - at)
            break;
        if (id == 0xb2)
            memset(frame + at, 0, n);
        i = at + n;
    }
    if (i < end && end - keep > i)
        memset(frame + i, 0, end - keep - i);
}

int jk_uart_decode(const uint8_t *frame, size_t len, struct jk_uart_data *out)
{
    struct jk_uart_data d;
    struct walk w;
    struct jk_cursor c;

    if (len < JK_UART_MIN_FRAME || frame_at(frame, len) != (long)len)
        return -EBADMSG;
    memset(&d, 0, sizeof(d));
    memset(&w, 0, sizeof(w));
    d.ci.proto = JK_PROTO_UART;
    d.ci.charging = d.ci.discharging = d.ci.heating = -1;
    d.ci.no_cell_ohm = d.ci.no_remaining = 1; /* not in the protocol */
    d.ci.no_balancing = 1;                    /* only the switch (0x8C bit 2) */
    d.ci.balancer_switch = -1;
    d.protocol_version = protocol_version_at(frame, len);
    jk_cursor_init(&c, frame + HEADER_LEN, len - HEADER_LEN - TRAILER_LEN);
    while (jk_cursor_left(&c) > 0) {
        uint8_t id = jk_cursor_u8(&c);
        int size = jk_uart_id_size(id);
        const uint8_t *p;
        if (size < 0) {
            d.stopped_at = id;
            break;
        }
        if (size == 0) {
            size_t n = jk_cursor_u8(&c);
            p = jk_cursor_take(&c, n);
            if (p != NULL)
                cells(&d.ci, p, n);
        } else {
            p = jk_cursor_take(&c, (size_t)size);
            if (p != NULL)
                field(&d, &w, id, p);
        }
        if (p == NULL)
            break; /* a value cut short by the end of the data */
    }
    if (d.ci.ncells == 0)
        return -ENODATA;
    finish(&d, &w);
    *out = d;
    return 0;
}

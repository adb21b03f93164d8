/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libble/att.h"

#include <errno.h>
#include <string.h>

#include "plugins/libjk/jk_bytes.h"

int att_is_request(uint8_t op)
{
    if (op & 0x40)
        return 0; /* a command (bit 6): never answered */
    switch (op) {
    case ATT_OP_ERROR_RSP:
    case ATT_OP_MTU_RSP:
    case ATT_OP_FIND_INFO_RSP:
    case ATT_OP_FIND_BY_TYPE_RSP:
    case ATT_OP_READ_BY_TYPE_RSP:
    case 0x0B: /* read response */
    case 0x0D: /* read blob response */
    case 0x0F: /* read multiple response */
    case ATT_OP_READ_BY_GROUP_RSP:
    case ATT_OP_WRITE_RSP:
    case 0x17: /* prepare write response */
    case 0x19: /* execute write response */
    case ATT_OP_NOTIFICATION:
    case ATT_OP_INDICATION:
    case ATT_OP_CONFIRMATION:
    case 0x21: /* read multiple variable response */
    case 0x23: /* multiple handle value notification */
        return 0;
    default:
        /* every request, known or not, expects an answer (BlueZ answers
         * the ones it has no handler for with Request Not Supported) */
        return 1;
    }
}

static int need(size_t cap, size_t n)
{
    return cap >= n ? (int)n : -ENOSPC;
}

int att_build_mtu_req(uint8_t *out, size_t cap, uint16_t mtu)
{
    int n = need(cap, 3);
    if (n > 0) {
        out[0] = ATT_OP_MTU_REQ;
        put_le16(out + 1, mtu);
    }
    return n;
}

int att_build_mtu_rsp(uint8_t *out, size_t cap, uint16_t mtu)
{
    int n = need(cap, 3);
    if (n > 0) {
        out[0] = ATT_OP_MTU_RSP;
        put_le16(out + 1, mtu);
    }
    return n;
}

int att_build_error_rsp(uint8_t *out, size_t cap, uint8_t req_op, uint16_t handle, uint8_t code)
{
    int n = need(cap, 5);
    if (n > 0) {
        out[0] = ATT_OP_ERROR_RSP;
        out[1] = req_op;
        put_le16(out + 2, handle);
        out[4] = code;
    }
    return n;
}

int att_build_find_by_type_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end,
                               uint16_t type, uint16_t uuid16)
{
    int n = need(cap, 9);
    if (n > 0) {
        out[0] = ATT_OP_FIND_BY_TYPE_REQ;
        put_le16(out + 1, start);
        put_le16(out + 3, end);
        put_le16(out + 5, type);
        put_le16(out + 7, uuid16);
    }
    return n;
}

/* Read By Type and Read By Group Type requests: a handle range and a type. */
static int build_range_type(uint8_t *out, size_t cap, uint8_t op, uint16_t start, uint16_t end,
                            uint16_t uuid16)
{
    int n = need(cap, 7);
    if (n > 0) {
        out[0] = op;
        put_le16(out + 1, start);
        put_le16(out + 3, end);
        put_le16(out + 5, uuid16);
    }
    return n;
}

int att_build_read_by_type_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end,
                               uint16_t uuid16)
{
    return build_range_type(out, cap, ATT_OP_READ_BY_TYPE_REQ, start, end, uuid16);
}

int att_build_read_by_group_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end,
                                uint16_t uuid16)
{
    return build_range_type(out, cap, ATT_OP_READ_BY_GROUP_REQ, start, end, uuid16);
}

int att_build_find_info_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end)
{
    int n = need(cap, 5);
    if (n > 0) {
        out[0] = ATT_OP_FIND_INFO_REQ;
        put_le16(out + 1, start);
        put_le16(out + 3, end);
    }
    return n;
}

int att_build_write(uint8_t *out, size_t cap, uint8_t op, uint16_t handle, const uint8_t *value,
                    size_t len)
{
    if (len > cap || cap - len < 3)
        return -ENOSPC;
    out[0] = op;
    put_le16(out + 1, handle);
    if (len > 0)
        memcpy(out + 3, value, len);
    return (int)(3 + len);
}

uint16_t att_uuid16(const uint8_t *p, size_t n)
{
    static const uint8_t base[12] = {0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00,
                                     0x00, 0x80, 0x00, 0x10, 0x00, 0x00};
    if (n == 2)
        return get_le16(p);
    if (n == 16 && memcmp(p, base, 12) == 0 && p[14] == 0 && p[15] == 0)
        return get_le16(p + 12);
    return 0;
}

/* The entries of a list response, `each` bytes apiece, into p->item; at
 * least one, and none cut short, or the cursor goes bad. */
static void parse_list(struct jk_cursor *c, struct att_pdu *p, size_t each)
{
    while (!c->bad && jk_cursor_left(c) > 0 && p->nitems < ATT_MAX_ITEMS) {
        const uint8_t *e = jk_cursor_take(c, each);
        if (e == NULL)
            break;
        p->item[p->nitems].a = get_le16(e);
        switch (p->op) {
        case ATT_OP_FIND_BY_TYPE_RSP:
            p->item[p->nitems].b = get_le16(e + 2);
            break;
        case ATT_OP_READ_BY_TYPE_RSP:
            /* characteristic declaration: handle, props, value handle, uuid */
            p->item[p->nitems].props = e[2];
            p->item[p->nitems].b = get_le16(e + 3);
            p->item[p->nitems].uuid16 = att_uuid16(e + 5, each - 5);
            break;
        case ATT_OP_READ_BY_GROUP_RSP:
            /* service: start handle, end group handle, uuid */
            p->item[p->nitems].b = get_le16(e + 2);
            p->item[p->nitems].uuid16 = att_uuid16(e + 4, each - 4);
            break;
        default: /* FIND_INFO_RSP: handle, uuid */
            p->item[p->nitems].uuid16 = att_uuid16(e + 2, each - 2);
            break;
        }
        p->nitems++;
    }
    if (p->nitems == 0)
        c->bad = 1;
}

int att_parse(const uint8_t *buf, size_t len, struct att_pdu *out)
{
    struct jk_cursor c;
    struct att_pdu p;

    memset(&p, 0, sizeof(p));
    jk_cursor_init(&c, buf, len);
    p.op = jk_cursor_u8(&c);
    switch (p.op) {
    case ATT_OP_ERROR_RSP:
        p.err_req_op = jk_cursor_u8(&c);
        p.err_handle = jk_cursor_le16(&c);
        p.err_code = jk_cursor_u8(&c);
        break;
    case ATT_OP_MTU_REQ:
    case ATT_OP_MTU_RSP:
        p.mtu = jk_cursor_le16(&c);
        break;
    case ATT_OP_NOTIFICATION:
    case ATT_OP_INDICATION:
        p.handle = jk_cursor_le16(&c);
        p.value_len = jk_cursor_left(&c);
        p.value = jk_cursor_take(&c, p.value_len);
        break;
    case ATT_OP_FIND_BY_TYPE_RSP:
        parse_list(&c, &p, 4); /* (found handle, group end) pairs */
        break;
    case ATT_OP_READ_BY_TYPE_RSP: {
        size_t each = jk_cursor_u8(&c);
        if (each != 7 && each != 21)
            c.bad = 1;
        parse_list(&c, &p, each);
        break;
    }
    case ATT_OP_READ_BY_GROUP_RSP: {
        size_t each = jk_cursor_u8(&c);
        if (each != 6 && each != 20)
            c.bad = 1;
        parse_list(&c, &p, each);
        break;
    }
    case ATT_OP_FIND_INFO_RSP: {
        uint8_t format = jk_cursor_u8(&c);
        if (format != 1 && format != 2)
            c.bad = 1;
        parse_list(&c, &p, format == 1 ? 4 : 18); /* handle and a 16- or 128-bit UUID */
        break;
    }
    case ATT_OP_WRITE_RSP:
    case ATT_OP_CONFIRMATION:
        break;
    default:
        /* requests from the peer and anything else: the opcode is enough */
        break;
    }
    if (c.bad)
        return -EBADMSG;
    *out = p;
    return 0;
}

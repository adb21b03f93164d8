/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ATT PDUs (Bluetooth Core Vol 3 Part F): builders and a parser that never
 * trusts a length. Pure: no I/O. */
#ifndef COLLECTORD_PLUGINS_LIBBLE_ATT_H
#define COLLECTORD_PLUGINS_LIBBLE_ATT_H

#include <stddef.h>
#include <stdint.h>

#define ATT_CID 4
#define ATT_DEFAULT_MTU 23
#define ATT_MAX_MTU 517

#define ATT_OP_ERROR_RSP          0x01
#define ATT_OP_MTU_REQ            0x02
#define ATT_OP_MTU_RSP            0x03
#define ATT_OP_FIND_INFO_REQ      0x04
#define ATT_OP_FIND_INFO_RSP      0x05
#define ATT_OP_FIND_BY_TYPE_REQ   0x06
#define ATT_OP_FIND_BY_TYPE_RSP   0x07
#define ATT_OP_READ_BY_TYPE_REQ   0x08
#define ATT_OP_READ_BY_TYPE_RSP   0x09
#define ATT_OP_READ_BY_GROUP_REQ  0x10
#define ATT_OP_READ_BY_GROUP_RSP  0x11
#define ATT_OP_WRITE_REQ          0x12
#define ATT_OP_WRITE_RSP          0x13
#define ATT_OP_NOTIFICATION       0x1B
#define ATT_OP_INDICATION         0x1D
#define ATT_OP_CONFIRMATION       0x1E
#define ATT_OP_WRITE_CMD          0x52

#define ATT_ECODE_ATTR_NOT_FOUND  0x0A
#define ATT_ECODE_REQ_NOT_SUPP    0x06

#define GATT_UUID_PRIMARY  0x2800
#define GATT_UUID_CHAR     0x2803
#define GATT_UUID_CCCD     0x2902

/* 1 for an opcode the peer sends expecting an answer: every request,
 * including opcodes this code does not know, unless bit 6 marks a command. */
int att_is_request(uint8_t op);

/* The 16-bit form of a UUID of 2 or 16 bytes (least significant byte first)
 * on the Bluetooth base 0000xxxx-0000-1000-8000-00805F9B34FB, else 0. */
uint16_t att_uuid16(const uint8_t *p, size_t n);

/* Builders: write the PDU into out (cap bytes), return its length or -ENOSPC. */
int att_build_mtu_req(uint8_t *out, size_t cap, uint16_t mtu);
int att_build_mtu_rsp(uint8_t *out, size_t cap, uint16_t mtu);
int att_build_error_rsp(uint8_t *out, size_t cap, uint8_t req_op, uint16_t handle, uint8_t code);
int att_build_find_by_type_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end,
                               uint16_t type, uint16_t uuid16);
int att_build_read_by_type_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end,
                               uint16_t uuid16);
int att_build_read_by_group_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end,
                                uint16_t uuid16);
int att_build_find_info_req(uint8_t *out, size_t cap, uint16_t start, uint16_t end);
int att_build_write(uint8_t *out, size_t cap, uint8_t op, uint16_t handle, const uint8_t *value,
                    size_t len);

#define ATT_MAX_ITEMS 32

/* A parsed PDU; pointers borrow from the parsed buffer. */
struct att_pdu {
    uint8_t op;
    /* ERROR_RSP */
    uint8_t err_req_op, err_code;
    uint16_t err_handle;
    /* MTU_REQ / MTU_RSP */
    uint16_t mtu;
    /* NOTIFICATION / INDICATION */
    uint16_t handle;
    const uint8_t *value;
    size_t value_len;
    /* FIND_BY_TYPE_RSP (start, end), READ_BY_TYPE_RSP for characteristic
     * declarations (decl handle, properties, value handle, uuid16 or 0 for a
     * 128-bit UUID), READ_BY_GROUP_RSP for services (start, end, uuid16 or
     * 0), FIND_INFO_RSP (handle, uuid16 or 0) */
    size_t nitems;
    struct {
        uint16_t a, b;
        uint8_t props;
        uint16_t uuid16;
    } item[ATT_MAX_ITEMS];
};

/* Parse one PDU. -EBADMSG when malformed (short, lengths that do not add up). */
int att_parse(const uint8_t *buf, size_t len, struct att_pdu *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel's Bluetooth management interface (HCI_CHANNEL_CONTROL, packet
 * format of BlueZ doc/mgmt-api.txt): command builders and an event parser.
 * Pure functions over bytes: no I/O, so a simulated kernel and the fuzzer
 * reach them. Every packet: opcode or event code (2), controller index (2),
 * parameter length (2), parameters; all little-endian. */
#ifndef COLLECTORD_PLUGINS_LIBBLE_MGMT_H
#define COLLECTORD_PLUGINS_LIBBLE_MGMT_H

#include <stddef.h>
#include <stdint.h>

#define MGMT_HDR_LEN 6
#define MGMT_INDEX_NONE 0xFFFF
#define MGMT_MAX_PACKET (MGMT_HDR_LEN + 0xFFFF)

#define MGMT_OP_READ_INDEX_LIST 0x0003
#define MGMT_OP_READ_INFO       0x0004
#define MGMT_OP_START_DISCOVERY 0x0023
#define MGMT_OP_STOP_DISCOVERY  0x0024

#define MGMT_EV_CMD_COMPLETE  0x0001
#define MGMT_EV_CMD_STATUS    0x0002
#define MGMT_EV_INDEX_REMOVED 0x0005
#define MGMT_EV_DEVICE_FOUND  0x0012
#define MGMT_EV_DISCOVERING   0x0013

#define MGMT_STATUS_SUCCESS           0x00
#define MGMT_STATUS_NOT_SUPPORTED     0x0C
#define MGMT_STATUS_REJECTED          0x0B
#define MGMT_STATUS_BUSY              0x0A
#define MGMT_STATUS_NOT_POWERED       0x0F
#define MGMT_STATUS_INVALID_INDEX     0x11
#define MGMT_STATUS_RFKILLED          0x12
#define MGMT_STATUS_PERMISSION_DENIED 0x14

/* Supported_Settings / Current_Settings bits (Read Controller Information) */
#define MGMT_SETTING_POWERED 0x00000001
#define MGMT_SETTING_BREDR   0x00000080
#define MGMT_SETTING_LE      0x00000200

/* Start/Stop Discovery address types: bit 1 LE public, bit 2 LE random. */
#define MGMT_DISCOVERY_LE 0x06

/* One parsed event; pointers borrow from the parsed buffer. */
struct mgmt_event {
    uint16_t code;
    uint16_t index;
    /* CMD_COMPLETE / CMD_STATUS */
    uint16_t cmd;
    uint8_t status;
    const uint8_t *rparam; /* CMD_COMPLETE return parameters */
    size_t rparam_len;
    /* DEVICE_FOUND */
    char address[18];     /* AA:BB:CC:DD:EE:FF */
    uint8_t address_type; /* 0 BR/EDR, 1 LE public, 2 LE random (as sockets) */
    int8_t rssi;          /* 127: unknown */
    uint32_t flags;
    const uint8_t *eir; /* advertising or scan response data (AD structures) */
    size_t eir_len;
    /* DISCOVERING */
    uint8_t discovery_type;
    uint8_t discovering;
};

/* A command into out (cap bytes): its length, or -ENOSPC. */
int mgmt_build(uint8_t *out, size_t cap, uint16_t op, uint16_t index, const uint8_t *param,
               size_t param_len);
/* Parse one event packet: 0 and *out, or -EBADMSG when the lengths do not add
 * up (the header's parameter length must match the packet exactly). Events
 * other than the four above parse to their code and index only. */
int mgmt_parse(const uint8_t *buf, size_t len, struct mgmt_event *out);
/* Controller indexes from Read Controller Index List return parameters:
 * the count stored (<= cap), or -EBADMSG. */
int mgmt_index_list(const uint8_t *rparam, size_t len, uint16_t *out, size_t cap);
/* Read Controller Information return parameters: address (6), version (1),
 * manufacturer (2), supported and current settings (4 each), class (3),
 * name (249), short name (11). 0 and the two settings, or -EBADMSG. */
#define MGMT_READ_INFO_LEN 280
int mgmt_controller_settings(const uint8_t *rparam, size_t len, uint32_t *supported,
                             uint32_t *current);
/* Why a controller cannot run an LE discovery: "BR/EDR only (no LE)",
 * "powered off", "LE switched off"; NULL when it is powered with LE on. */
const char *mgmt_controller_unfit(uint32_t supported, uint32_t current);
/* The name of a status code ("Busy", "Permission Denied"...). */
const char *mgmt_status_str(uint8_t status);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JK BMS switches (charge and discharge MOSFETs, balancer): the exact frames
 * that set them over BLE and Modbus RTU, the acknowledgement, and where the
 * BMS reports the requested (settings frame) and the actual (cell-info
 * frame) state. Pure: bytes in, bytes out, no I/O, no clock. The facts are in
 * docs/control.md ("Devices"). */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_CONTROL_H
#define COLLECTORD_PLUGINS_LIBJK_JK_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"

#define JK_SWITCH_CHARGE    0
#define JK_SWITCH_DISCHARGE 1
#define JK_SWITCH_BALANCER  2
#define JK_SWITCH_COUNT     3

/* "charge", "discharge", "balancer" -> JK_SWITCH_*; -EINVAL. */
int jk_switch_parse(const char *name, int *out);
/* The command name of a switch ("charge"...), "?" for another number. */
const char *jk_switch_name(int sw);
/* The record metric of its settings flag ("charge_switch"...), or NULL. */
const char *jk_switch_metric(int sw);
/* "on" / "off" (also "1"/"0", "true"/"false", any case) -> 1 / 0; -EINVAL. */
int jk_switch_value_parse(const char *value, int *on);

/* The 20-byte BLE write of `value` (uint32 LE, `len` bytes meant: 1 or 4)
 * to register `reg`: AA 55 90 EB, reg, len, value, zero padding, sum8. */
void jk_build_register_write(uint8_t reg, uint8_t len, uint32_t value, uint8_t out[JK_CMD_LEN]);

/*
 * The 20-byte BLE write frame setting switch `sw` of a BMS of variant
 * `proto` (JK_PROTO_JK02_24S, _JK02_32S: registers 0x1D, 0x1E, 0x1F, value
 * length 4; JK_PROTO_JK04: balancer only, register 0x6C, length 1): 0 and
 * out; -EOPNOTSUPP when the variant has no such switch, -EINVAL for an
 * unknown variant (auto: decide it first). Byte 19 is the sum8 of 0..18.
 */
int jk_build_switch_frame(int proto, int sw, int on, uint8_t out[JK_CMD_LEN]);

/* What a BMS reports about one switch: -1 where it says nothing. */
struct jk_switch_state {
    int flag;   /* the switch in the settings frame (what was asked of the BMS) */
    int mosfet; /* charge / discharge: the MOSFET in the cell-info frame */
};

/* The switch flags of a settings record (type 0x01, checksum checked): JK02
 * bytes 118 / 122 / 126, JK04 the balancer only at byte 114. flags[i] 0/1,
 * -1 when the variant has no such flag. 0, or -EINVAL (not a settings
 * record, or an unknown variant). */
int jk_settings_switches(const uint8_t frame[JK_FRAME_LEN], int proto,
                         int flags[JK_SWITCH_COUNT]);

/*
 * Compare what the BMS reports with the request. 1 when confirmed: the flag
 * is `on` and, for charge and discharge, the MOSFET too (a MOSFET the
 * variant does not report, -1, is not asked for). Else 0, and a line for
 * the user in `detail`, e.g. "charge: BMS reports switch on, MOSFET on".
 */
int jk_switch_confirmed(int sw, int on, const struct jk_switch_state *st, char *detail,
                        size_t cap);

/* What a switch command came to, once the BMS took it and answered the
 * read-back (over any link). */
struct jk_switch_result {
    int confirmed;                /* 1: the BMS reports the requested state */
    struct jk_switch_state state; /* what it reports */
    struct jk_cell_info ci;       /* the cell info read back (BLE; has_ci) */
    int has_ci;
    char detail[160];             /* "charge: BMS reports switch on, MOSFET on" */
};

/* ---- JK-PB over Modbus RTU (bytes-addressed registers) ---- */

#define JK_MB_SWITCH_REG(sw) (0x1070 + 4 * (sw)) /* 0x1070, 0x1074, 0x1078: uint32 BE */
#define JK_MB_MOSFET_REG     0x12C0 /* high byte charge, low byte discharge */
#define JK_MB_WRITE_LEN      13     /* FC 0x10, 2 registers: the request */
#define JK_MB_ECHO_LEN       8      /* its answer: address, 0x10, register, quantity, CRC */

/* The Modbus RTU CRC (poly 0xA001, init 0xFFFF), sent low byte first. */
uint16_t jk_modbus_crc(const uint8_t *p, size_t len);
/* Append the CRC of the `len` bytes at p after them (p has len + 2 bytes). */
void jk_modbus_put_crc(uint8_t *p, size_t len);
/* 1 when the `len` bytes at p end with the CRC of those before it. */
int jk_modbus_crc_ok(const uint8_t *p, size_t len);
/* FC 0x10 quantity 2 of `on` (uint32 BE) to the switch's register, slave
 * 1..247, CRC appended: 0, -EINVAL. */
int jk_modbus_switch_frame(int slave, int sw, int on, uint8_t out[JK_MB_WRITE_LEN]);
/* The 8-byte echo the slave must answer to that request: 0, -EINVAL. */
int jk_modbus_switch_echo(int slave, int sw, uint8_t out[JK_MB_ECHO_LEN]);
/* What a JK-PB reports about switch `sw`, from the data bytes of FC 0x03
 * reads: `flag` the 4 bytes of its register (uint32 BE, non-zero = on),
 * `mosfets` the 2 of 0x12C0 (high byte charge, low byte discharge; NULL
 * when not read). */
void jk_modbus_switch_state(int sw, const uint8_t flag[4], const uint8_t *mosfets,
                            struct jk_switch_state *out);

#endif

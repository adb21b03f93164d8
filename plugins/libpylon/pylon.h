/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pylon: the Pylontech low-voltage battery protocols as a battery speaks
 * them to an inverter, pure code (bytes in, bytes out, no I/O, no clock).
 *
 * RS485 (PYLON LV protocol V3.3, with the V3.5 system commands 0x61-0x63):
 *   ~ VER ADR CID1 CID2 LENGTH INFO CHKSUM CR, every field but ~ and CR as
 *   uppercase ASCII hex; LENGTH = LCHKSUM (4 bits) | LENID (12 bits: ASCII
 *   characters of INFO); CHKSUM = -(sum of the ASCII codes VER..INFO) mod 2^16.
 * CAN (PYLON CAN-Bus V1.2): the frames 0x351 0x355 0x356 0x359 0x35C 0x35E,
 *   little-endian.
 * The facts and their sources: docs/inverter-link.md.
 */
#ifndef COLLECTORD_PLUGINS_LIBPYLON_PYLON_H
#define COLLECTORD_PLUGINS_LIBPYLON_PYLON_H

#include <stddef.h>
#include <stdint.h>

/* ---- RS485 framing ---- */

#define PYLON_SOI 0x7E /* '~' */
#define PYLON_EOI 0x0D /* CR */
#define PYLON_CID1_BATTERY 0x46
/* Bytes of INFO: LENID's 12 bits count up to 4095 ASCII characters, so
 * 2047 bytes; a group answer (0x42 INFO 0xFF) for 12 packs of 32 cells needs
 * 1118 of them. */
#define PYLON_INFO_MAX 2047
#define PYLON_FRAME_MAX (1 + 12 + 2 * PYLON_INFO_MAX + 4 + 1)

/* Return codes (RTN, in a reply's CID2). */
#define PYLON_RTN_OK        0x00
#define PYLON_RTN_VER       0x01
#define PYLON_RTN_CHKSUM    0x02
#define PYLON_RTN_LCHKSUM   0x03
#define PYLON_RTN_CID2      0x04
#define PYLON_RTN_FORMAT    0x05
#define PYLON_RTN_DATA      0x06
#define PYLON_RTN_ADR       0x90
#define PYLON_RTN_INTERNAL  0x91

/* Commands (CID2 of a request). */
#define PYLON_CMD_ANALOG      0x42
#define PYLON_CMD_ALARM       0x44
#define PYLON_CMD_SYSPARAM    0x47
#define PYLON_CMD_VERSION     0x4F
#define PYLON_CMD_MAKER       0x51
#define PYLON_CMD_MANAGEMENT  0x92
#define PYLON_CMD_SERIAL      0x93
#define PYLON_CMD_SOFTWARE    0x96
#define PYLON_CMD_SYS_INFO    0x60
#define PYLON_CMD_SYS_ANALOG  0x61
#define PYLON_CMD_SYS_ALARM   0x62
#define PYLON_CMD_SYS_MANAGE  0x63

struct pylon_frame {
    uint8_t ver, adr, cid1, cid2; /* cid2: the command, or RTN in a reply */
    uint16_t lenid;               /* ASCII characters of INFO, as sent */
    size_t info_len;              /* bytes of INFO */
    uint8_t info[PYLON_INFO_MAX];
};

/* The LENGTH field for `lenid` (0..0xFFF): LCHKSUM in the top 4 bits. */
uint16_t pylon_length_field(uint16_t lenid);
/* CHKSUM over `n` ASCII characters (VER..INFO as sent). */
uint16_t pylon_chksum(const char *ascii, size_t n);

/* Decode one frame: `text` holds the characters between '~' and CR
 * (exclusive), `n` of them. 0 and *out; -EBADMSG for a CHKSUM error
 * (RTN 02), -EPROTO for an LCHKSUM or LENID error (RTN 03), -EINVAL for
 * anything else malformed (RTN 05). On an error *out still has what could be
 * read of the header (ver, adr, cid1, cid2), for the reply's address. */
int pylon_frame_decode(const char *text, size_t n, struct pylon_frame *out);
/* Encode a whole frame, '~' to CR, into out (cap bytes, no NUL written).
 * Returns its length, or 0 when it does not fit or info_len > PYLON_INFO_MAX. */
size_t pylon_frame_encode(uint8_t ver, uint8_t adr, uint8_t cid1, uint8_t cid2,
                          const uint8_t *info, size_t info_len, char *out, size_t cap);

/* ---- what a battery answers from ---- */

#define PYLON_CELLS_MAX 32
#define PYLON_TEMPS_MAX 5

/* One pack, in the protocol's own units. */
struct pylon_pack {
    uint8_t info_flag; /* 0x42 INFOFLAG: b4 unread switch change, b0 unread alarm change */
    uint8_t ncells;
    uint16_t cell_mv[PYLON_CELLS_MAX];
    uint8_t ntemps;                  /* [0] the BMS board, then the cell probes */
    int16_t temp_dc[PYLON_TEMPS_MAX]; /* deci-degrees Celsius */
    int16_t hottest_dc;  /* the hottest of every probe, also those 0x42 has no room for */
    uint8_t has_hottest;
    int32_t current_ma;              /* + = charging */
    uint32_t voltage_mv;
    uint32_t remaining_mah, total_mah;
    uint16_t cycles;
    uint8_t soc, soh; /* % */
    uint8_t charge_fet, discharge_fet; /* 0/1: the BMS's MOSFETs */
    uint8_t balancing;
    uint32_t alarm_bits; /* PYLON_ALARM_* */
    char serial[17];     /* NUL-terminated, at most 16 characters */
};

/* The limits served (0x92, 0x63, CAN 0x351/0x35C). */
struct pylon_limits {
    uint32_t cvl_mv, dvl_mv; /* charge / discharge voltage limits */
    int32_t ccl_da, dcl_da;  /* charge / discharge current limits, 0.1 A, >= 0 */
    uint8_t charge_enable, discharge_enable, force_charge, full_charge_request;
};

/* Alarm and protection conditions, from the BMS's own error bits. */
#define PYLON_ALARM_CELL_OV      0x0001u
#define PYLON_ALARM_CELL_UV      0x0002u
#define PYLON_ALARM_CELL_OT      0x0004u /* cell over-temperature (charge or discharge) */
#define PYLON_ALARM_CELL_UT      0x0008u
#define PYLON_ALARM_MOS_OT       0x0010u
#define PYLON_ALARM_CHARGE_OC    0x0020u
#define PYLON_ALARM_DISCHARGE_OC 0x0040u
#define PYLON_ALARM_PACK_OV      0x0080u
#define PYLON_ALARM_PACK_UV      0x0100u
#define PYLON_ALARM_SYSTEM       0x0200u /* a BMS fault, a comms failure */
#define PYLON_ALARM_IMBALANCE    0x0400u

/* The identity answered to 0x51 / 0x96 (ASCII, padded with spaces/NUL). */
struct pylon_identity {
    char battery_name[11]; /* 10 characters */
    char manufacturer[21]; /* 20 characters */
    uint8_t sw_major, sw_minor;
};

/* ---- INFO builders: each fills out (cap bytes) and returns the length,
 * or 0 when it does not fit. `adr` is the pack's address. ---- */

/* 0x42 for one pack, and for a group (INFO 0xFF): `n` packs. */
size_t pylon_info_analog(const struct pylon_pack *p, uint8_t adr, uint8_t *out, size_t cap);
size_t pylon_info_analog_group(const struct pylon_pack *packs, size_t n, uint8_t *out, size_t cap);
/* 0x44 for one pack, and for a group. */
size_t pylon_info_alarm(const struct pylon_pack *p, uint8_t adr, uint8_t *out, size_t cap);
size_t pylon_info_alarm_group(const struct pylon_pack *packs, size_t n, uint8_t *out, size_t cap);
/* 0x47: the thresholds this battery works to. */
struct pylon_sysparam {
    uint16_t cell_high_mv, cell_low_mv, cell_under_mv;
    int16_t charge_high_dc, charge_low_dc; /* deci-degrees Celsius */
    int32_t ccl_da;
    uint32_t module_high_mv, module_low_mv, module_under_mv;
    int16_t discharge_high_dc, discharge_low_dc;
    int32_t dcl_da;
};
size_t pylon_info_sysparam(const struct pylon_sysparam *s, uint8_t *out, size_t cap);
/* 0x92: the limits; `dcl_negative` sends the discharge limit as a negative
 * number, as real packs do. */
size_t pylon_info_management(const struct pylon_limits *l, uint8_t adr, int dcl_negative,
                             uint8_t *out, size_t cap);
/* 0x93 serial number, 0x51 manufacturer, 0x96 software version. */
size_t pylon_info_serial(const struct pylon_pack *p, uint8_t adr, uint8_t *out, size_t cap);
size_t pylon_info_maker(const struct pylon_identity *id, uint8_t *out, size_t cap);
size_t pylon_info_software(const struct pylon_identity *id, uint8_t adr, uint8_t *out,
                           size_t cap);
/* V3.5 system commands over the whole system (`bank` summarises the packs;
 * its cell_mv[0]/[1] are unused: extremes come from `packs`). */
size_t pylon_info_sys_info(const struct pylon_identity *id, size_t npacks, uint8_t *out,
                           size_t cap);
size_t pylon_info_sys_analog(const struct pylon_pack *bank, const struct pylon_pack *packs,
                             size_t n, uint8_t *out, size_t cap);
size_t pylon_info_sys_alarm(const struct pylon_pack *bank, uint8_t *out, size_t cap);
size_t pylon_info_sys_management(const struct pylon_limits *l, uint8_t *out, size_t cap);

/* ---- CAN ---- */

#define PYLON_CAN_FRAMES 6
#define PYLON_CAN_KEEPALIVE 0x305

struct pylon_can_frame {
    uint32_t id;
    uint8_t len;
    uint8_t data[8];
};

/* The six frames for a system: `bank` (voltage, current, SOC, SOH, the
 * hottest temperature in temp_dc[0], alarm bits), its limits, the pack count
 * and the manufacturer string of 0x35E (at most 8 characters, space-padded).
 * Returns PYLON_CAN_FRAMES. */
size_t pylon_can_frames(const struct pylon_pack *bank, const struct pylon_limits *l,
                        unsigned npacks, const char *manufacturer,
                        struct pylon_can_frame out[PYLON_CAN_FRAMES]);
/* A struct can_frame as the kernel lays it out (16 bytes: id in host order,
 * len, 3 bytes padding, 8 data bytes), without relying on <linux/can.h>:
 * the unix stand-in carries exactly these bytes. */
#define PYLON_CAN_WIRE 16
void pylon_can_pack(const struct pylon_can_frame *f, uint8_t wire[PYLON_CAN_WIRE]);
/* Read one: 0, or -EINVAL when len > 8 or an extended/RTR/error flag is set. */
int pylon_can_unpack(const uint8_t *wire, size_t n, struct pylon_can_frame *f);

#endif

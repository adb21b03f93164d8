/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Decoders for JK BMS records (cell info JK04 / JK02_24S / JK02_32S, device
 * info, settings) and protocol-variant detection. Pure functions over one
 * 300-byte record whose checksum the assembler has checked. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_DECODE_H
#define COLLECTORD_PLUGINS_LIBJK_JK_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_frame.h"

#define JK_PROTO_AUTO     0
#define JK_PROTO_JK04     1
#define JK_PROTO_JK02_24S 2
#define JK_PROTO_JK02_32S 3
#define JK_PROTO_UART     4 /* the 0x4E57 frames of older BMS (plugins/libjk/jk_uart.h) */

#define JK_MAX_CELLS 32
#define JK_MAX_TEMPS 5

/* "auto", "JK04", "JK02_24S", "JK02_32S" (any case) -> JK_PROTO_*; -EINVAL.
 * (JK_PROTO_UART is named "JK_UART" but is not a BLE variant to choose.) */
int jk_protocol_parse(const char *name, int *out);
const char *jk_protocol_name(int proto);

/* A decoded cell-info record. Values a variant does not carry are absent
 * (their has_ flag is 0), never zero. */
struct jk_cell_info {
    int proto;
    size_t ncells;                   /* cells reported (up to the last enabled or non-zero) */
    double cell_v[JK_MAX_CELLS];     /* V; 0 = slot empty or cell reading 0 */
    int no_cell_ohm;                 /* 1: the wire carries no resistances (0x4E57) */
    double cell_ohm[JK_MAX_CELLS];   /* balance-lead resistance, ohm */
    int has_pack;                    /* JK02: pack voltage, current, SOC, ... below */
    double pack_v;                   /* JK02: the BMS's total; JK04: sum of the cells */
    double current_a;                /* + = charging */
    size_t ntemps;
    double temps[JK_MAX_TEMPS];      /* probes T1.. that are present */
    int has_mos_temp;
    double mos_temp;
    int has_errors;
    uint32_t errors;
    double balance_current_a;
    int has_balance_current;
    uint8_t balancing_action;        /* 0 off, 1 charging side, 2 discharging side */
    int no_remaining;                /* 1: no remaining_ah and soh below (0x4E57) */
    uint8_t soc, soh;
    double remaining_ah, nominal_ah, cycle_capacity_ah;
    uint32_t cycles;
    int has_runtime;
    uint32_t runtime_s;
    int charging, discharging, heating; /* 0/1, or -1 when absent */
    int no_balancing;    /* 1: the wire says nothing about balancing now (0x4E57) */
    int balancer_switch; /* 0/1: the balancer is switched on (0x4E57 0x8C bit 2); -1 absent */
};

/* Derived cell statistics, first occurrence wins, min over non-zero cells. */
struct jk_cell_stats {
    size_t count;      /* == ncells */
    size_t nonzero;
    double min_v, max_v, avg_v, delta_v;
    size_t min_index, max_index; /* 1-based; 0 when no non-zero cell */
};

struct jk_device_info {
    char model[17];
    char hw_version[9];
    char sw_version[9];
    char name[17];
    char serial[12];
    char mfg_date[9];
    uint32_t uptime_s;
    uint32_t power_on_count;
};

struct jk_settings {
    int proto;
    uint8_t cell_count;
    double cell_ovp_v, cell_uvp_v, balance_start_v, balance_trigger_v;
    double nominal_ah; /* JK02 only */
};

/* Decode with a known variant: 0, or -EINVAL (wrong record type or variant). */
int jk_decode_cell_info(const uint8_t frame[JK_FRAME_LEN], int proto, struct jk_cell_info *out);
int jk_decode_device_info(const uint8_t frame[JK_FRAME_LEN], struct jk_device_info *out);
int jk_decode_settings(const uint8_t frame[JK_FRAME_LEN], int proto, struct jk_settings *out);

/*
 * JK-PB over Modbus RTU: the live block (registers from 0x1200) holds the
 * JK02_32S cell-info fields from frame byte 6 on, and the device-info block
 * (0x1400) the device-info fields, with multi-byte values big-endian. Both
 * decode with the BLE field table. `block` is borrowed, `len` its bytes:
 * at least JK_LIVE_BLOCK_MIN / JK_INFO_BLOCK_MIN, else -EINVAL.
 */
#define JK_LIVE_BLOCK_MIN 254 /* the last field read, T5 at 0xFC, ends at 0xFE */
#define JK_INFO_BLOCK_MIN 40  /* the documented block 0x1400-0x1427: model, versions,
                                * run time, power-on count (name, date and serial
                                * beyond it decode when the block is longer) */
int jk_decode_live_block(const uint8_t *block, size_t len, struct jk_cell_info *out);
int jk_decode_info_block(const uint8_t *block, size_t len, struct jk_device_info *out);

/*
 * Zero the passcodes of a device-info record (frame offsets 62, 97, 118) in
 * `len` bytes that start at frame offset `at`: a whole frame (at 0), a
 * Modbus info-block image (at 6), or part of one. Everything that prints,
 * dumps or stores device-info bytes passes them through this first.
 */
void jk_mask_device_info_secrets(uint8_t *bytes, size_t len, size_t at);

/* Copy a NUL-padded ASCII field of `len` bytes into dst (cap bytes, always
 * terminated): stops at NUL, turns unprintable bytes into '?', trims spaces. */
void jk_text_field(char *dst, size_t cap, const uint8_t *src, size_t len);

void jk_cell_stats(const struct jk_cell_info *ci, struct jk_cell_stats *out);
/* Names of the set error bits of `proto`, joined by ", " into buf. */
void jk_error_names(uint32_t errors, int proto, char *buf, size_t cap);

/* A runtime as "Ny Nd Nh" with zero parts left out ("3d 2h"; "0h" under an hour). */
void jk_format_runtime(uint32_t seconds, char *buf, size_t cap);

/* The variant the version strings point at (JK_PROTO_AUTO when they do not). */
int jk_detect_from_device_info(const struct jk_device_info *di);
/* 1 if the cell-info record decodes plausibly with `proto`: cells in range,
 * the enabled-cell mask matching the non-zero cells, the cell sum matching the
 * pack voltage, temperatures between -40 and 100 degC. */
int jk_cell_info_fits(const uint8_t frame[JK_FRAME_LEN], int proto);
/* Decode with `proto` and check that the record fits it: 0 and *out, or
 * -EPROTO (then *out holds garbage: do not use it). One decode, for the hot path. */
int jk_decode_cell_info_checked(const uint8_t frame[JK_FRAME_LEN], int proto,
                                struct jk_cell_info *out);

#endif

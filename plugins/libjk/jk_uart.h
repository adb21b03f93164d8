/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The 0x4E57 protocol of older JK BMS (B1A24S, B2A24S, BD6A..., firmware up to
 * 10.x) on their UART/RS485 "GPS" port: framing and the "read all" answer.
 * Pure: bytes in, structs out, no I/O, no clock. Layout in the project's
 * docs (shared/docs/jk-wired.md, section 2). */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_UART_H
#define COLLECTORD_PLUGINS_LIBJK_JK_UART_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"

#define JK_UART_REQ_LEN       21   /* the "read all" request */
#define JK_UART_MIN_FRAME     20   /* header 11 + record number 4 + end mark 1 + checksum 4 */
#define JK_UART_MAX_FRAME     1024 /* a read-all answer is about 280 bytes */
#define JK_UART_CMD_READ_ALL  0x06
#define JK_UART_TYPE_RESPONSE 0x01

/* The "read all" request: 4E 57 00 13 ... 68 00 00 01 29. */
void jk_uart_build_read_all(uint8_t out[JK_UART_REQ_LEN]);

struct jk_uart_assembler {
    uint8_t buf[2 * JK_UART_MAX_FRAME];
    size_t len;
    unsigned long frames;     /* valid read-all answers delivered */
    unsigned long bad_frames; /* bad checksum or end mark, impossible length */
    unsigned long junk_bytes; /* bytes outside any frame */
    unsigned long ignored;    /* valid frames that are no read-all answer (e.g. our echo) */
};

/* Called once per valid read-all answer; `frame` (len bytes, from 4E 57 to
 * the checksum) is borrowed for the call. */
typedef void (*jk_uart_frame_fn)(const uint8_t *frame, size_t len, void *user);

void jk_uart_assembler_init(struct jk_uart_assembler *a);
/* Forget a partial frame; counters stay. */
void jk_uart_assembler_reset(struct jk_uart_assembler *a);
/* Feed bytes as they were read (any split). */
void jk_uart_assembler_feed(struct jk_uart_assembler *a, const uint8_t *data, size_t len,
                            jk_uart_frame_fn on_frame, void *user);

/* What a read-all answer holds. Values the frame lacks keep has_ 0. */
struct jk_uart_data {
    struct jk_cell_info ci;   /* proto JK_PROTO_UART */
    struct jk_device_info di; /* model, hw/sw version, name from the strings below */
    int has_device_info;
    int protocol_version;      /* ID 0xC0; -1 when absent */
    unsigned cell_count;       /* ID 0x8A */
    char software_version[16]; /* ID 0xB7 as sent, e.g. "10.XW_S10.07___" */
    char device_id[9];         /* ID 0xB4 */
    char manufacturer[25];     /* ID 0xBA */
    uint8_t stopped_at;        /* the unknown ID that ended decoding; 0 when none */
};

/* Bytes of the value after data ID `id`: 0 for 0x79 (the cells: a length
 * byte follows), -1 for an ID not in the map (jk-wired.md, section 2). */
int jk_uart_id_size(uint8_t id);

/* Zero the value of TLV 0xB2 (the BMS password) in place, before bytes are
 * printed or dumped: in a frame starting at `frame` (4E 57), valid or not,
 * within `len` bytes. Where the walk stops at an unknown ID, everything
 * after it but the protocol version is zeroed (the password may be there). */
void jk_uart_mask_password(uint8_t *frame, size_t len);

/* Decode a frame the assembler delivered (checked again here: magic,
 * length, end mark, checksum): 0, -EBADMSG (bad checksum or framing), or
 * -ENODATA (no cell voltages in it). An unknown ID ends the walk (sizes
 * are not in the frame); what came before it is kept. */
int jk_uart_decode(const uint8_t *frame, size_t len, struct jk_uart_data *out);

#endif

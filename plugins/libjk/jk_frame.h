/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JK BMS framing: 20-byte commands out, 300-byte records in, assembled from
 * notifications that do not line up with records. Pure: no I/O, no clock. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_FRAME_H
#define COLLECTORD_PLUGINS_LIBJK_JK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define JK_FRAME_LEN 300
#define JK_CMD_LEN   20
#define JK_ACK_LEN   20

#define JK_CMD_DEVICE_INFO 0x97
#define JK_CMD_CELL_INFO   0x96

#define JK_RECORD_SETTINGS    0x01
#define JK_RECORD_CELL_INFO   0x02
#define JK_RECORD_DEVICE_INFO 0x03
#define JK_RECORD_LOGBOOK     0x05

/* Enough for a record being assembled plus one large notification. */
#define JK_ASM_CAP 1024

/* Build the request for register `cmd` (0x97 device info, 0x96 cell info). */
void jk_build_command(uint8_t cmd, uint8_t out[JK_CMD_LEN]);
/* The 8-bit sum of n bytes (the checksum of commands and records). */
uint8_t jk_sum8(const uint8_t *p, size_t n);
/* 1 when the `len` bytes at p start with a valid acknowledgement (AA 55 90
 * EB C8 ..., 20 bytes, sum8 at byte 19), else 0. The BMS sends one after
 * every command; it names no register and proves receipt only. */
int jk_is_ack(const uint8_t *p, size_t len);
/* 1 if byte 299 holds the 8-bit sum of bytes 0..298. */
int jk_frame_checksum_ok(const uint8_t frame[JK_FRAME_LEN]);

struct jk_assembler {
    uint8_t buf[JK_ASM_CAP];
    size_t len;
    size_t scanned; /* bytes 1..scanned of the record hold no preamble */
    /* counters, for logs and tests */
    unsigned long frames;     /* valid records delivered */
    unsigned long bad_frames; /* checksum errors, unknown types, records cut short */
    unsigned long junk_bytes; /* bytes outside any record (e.g. "AT\r\n") */
    unsigned long acks;       /* 20-byte C8 acknowledgements skipped */
};

typedef void (*jk_frame_fn)(const uint8_t *frame, void *user);

void jk_assembler_init(struct jk_assembler *a);
/* Forget a partial record (link lost); counters stay. */
void jk_assembler_reset(struct jk_assembler *a);
/* Feed one notification (any size). Calls on_frame(frame, user) once per
 * complete record with a valid checksum and a known type; `frame` is
 * borrowed for the call and JK_FRAME_LEN bytes long. */
void jk_assembler_feed(struct jk_assembler *a, const uint8_t *data, size_t len,
                       jk_frame_fn on_frame, void *user);

#endif

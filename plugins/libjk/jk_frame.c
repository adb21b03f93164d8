/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_frame.h"

#include <stdint.h>
#include <string.h>

static const uint8_t preamble[4] = {0x55, 0xAA, 0xEB, 0x90};
static const uint8_t cmd_preamble[4] = {0xAA, 0x55, 0x90, 0xEB};

/* Bytes 0..7 of v added in pairs into four 16-bit lanes. */
static uint64_t byte_pairs(uint64_t v)
{
    const uint64_t low = 0x00FF00FF00FF00FFu;
    return (v & low) + ((v >> 8) & low);
}

static uint64_t word_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v)); /* any byte order: only the sum counts */
    return v;
}

/* The 8-bit sum of n bytes, 32 at a time: each 8-byte word's bytes go in
 * pairs into four 16-bit lanes, which 64 words cannot overflow. */
uint8_t jk_sum8(const uint8_t *p, size_t n)
{
    uint64_t s = 0, lanes;
    size_t i = 0;

    while (n - i >= 8) {
        lanes = 0;
        for (size_t w = 0; w < 16 && n - i >= 32; w++, i += 32)
            lanes += byte_pairs(word_at(p + i)) + byte_pairs(word_at(p + i + 8)) +
                     byte_pairs(word_at(p + i + 16)) + byte_pairs(word_at(p + i + 24));
        for (; n - i >= 8 && n - i < 32; i += 8)
            lanes += byte_pairs(word_at(p + i));
        s += (lanes & 0xffffu) + ((lanes >> 16) & 0xffffu) + ((lanes >> 32) & 0xffffu) +
             (lanes >> 48);
    }
    for (; i < n; i++)
        s += p[i];
    return (uint8_t)(s & 0xffu);
}

void jk_build_command(uint8_t cmd, uint8_t out[JK_CMD_LEN])
{
    memset(out, 0, JK_CMD_LEN);
    memcpy(out, cmd_preamble, sizeof(cmd_preamble));
    out[4] = cmd;
    out[JK_CMD_LEN - 1] = jk_sum8(out, JK_CMD_LEN - 1);
}

int jk_frame_checksum_ok(const uint8_t frame[JK_FRAME_LEN])
{
    return frame[JK_FRAME_LEN - 1] == jk_sum8(frame, JK_FRAME_LEN - 1);
}

static int known_type(uint8_t t)
{
    return t == JK_RECORD_SETTINGS || t == JK_RECORD_CELL_INFO || t == JK_RECORD_DEVICE_INFO ||
           t == JK_RECORD_LOGBOOK;
}

void jk_assembler_init(struct jk_assembler *a)
{
    memset(a, 0, sizeof(*a));
}

void jk_assembler_reset(struct jk_assembler *a)
{
    a->len = 0;
    a->scanned = 0;
}

/* Index of the first preamble at or after `from`, or a->len if none. */
static size_t find_preamble(const struct jk_assembler *a, size_t from)
{
    size_t i = from;

    while (i + sizeof(preamble) <= a->len) {
        const uint8_t *hit = memchr(a->buf + i, preamble[0], a->len - i - (sizeof(preamble) - 1));
        if (hit == NULL)
            break;
        i = (size_t)(hit - a->buf);
        if (memcmp(hit, preamble, sizeof(preamble)) == 0)
            return i;
        i++;
    }
    return a->len;
}

/* Drop the first n bytes of the buffer. */
static void consume(struct jk_assembler *a, size_t n)
{
    memmove(a->buf, a->buf + n, a->len - n);
    a->len -= n;
    a->scanned = 0;
}

int jk_is_ack(const uint8_t *p, size_t len)
{
    return len >= JK_ACK_LEN && memcmp(p, cmd_preamble, 4) == 0 && p[4] == 0xC8 &&
           jk_sum8(p, JK_ACK_LEN - 1) == p[JK_ACK_LEN - 1];
}

/* 1 if the n bytes at p (n < JK_ACK_LEN) may be the start of an acknowledgement. */
static int may_start_ack(const uint8_t *p, size_t n)
{
    size_t m = n < 4 ? n : 4;
    return memcmp(p, cmd_preamble, m) == 0 && (n < 5 || p[4] == 0xC8);
}

/*
 * Drop what lies in front of `upto`, counting complete acknowledgements and
 * junk. With `at_tail` (no preamble in the buffer), stop early at bytes that
 * may still become a preamble (the last 3) or an acknowledgement, and keep them.
 */
static void skip_junk(struct jk_assembler *a, size_t upto, int at_tail)
{
    size_t i = 0;

    while (i < upto) {
        size_t left = a->len - i;
        if (jk_is_ack(a->buf + i, left)) {
            a->acks++;
            i += JK_ACK_LEN;
            continue;
        }
        if (at_tail && (left <= 3 || (left < JK_ACK_LEN && may_start_ack(a->buf + i, left))))
            break;
        a->junk_bytes++;
        i++;
    }
    consume(a, i);
}

static void process(struct jk_assembler *a, jk_frame_fn on_frame, void *user)
{
    for (;;) {
        /* Once scanned, the record at 0 is known to start with a preamble. */
        size_t start = a->scanned > 0 ? 0 : find_preamble(a, 0), next;

        if (start == a->len) {
            skip_junk(a, a->len, 1);
            return;
        }
        if (start > 0)
            skip_junk(a, start, 0);
        /* The record runs from 0. A new preamble before 300 bytes: cut short.
         * Only the bytes not searched yet are searched (a preamble may
         * straddle the old end: back up 3 bytes). */
        next = find_preamble(a, a->scanned > 3 ? a->scanned - 3 : 1);
        a->scanned = a->len;
        if (next < JK_FRAME_LEN && next < a->len) {
            a->bad_frames++;
            consume(a, next);
            continue;
        }
        if (a->len < JK_FRAME_LEN)
            return; /* wait for more */
        if (jk_frame_checksum_ok(a->buf) && known_type(a->buf[4])) {
            a->frames++;
            on_frame(a->buf, user);
            consume(a, JK_FRAME_LEN);
        } else {
            a->bad_frames++;
            consume(a, 1); /* resync at the next preamble */
        }
    }
}

void jk_assembler_feed(struct jk_assembler *a, const uint8_t *data, size_t len,
                       jk_frame_fn on_frame, void *user)
{
    while (len > 0) {
        size_t room = sizeof(a->buf) - a->len;
        size_t n = len < room ? len : room;
        memcpy(a->buf + a->len, data, n);
        a->len += n;
        data += n;
        len -= n;
        process(a, on_frame, user);
        if (a->len == sizeof(a->buf)) {
            /* Cannot happen after process() (it leaves < 300 bytes), but
             * never let a buffer grow without bound. */
            a->junk_bytes += a->len;
            a->len = 0;
            a->scanned = 0;
        }
    }
}

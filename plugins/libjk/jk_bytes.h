/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readers for wire data: values are assembled from bytes, never read by
 * casting a buffer, so alignment and host byte order never matter. Callers
 * check bounds first (or use struct jk_cursor). */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_BYTES_H
#define COLLECTORD_PLUGINS_LIBJK_JK_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
           (uint32_t)p[3];
}

static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* Two's complement conversions of an assembled unsigned value. */
static inline int16_t jk_s16(uint16_t u)
{
    return u < 0x8000u ? (int16_t)u : (int16_t)(-(int32_t)(0x10000u - u));
}

static inline int32_t jk_s32(uint32_t u)
{
    return u < 0x80000000u ? (int32_t)u : (int32_t)(-(int64_t)(0x100000000ull - u));
}

static inline int16_t get_les16(const uint8_t *p)
{
    return jk_s16(get_le16(p));
}

static inline int32_t get_les32(const uint8_t *p)
{
    return jk_s32(get_le32(p));
}

/* The byte order of a field: JK's BLE frames are little-endian, its Modbus
 * register image of the same fields (and the 0x4E57 frames) big-endian. */
enum jk_order { JK_LE, JK_BE };

static inline uint16_t jk_get16(const uint8_t *p, enum jk_order o)
{
    return o == JK_BE ? get_be16(p) : get_le16(p);
}

static inline uint32_t jk_get32(const uint8_t *p, enum jk_order o)
{
    return o == JK_BE ? get_be32(p) : get_le32(p);
}

static inline int16_t jk_gets16(const uint8_t *p, enum jk_order o)
{
    return jk_s16(jk_get16(p, o));
}

static inline int32_t jk_gets32(const uint8_t *p, enum jk_order o)
{
    return jk_s32(jk_get32(p, o));
}

/* An IEEE-754 single from its little-endian bit pattern. */
static inline float get_lef32(const uint8_t *p)
{
    uint32_t u = get_le32(p);
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xffu);
    p[1] = (uint8_t)(v >> 8);
}

/* A bounds-checked reader: reads past the end return 0 and set `bad`, which
 * the caller tests once at the end. */
struct jk_cursor {
    const uint8_t *p;
    size_t len;
    size_t off;
    int bad;
};

static inline void jk_cursor_init(struct jk_cursor *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->len = len;
    c->off = 0;
    c->bad = 0;
}

/* The next n bytes, or NULL (and bad set) when fewer remain. */
static inline const uint8_t *jk_cursor_take(struct jk_cursor *c, size_t n)
{
    const uint8_t *at;
    if (c->bad || n > c->len - c->off) {
        c->bad = 1;
        return NULL;
    }
    at = c->p + c->off;
    c->off += n;
    return at;
}

static inline uint8_t jk_cursor_u8(struct jk_cursor *c)
{
    const uint8_t *p = jk_cursor_take(c, 1);
    return p ? p[0] : 0;
}

static inline uint16_t jk_cursor_le16(struct jk_cursor *c)
{
    const uint8_t *p = jk_cursor_take(c, 2);
    return p ? get_le16(p) : 0;
}

static inline uint32_t jk_cursor_le32(struct jk_cursor *c)
{
    const uint8_t *p = jk_cursor_take(c, 4);
    return p ? get_le32(p) : 0;
}

static inline uint32_t jk_cursor_be32(struct jk_cursor *c)
{
    const uint8_t *p = jk_cursor_take(c, 4);
    return p ? get_be32(p) : 0;
}

static inline size_t jk_cursor_left(const struct jk_cursor *c)
{
    return c->bad ? 0 : c->len - c->off;
}

#endif

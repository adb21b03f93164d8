/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pylon_rs485: the Pylontech LV RS485 frame (ASCII hex, LCHKSUM, CHKSUM)
 * and the INFO of every reply a battery gives. Pure code. */
#include "config.h"

#include "plugins/libpylon/pylon.h"

#include <errno.h>
#include <string.h>

static const char hexdigits[] = "0123456789ABCDEF";

uint16_t pylon_length_field(uint16_t lenid)
{
    unsigned sum = (lenid & 0xFu) + ((lenid >> 4) & 0xFu) + ((lenid >> 8) & 0xFu);
    /* -(sum) mod 16, reduced after the negation: a multiple of 16 gives 0 */
    unsigned lchk = (16u - (sum % 16u)) % 16u;

    return (uint16_t)((lchk << 12) | (lenid & 0x0FFFu));
}

uint16_t pylon_chksum(const char *ascii, size_t n)
{
    uint32_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += (unsigned char)ascii[i];
    return (uint16_t)((0x10000u - (sum & 0xFFFFu)) & 0xFFFFu);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Two hex characters at t[0], t[1] into *out; -1 when not hex. */
static int hexbyte(const char *t, uint8_t *out)
{
    int hi = hexval(t[0]), lo = hexval(t[1]);

    if (hi < 0 || lo < 0)
        return -1;
    *out = (uint8_t)(hi << 4 | lo);
    return 0;
}

int pylon_frame_decode(const char *text, size_t n, struct pylon_frame *out)
{
    uint8_t b[2];
    uint16_t length, want_sum, lenid;

    memset(out, 0, sizeof(*out));
    /* VER ADR CID1 CID2 LENGTH(4) ... CHKSUM(4): at least 16 characters */
    if (n < 16)
        return -EINVAL;
    if (hexbyte(text, &out->ver) < 0 || hexbyte(text + 2, &out->adr) < 0 ||
        hexbyte(text + 4, &out->cid1) < 0 || hexbyte(text + 6, &out->cid2) < 0)
        return -EINVAL;
    if (hexbyte(text + n - 4, &b[0]) < 0 || hexbyte(text + n - 2, &b[1]) < 0)
        return -EINVAL;
    want_sum = (uint16_t)(b[0] << 8 | b[1]);
    if (pylon_chksum(text, n - 4) != want_sum)
        return -EBADMSG;
    if (hexbyte(text + 8, &b[0]) < 0 || hexbyte(text + 10, &b[1]) < 0)
        return -EINVAL;
    length = (uint16_t)(b[0] << 8 | b[1]);
    lenid = length & 0x0FFFu;
    if (pylon_length_field(lenid) != length)
        return -EPROTO;
    /* LENID counts the INFO characters between LENGTH and CHKSUM exactly */
    if ((size_t)lenid != n - 16 || lenid % 2 != 0 || lenid / 2 > PYLON_INFO_MAX)
        return -EPROTO;
    out->lenid = lenid;
    out->info_len = lenid / 2u;
    for (size_t i = 0; i < out->info_len; i++)
        if (hexbyte(text + 12 + 2 * i, &out->info[i]) < 0)
            return -EINVAL;
    return 0;
}

static void put_hex(char *o, uint8_t v)
{
    o[0] = hexdigits[v >> 4];
    o[1] = hexdigits[v & 0xF];
}

size_t pylon_frame_encode(uint8_t ver, uint8_t adr, uint8_t cid1, uint8_t cid2,
                          const uint8_t *info, size_t info_len, char *out, size_t cap)
{
    size_t total = 1 + 12 + 2 * info_len + 4 + 1, k = 1;
    uint16_t length, sum;

    if (info_len > PYLON_INFO_MAX || cap < total)
        return 0;
    length = pylon_length_field((uint16_t)(2 * info_len));
    out[0] = (char)PYLON_SOI;
    put_hex(out + k, ver), k += 2;
    put_hex(out + k, adr), k += 2;
    put_hex(out + k, cid1), k += 2;
    put_hex(out + k, cid2), k += 2;
    put_hex(out + k, (uint8_t)(length >> 8)), k += 2;
    put_hex(out + k, (uint8_t)length), k += 2;
    for (size_t i = 0; i < info_len; i++, k += 2)
        put_hex(out + k, info[i]);
    sum = pylon_chksum(out + 1, k - 1);
    put_hex(out + k, (uint8_t)(sum >> 8)), k += 2;
    put_hex(out + k, (uint8_t)sum), k += 2;
    out[k++] = (char)PYLON_EOI;
    return k;
}

/* ---- INFO builders: a cursor over the output that remembers overflow ---- */

struct put {
    uint8_t *p;
    size_t n, cap;
    int full;
};

static void put8(struct put *w, unsigned v)
{
    if (w->n + 1 > w->cap) {
        w->full = 1;
        return;
    }
    w->p[w->n++] = (uint8_t)v;
}

static void put16(struct put *w, unsigned v)
{
    put8(w, (v >> 8) & 0xFFu);
    put8(w, v & 0xFFu);
}

static void put24(struct put *w, uint32_t v)
{
    put8(w, (v >> 16) & 0xFFu);
    put16(w, v & 0xFFFFu);
}

/* Signed 16-bit, two's complement, clamped. */
static void puts16(struct put *w, int64_t v)
{
    if (v > 32767)
        v = 32767;
    if (v < -32768)
        v = -32768;
    put16(w, (unsigned)(uint16_t)(int16_t)v);
}

static void putu16(struct put *w, uint32_t v)
{
    put16(w, v > 0xFFFFu ? 0xFFFFu : v);
}

/* Deci-degrees Celsius as the protocol's 0.1 K (2731 = 0 C). */
static void put_kelvin(struct put *w, int32_t dc)
{
    putu16(w, (uint32_t)(dc + 2731 < 0 ? 0 : dc + 2731));
}

static void put_text(struct put *w, const char *s, size_t width, char pad)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < width; i++)
        put8(w, i < len ? (unsigned char)s[i] : (unsigned char)pad);
}

static size_t done(const struct put *w)
{
    return w->full ? 0 : w->n;
}

static void analog_body(struct put *w, const struct pylon_pack *p)
{
    put8(w, p->ncells);
    for (unsigned i = 0; i < p->ncells && i < PYLON_CELLS_MAX; i++)
        putu16(w, p->cell_mv[i]);
    put8(w, p->ntemps);
    for (unsigned i = 0; i < p->ntemps && i < PYLON_TEMPS_MAX; i++)
        put_kelvin(w, p->temp_dc[i]);
    puts16(w, p->current_ma / 100); /* 100 mA per count, + = charging */
    putu16(w, p->voltage_mv);
    if (p->total_mah > 65000u || p->remaining_mah > 65000u) {
        /* capacities above 65 Ah go in the 3-byte fields, "user items" 4 */
        put16(w, 0xFFFFu);
        put8(w, 4);
        put16(w, 0xFFFFu);
        putu16(w, p->cycles);
        put24(w, p->remaining_mah > 0xFFFFFFu ? 0xFFFFFFu : p->remaining_mah);
        put24(w, p->total_mah > 0xFFFFFFu ? 0xFFFFFFu : p->total_mah);
    } else {
        putu16(w, p->remaining_mah);
        put8(w, 2);
        putu16(w, p->total_mah);
        putu16(w, p->cycles);
    }
}

typedef void (*body_fn)(struct put *w, const struct pylon_pack *p);

/* One pack's reply: INFOFLAG, ADR, its block. */
static size_t one_pack(body_fn body, const struct pylon_pack *p, uint8_t adr, uint8_t *out,
                       size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put8(&w, p->info_flag);
    put8(&w, adr);
    body(&w, p);
    return done(&w);
}

/* A group's reply (INFO 0xFF): INFOFLAG, the pack count, a block each. */
static size_t group(body_fn body, const struct pylon_pack *packs, size_t n, uint8_t *out,
                    size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put8(&w, n > 0 ? packs[0].info_flag : 0);
    put8(&w, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        body(&w, &packs[i]);
    return done(&w);
}

size_t pylon_info_analog(const struct pylon_pack *p, uint8_t adr, uint8_t *out, size_t cap)
{
    return one_pack(analog_body, p, adr, out, cap);
}

size_t pylon_info_analog_group(const struct pylon_pack *packs, size_t n, uint8_t *out,
                               size_t cap)
{
    return group(analog_body, packs, n, out, cap);
}

/* Thresholds for the 0x44 states: a cell above / below them is "above
 * limit" / "below limit". LiFePO4. */
#define CELL_ABOVE_MV 3650u
#define CELL_BELOW_MV 2500u

static void alarm_body(struct put *w, const struct pylon_pack *p)
{
    unsigned s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0;
    uint32_t a = p->alarm_bits;

    put8(w, p->ncells);
    for (unsigned i = 0; i < p->ncells && i < PYLON_CELLS_MAX; i++) {
        unsigned st = p->cell_mv[i] > CELL_ABOVE_MV ? 0x02u
                      : p->cell_mv[i] < CELL_BELOW_MV ? 0x01u
                                                      : 0x00u;
        put8(w, st);
        if (st != 0 && i < 8)
            s4 |= 1u << i;
        else if (st != 0 && i < 16)
            s5 |= 1u << (i - 8);
    }
    put8(w, p->ntemps);
    for (unsigned i = 0; i < p->ntemps && i < PYLON_TEMPS_MAX; i++) {
        unsigned st = 0;
        if (i == 0 && (a & PYLON_ALARM_MOS_OT))
            st = 0x02;
        else if (i > 0 && (a & PYLON_ALARM_CELL_OT))
            st = 0x02;
        else if (i > 0 && (a & PYLON_ALARM_CELL_UT))
            st = 0x01;
        put8(w, st);
    }
    put8(w, (a & PYLON_ALARM_CHARGE_OC) ? 0x02 : 0x00);
    put8(w, (a & PYLON_ALARM_PACK_OV) ? 0x02 : (a & PYLON_ALARM_PACK_UV) ? 0x01 : 0x00);
    put8(w, (a & PYLON_ALARM_DISCHARGE_OC) ? 0x02 : 0x00);
    /* Status1 b7..b0: module UV, charge OT, discharge OT, discharge OC, -,
     * charge OC, cell UV, module OV */
    if (a & PYLON_ALARM_PACK_UV)
        s1 |= 0x80;
    if (a & PYLON_ALARM_CELL_OT)
        s1 |= 0x40 | 0x20;
    if (a & PYLON_ALARM_DISCHARGE_OC)
        s1 |= 0x10;
    if (a & PYLON_ALARM_CHARGE_OC)
        s1 |= 0x04;
    if (a & PYLON_ALARM_CELL_UV)
        s1 |= 0x02;
    if (a & (PYLON_ALARM_PACK_OV | PYLON_ALARM_CELL_OV))
        s1 |= 0x01;
    /* Status2 b3 on battery, b2 DFET, b1 CFET */
    if (p->current_ma < 0)
        s2 |= 0x08;
    if (p->discharge_fet)
        s2 |= 0x04;
    if (p->charge_fet)
        s2 |= 0x02;
    /* Status3 b7 I > 0.1 A, b6 I < -0.1 A, b3 full */
    if (p->current_ma > 100)
        s3 |= 0x80;
    if (p->current_ma < -100)
        s3 |= 0x40;
    if (p->soc >= 100)
        s3 |= 0x08;
    put8(w, s1);
    put8(w, s2);
    put8(w, s3);
    put8(w, s4);
    put8(w, s5);
}

size_t pylon_info_alarm(const struct pylon_pack *p, uint8_t adr, uint8_t *out, size_t cap)
{
    return one_pack(alarm_body, p, adr, out, cap);
}

size_t pylon_info_alarm_group(const struct pylon_pack *packs, size_t n, uint8_t *out,
                              size_t cap)
{
    return group(alarm_body, packs, n, out, cap);
}

size_t pylon_info_sysparam(const struct pylon_sysparam *s, uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};

    putu16(&w, s->cell_high_mv);
    putu16(&w, s->cell_low_mv);
    putu16(&w, s->cell_under_mv);
    put_kelvin(&w, s->charge_high_dc);
    put_kelvin(&w, s->charge_low_dc);
    puts16(&w, s->ccl_da);
    putu16(&w, s->module_high_mv);
    putu16(&w, s->module_low_mv);
    putu16(&w, s->module_under_mv);
    put_kelvin(&w, s->discharge_high_dc);
    put_kelvin(&w, s->discharge_low_dc);
    puts16(&w, s->dcl_da);
    return done(&w);
}

static unsigned status_bits(const struct pylon_limits *l)
{
    return (l->charge_enable ? 0x80u : 0) | (l->discharge_enable ? 0x40u : 0) |
           (l->force_charge ? 0x20u : 0) | (l->full_charge_request ? 0x08u : 0);
}

size_t pylon_info_management(const struct pylon_limits *l, uint8_t adr, int dcl_negative,
                             uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put8(&w, adr);
    putu16(&w, l->cvl_mv);
    putu16(&w, l->dvl_mv);
    puts16(&w, l->ccl_da);
    puts16(&w, dcl_negative ? -(int64_t)l->dcl_da : (int64_t)l->dcl_da);
    put8(&w, status_bits(l));
    return done(&w);
}

size_t pylon_info_serial(const struct pylon_pack *p, uint8_t adr, uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put8(&w, adr);
    put_text(&w, p->serial, 16, ' ');
    return done(&w);
}

size_t pylon_info_maker(const struct pylon_identity *id, uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put_text(&w, id->battery_name, 10, ' ');
    put8(&w, id->sw_major);
    put8(&w, id->sw_minor);
    put_text(&w, id->manufacturer, 20, ' ');
    return done(&w);
}

size_t pylon_info_software(const struct pylon_identity *id, uint8_t adr, uint8_t *out,
                           size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put8(&w, adr);
    put8(&w, id->sw_major); /* manufacturer version */
    put8(&w, id->sw_minor);
    put8(&w, id->sw_major); /* main line version */
    put8(&w, id->sw_minor);
    put8(&w, 0);
    return done(&w);
}

size_t pylon_info_sys_info(const struct pylon_identity *id, size_t npacks, uint8_t *out,
                           size_t cap)
{
    struct put w = {out, 0, cap, 0};

    put_text(&w, id->battery_name, 10, ' ');
    put_text(&w, id->manufacturer, 20, ' ');
    put8(&w, id->sw_major);
    put8(&w, id->sw_minor);
    put8(&w, (unsigned)npacks);
    return done(&w);
}

/* Extremes over the packs' cells and temperatures, with their positions
 * (pack number << 8 | cell or probe number, both 1-based). */
struct extremes {
    uint32_t max_mv, min_mv, max_pos, min_pos;
    int32_t tsum, tmax, tmin, tmax_pos, tmin_pos, tn;
    int32_t bsum, bmax, bmin, bmax_pos, bmin_pos, bn;
};

static void scan_extremes(const struct pylon_pack *packs, size_t n, struct extremes *e)
{
    memset(e, 0, sizeof(*e));
    e->min_mv = UINT32_MAX;
    for (size_t k = 0; k < n; k++) {
        const struct pylon_pack *p = &packs[k];
        for (unsigned i = 0; i < p->ncells && i < PYLON_CELLS_MAX; i++) {
            uint32_t pos = (uint32_t)((k + 1) << 8 | (i + 1));
            if (p->cell_mv[i] == 0)
                continue;
            if (p->cell_mv[i] > e->max_mv)
                e->max_mv = p->cell_mv[i], e->max_pos = pos;
            if (p->cell_mv[i] < e->min_mv)
                e->min_mv = p->cell_mv[i], e->min_pos = pos;
        }
        for (unsigned i = 0; i < p->ntemps && i < PYLON_TEMPS_MAX; i++) {
            int32_t t = p->temp_dc[i], pos = (int32_t)((k + 1) << 8 | (i + 1));
            if (i == 0) { /* the BMS board's (MOSFET) probe */
                if (e->bn == 0 || t > e->bmax)
                    e->bmax = t, e->bmax_pos = pos;
                if (e->bn == 0 || t < e->bmin)
                    e->bmin = t, e->bmin_pos = pos;
                e->bsum += t, e->bn++;
                continue;
            }
            if (e->tn == 0 || t > e->tmax)
                e->tmax = t, e->tmax_pos = pos;
            if (e->tn == 0 || t < e->tmin)
                e->tmin = t, e->tmin_pos = pos;
            e->tsum += t, e->tn++;
        }
    }
    if (e->min_mv == UINT32_MAX)
        e->min_mv = 0;
}

static void put_temps(struct put *w, int32_t sum, int32_t n, int32_t max, int32_t max_pos,
                      int32_t min, int32_t min_pos)
{
    put_kelvin(w, n > 0 ? (int32_t)((int64_t)sum / n) : 0);
    put_kelvin(w, max);
    putu16(w, (uint32_t)max_pos);
    put_kelvin(w, min);
    putu16(w, (uint32_t)min_pos);
}

size_t pylon_info_sys_analog(const struct pylon_pack *bank, const struct pylon_pack *packs,
                             size_t n, uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};
    struct extremes e;
    uint32_t cyc_sum = 0, cyc_max = 0, soh_sum = 0, soh_min = 100;

    scan_extremes(packs, n, &e);
    for (size_t k = 0; k < n; k++) {
        cyc_sum += packs[k].cycles;
        cyc_max = packs[k].cycles > cyc_max ? packs[k].cycles : cyc_max;
        soh_sum += packs[k].soh;
        soh_min = packs[k].soh < soh_min ? packs[k].soh : soh_min;
    }
    putu16(&w, bank->voltage_mv);
    puts16(&w, bank->current_ma / 10); /* 10 mA per count */
    put8(&w, bank->soc);
    putu16(&w, n > 0 ? cyc_sum / (uint32_t)n : bank->cycles);
    putu16(&w, n > 0 ? cyc_max : bank->cycles);
    put8(&w, n > 0 ? soh_sum / (uint32_t)n : bank->soh);
    put8(&w, n > 0 ? soh_min : bank->soh);
    putu16(&w, e.max_mv);
    putu16(&w, e.max_pos);
    putu16(&w, e.min_mv);
    putu16(&w, e.min_pos);
    put_temps(&w, e.tsum, e.tn, e.tmax, e.tmax_pos, e.tmin, e.tmin_pos);
    /* MOSFET and BMS board: the JK's one MOSFET probe serves both */
    put_temps(&w, e.bsum, e.bn, e.bmax, e.bmax_pos, e.bmin, e.bmin_pos);
    put_temps(&w, e.bsum, e.bn, e.bmax, e.bmax_pos, e.bmin, e.bmin_pos);
    return done(&w);
}

size_t pylon_info_sys_alarm(const struct pylon_pack *bank, uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};
    uint32_t a = bank->alarm_bits;
    unsigned a1 = 0, a2 = 0, p1 = 0, p2 = 0;

    /* alarm1 b7..b0: pack V high, low, cell V high, low, cell T high, low,
     * MOSFET T high, imbalance */
    a1 = ((a & PYLON_ALARM_PACK_OV) ? 0x80u : 0) | ((a & PYLON_ALARM_PACK_UV) ? 0x40u : 0) |
         ((a & PYLON_ALARM_CELL_OV) ? 0x20u : 0) | ((a & PYLON_ALARM_CELL_UV) ? 0x10u : 0) |
         ((a & PYLON_ALARM_CELL_OT) ? 0x08u : 0) | ((a & PYLON_ALARM_CELL_UT) ? 0x04u : 0) |
         ((a & PYLON_ALARM_MOS_OT) ? 0x02u : 0) | ((a & PYLON_ALARM_IMBALANCE) ? 0x01u : 0);
    /* alarm2 b6 charge OC, b5 discharge OC, b4 internal comm */
    a2 = ((a & PYLON_ALARM_CHARGE_OC) ? 0x40u : 0) | ((a & PYLON_ALARM_DISCHARGE_OC) ? 0x20u : 0) |
         ((a & PYLON_ALARM_SYSTEM) ? 0x10u : 0);
    /* protection1 b7..b1: module OV, UV, cell OV, UV, cell OT, UT, MOSFET OT */
    p1 = a1 & 0xFEu;
    /* protection2 b6 charge OC, b5 discharge OC, b3 system fault */
    p2 = ((a & PYLON_ALARM_CHARGE_OC) ? 0x40u : 0) | ((a & PYLON_ALARM_DISCHARGE_OC) ? 0x20u : 0) |
         ((a & PYLON_ALARM_SYSTEM) ? 0x08u : 0);
    put8(&w, a1);
    put8(&w, a2);
    put8(&w, p1);
    put8(&w, p2);
    return done(&w);
}

size_t pylon_info_sys_management(const struct pylon_limits *l, uint8_t *out, size_t cap)
{
    struct put w = {out, 0, cap, 0};

    putu16(&w, l->cvl_mv);
    putu16(&w, l->dvl_mv);
    /* 10 mA per count, as the SRNE-tested implementation sends it */
    puts16(&w, (int64_t)l->ccl_da * 10);
    puts16(&w, (int64_t)l->dcl_da * 10);
    put8(&w, status_bits(l));
    return done(&w);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_decode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugins/libjk/jk_bytes.h"

static const char *const proto_names[] = {"auto", "JK04", "JK02_24S", "JK02_32S", "JK_UART"};

int jk_protocol_parse(const char *name, int *out)
{
    for (int i = 0; i <= JK_PROTO_JK02_32S; i++) { /* the BLE variants */
        if (name != NULL && strcasecmp(name, proto_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *jk_protocol_name(int proto)
{
    return proto >= 0 && proto <= JK_PROTO_UART ? proto_names[proto] : "unknown";
}

/* Field offsets that differ between the JK02 layouts. */
struct jk02_layout {
    size_t slots;
    size_t mask, res, mos, pack_v, current, t1, t2, errors, errors_len, bal_cur, bal_act, soc,
        remain, nominal, cycles, cycle_cap, soh, runtime, chg, dsg, temp_mask, heating;
    size_t t3, t4, t5; /* 32S extra probes T3-T5 (0 = none) */
};

static const struct jk02_layout layout_24s = {
    .slots = 24, .mask = 54, .res = 64, .mos = 134, .pack_v = 118, .current = 126, .t1 = 130,
    .t2 = 132, .errors = 136, .errors_len = 2, .bal_cur = 138, .bal_act = 140, .soc = 141,
    .remain = 142, .nominal = 146, .cycles = 150, .cycle_cap = 154, .soh = 158, .runtime = 162,
    .chg = 166, .dsg = 167, .temp_mask = 182, .heating = 183, .t3 = 0, .t4 = 0,
};

static const struct jk02_layout layout_32s = {
    .slots = 32, .mask = 70, .res = 80, .mos = 144, .pack_v = 150, .current = 158, .t1 = 162,
    .t2 = 164, .errors = 166, .errors_len = 4, .bal_cur = 170, .bal_act = 172, .soc = 173,
    .remain = 174, .nominal = 178, .cycles = 182, .cycle_cap = 186, .soh = 190, .runtime = 194,
    .chg = 198, .dsg = 199, .temp_mask = 214, .heating = 215, .t3 = 254, .t4 = 256, .t5 = 258,
};

static const struct jk02_layout *jk02_layout(int proto)
{
    return proto == JK_PROTO_JK02_24S ? &layout_24s
           : proto == JK_PROTO_JK02_32S ? &layout_32s
                                        : NULL;
}

/* The number of the highest set bit (1..32), 0 for none. */
static size_t bit_length(uint32_t x)
{
#if defined(__GNUC__)
    return x != 0 ? 32 - (size_t)__builtin_clz(x) : 0;
#else
    size_t n = 0;
    for (; x != 0; x >>= 1)
        n++;
    return n;
#endif
}

/* What the variant check needs of the cells, gathered while decoding them. */
struct cell_tally {
    double sum;       /* of the non-zero cells, in slot order */
    size_t nonzero;
    uint32_t nz_mask; /* which slots are non-zero */
    int out_of_range; /* a non-zero cell outside 0.5 .. 5.5 V */
};

/* Cells to report: up to the last non-zero or enabled one of `slots`. */
static size_t reported_cells(const struct cell_tally *t, size_t slots, uint32_t enabled)
{
    uint32_t in_slots = slots < 32 ? (1u << slots) - 1 : 0xffffffffu;
    return bit_length(t->nz_mask | (enabled & in_slots));
}

/* Count cell i, of voltage v; in_range: 0.5 <= v <= 5.5. */
static void tally(struct cell_tally *t, size_t i, double v, int in_range)
{
    if (v == 0.0)
        return;
    t->out_of_range |= !in_range;
    t->sum += v;
    t->nonzero++;
    t->nz_mask |= 1u << i; /* i < JK_MAX_CELLS = 32 */
}

static double temp01(const uint8_t *p, enum jk_order o)
{
    return jk_gets16(p, o) / 10.0;
}

/* out[i] = in[i] / 1000.0 for n values; with n a constant (inlined) the
 * compiler divides two or more at a time: the same correctly rounded
 * quotients, at a fraction of the time (division is the slowest step). */
static inline void thousandths(double *out, const uint16_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] / 1000.0;
}

/* The JK02 fields, read in byte order `o`: little-endian in a BLE frame,
 * big-endian in a JK-PB's Modbus register image of the same layout. */
static int decode_jk02(const uint8_t *f, const struct jk02_layout *L, enum jk_order o,
                       struct jk_cell_info *ci, struct cell_tally *t)
{
    uint32_t mask = jk_get32(f + L->mask, o);
    struct cell_tally acc = {0}; /* in registers: ci's stores cannot alias it */
    uint16_t mv[JK_MAX_CELLS], res[JK_MAX_CELLS];

    for (size_t i = 0; i < L->slots; i++) {
        mv[i] = jk_get16(f + 6 + 2 * i, o);
        res[i] = jk_get16(f + L->res + 2 * i, o);
    }
    if (L->slots == 24) { /* the layouts' slot counts as constants */
        thousandths(ci->cell_v, mv, 24);
        thousandths(ci->cell_ohm, res, 24);
    } else if (L->slots == 32) {
        thousandths(ci->cell_v, mv, 32);
        thousandths(ci->cell_ohm, res, 32);
    } else {
        thousandths(ci->cell_v, mv, L->slots);
        thousandths(ci->cell_ohm, res, L->slots);
    }
    for (size_t i = 0; i < L->slots; i++)
        /* mv / 1000.0 is correctly rounded and 0.5, 5.5 are exact: the same
         * test as on v, in integers */
        tally(&acc, i, ci->cell_v[i], mv[i] >= 500 && mv[i] <= 5500);
    *t = acc;
    ci->ncells = reported_cells(t, L->slots, mask);
    ci->has_pack = 1;
    ci->pack_v = jk_get32(f + L->pack_v, o) / 1000.0;
    ci->current_a = jk_gets32(f + L->current, o) / 1000.0;
    if (L->t3 == 0) {
        /* 24S: T1 and T2, always sent */
        ci->temps[0] = temp01(f + L->t1, o);
        ci->temps[1] = temp01(f + L->t2, o);
        ci->ntemps = 2;
    } else {
        /* 32S (JK-PB, V1.1 register map): T1, T2 at 0x9C/0x9E and T3, T4, T5
         * at 0xF8/0xFA/0xFC; 0xD0 bits 1-5 say which are present (1). A
         * missing probe is left out, not guessed from its value. */
        const size_t at[5] = {L->t1, L->t2, L->t3, L->t4, L->t5};
        uint8_t present = f[L->temp_mask];
        ci->ntemps = 0;
        for (size_t i = 0; i < 5; i++)
            if (present & (1u << (i + 1)))
                ci->temps[ci->ntemps++] = temp01(f + at[i], o);
    }
    ci->has_mos_temp = 1;
    ci->mos_temp = temp01(f + L->mos, o);
    ci->has_errors = 1;
    ci->errors = L->errors_len == 4 ? jk_get32(f + L->errors, o) : jk_get16(f + L->errors, o);
    ci->has_balance_current = 1;
    ci->balance_current_a = jk_gets16(f + L->bal_cur, o) / 1000.0;
    ci->balancing_action = f[L->bal_act];
    ci->soc = f[L->soc];
    ci->remaining_ah = jk_gets32(f + L->remain, o) / 1000.0; /* 0xA8: signed */
    ci->nominal_ah = jk_get32(f + L->nominal, o) / 1000.0;
    ci->cycles = jk_get32(f + L->cycles, o);
    ci->cycle_capacity_ah = jk_get32(f + L->cycle_cap, o) / 1000.0;
    ci->soh = f[L->soh];
    ci->has_runtime = 1;
    ci->runtime_s = jk_get32(f + L->runtime, o);
    ci->charging = f[L->chg] != 0;
    ci->discharging = f[L->dsg] != 0;
    ci->balancer_switch = -1; /* in the settings record, not here */
    ci->heating = f[L->heating] != 0;
    return 0;
}

static int decode_jk04(const uint8_t *f, struct jk_cell_info *ci, struct cell_tally *t)
{
    double sum = 0;
    struct cell_tally acc = {0};

    for (size_t i = 0; i < 24; i++) {
        float v = get_lef32(f + 6 + 4 * i), r = get_lef32(f + 102 + 4 * i);
        double cell = isfinite(v) ? v : 0.0;
        ci->cell_v[i] = cell;
        ci->cell_ohm[i] = isfinite(r) ? r : 0.0;
        sum += cell;
        tally(&acc, i, cell, cell >= 0.5 && cell <= 5.5);
    }
    *t = acc;
    ci->ncells = reported_cells(t, 24, 0);
    /* A balancer has no pack voltage: the sum of its cells stands in. */
    ci->pack_v = sum;
    ci->balancing_action = f[220];
    {
        float bc = get_lef32(f + 222);
        ci->has_balance_current = isfinite(bc);
        ci->balance_current_a = isfinite(bc) ? bc : 0.0;
    }
    ci->has_runtime = 1;
    ci->runtime_s = get_le32(f + 286);
    ci->charging = ci->discharging = ci->heating = -1;
    ci->balancer_switch = -1;
    return 0;
}

static int decode_cells(const uint8_t frame[JK_FRAME_LEN], int proto, struct jk_cell_info *out,
                        struct cell_tally *t)
{
    const struct jk02_layout *L = jk02_layout(proto);

    if (frame[4] != JK_RECORD_CELL_INFO || (proto != JK_PROTO_JK04 && L == NULL))
        return -EINVAL;
    /* Checked first, so *out is decoded into in place (no copy) and stays
     * untouched on failure. */
    memset(out, 0, sizeof(*out));
    out->proto = proto;
    if (L == NULL)
        decode_jk04(frame, out, t);
    else
        decode_jk02(frame, L, JK_LE, out, t);
    return 0;
}

int jk_decode_cell_info(const uint8_t frame[JK_FRAME_LEN], int proto, struct jk_cell_info *out)
{
    struct cell_tally t;
    return decode_cells(frame, proto, out, &t);
}

/* A Modbus block is the payload of the matching BLE record (from its byte
 * 6), big-endian: place it where the frame has it and read the same fields. */
static void block_as_frame(const uint8_t *block, size_t len, uint8_t frame[JK_FRAME_LEN])
{
    memset(frame, 0, JK_FRAME_LEN);
    memcpy(frame + 6, block, len < JK_FRAME_LEN - 6 ? len : JK_FRAME_LEN - 6);
}

int jk_decode_live_block(const uint8_t *block, size_t len, struct jk_cell_info *out)
{
    uint8_t frame[JK_FRAME_LEN];
    struct jk_cell_info ci;
    struct cell_tally t;

    if (len < JK_LIVE_BLOCK_MIN)
        return -EINVAL;
    block_as_frame(block, len, frame);
    memset(&ci, 0, sizeof(ci));
    ci.proto = JK_PROTO_JK02_32S;
    decode_jk02(frame, jk02_layout(JK_PROTO_JK02_32S), JK_BE, &ci, &t);
    *out = ci;
    return 0;
}

void jk_cell_stats(const struct jk_cell_info *ci, struct jk_cell_stats *out)
{
    double sum = 0;

    memset(out, 0, sizeof(*out));
    out->count = ci->ncells;
    for (size_t i = 0; i < ci->ncells; i++) {
        double v = ci->cell_v[i];
        if (v <= 0.0)
            continue;
        if (out->nonzero == 0 || v < out->min_v) {
            out->min_v = v;
            out->min_index = i + 1;
        }
        if (out->nonzero == 0 || v > out->max_v) {
            out->max_v = v;
            out->max_index = i + 1;
        }
        sum += v;
        out->nonzero++;
    }
    if (out->nonzero > 0) {
        out->avg_v = sum / (double)out->nonzero;
        out->delta_v = out->max_v - out->min_v;
    }
}

/* Copy a NUL-padded ASCII field, keeping printable bytes only. */
static void text_field(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap && src[i] != 0; i++)
        dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

void jk_text_field(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    text_field(dst, cap, src, len);
}

static void decode_device_info(const uint8_t *frame, enum jk_order o, struct jk_device_info *out)
{
    struct jk_device_info di;

    memset(&di, 0, sizeof(di));
    text_field(di.model, sizeof(di.model), frame + 6, 16);
    text_field(di.hw_version, sizeof(di.hw_version), frame + 22, 8);
    text_field(di.sw_version, sizeof(di.sw_version), frame + 30, 8);
    di.uptime_s = jk_get32(frame + 38, o);
    di.power_on_count = jk_get32(frame + 42, o);
    text_field(di.name, sizeof(di.name), frame + 46, 16);
    text_field(di.mfg_date, sizeof(di.mfg_date), frame + 78, 8);
    text_field(di.serial, sizeof(di.serial), frame + 86, 11);
    *out = di;
}

int jk_decode_device_info(const uint8_t frame[JK_FRAME_LEN], struct jk_device_info *out)
{
    if (frame[4] != JK_RECORD_DEVICE_INFO)
        return -EINVAL;
    decode_device_info(frame, JK_LE, out);
    return 0;
}

void jk_mask_device_info_secrets(uint8_t *bytes, size_t len, size_t at)
{
    /* Frame offsets of the passcodes (jk-ble-protocol.md section 8). */
    static const struct {
        size_t off, len;
    } secret[] = {{62, 16}, {97, 5}, {118, 16}};

    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        for (size_t k = secret[i].off; k < secret[i].off + secret[i].len; k++)
            if (k >= at && k - at < len)
                bytes[k - at] = 0;
}

int jk_decode_info_block(const uint8_t *block, size_t len, struct jk_device_info *out)
{
    uint8_t frame[JK_FRAME_LEN];

    if (len < JK_INFO_BLOCK_MIN)
        return -EINVAL;
    block_as_frame(block, len, frame);
    decode_device_info(frame, JK_BE, out);
    return 0;
}

int jk_decode_settings(const uint8_t frame[JK_FRAME_LEN], int proto, struct jk_settings *out)
{
    struct jk_settings s;

    if (frame[4] != JK_RECORD_SETTINGS)
        return -EINVAL;
    memset(&s, 0, sizeof(s));
    s.proto = proto;
    if (proto == JK_PROTO_JK04) {
        s.cell_count = frame[34];
        s.balance_start_v = get_lef32(frame + 98);
        s.balance_trigger_v = get_lef32(frame + 106);
    } else if (jk02_layout(proto) != NULL) {
        s.cell_uvp_v = get_le32(frame + 10) / 1000.0;
        s.cell_ovp_v = get_le32(frame + 18) / 1000.0;
        s.balance_trigger_v = get_le32(frame + 26) / 1000.0;
        s.cell_count = frame[114];
        s.nominal_ah = get_le32(frame + 130) / 1000.0;
        s.balance_start_v = get_le32(frame + 138) / 1000.0;
    } else {
        return -EINVAL;
    }
    *out = s;
    return 0;
}

static const char *const jk02_errors[32] = {
    "wire resistance",
    "MOSFET over-temperature",
    "cell count differs from settings",
    NULL,
    "battery fully charged",
    "pack over-voltage",
    "charge over-current",
    "charge short circuit",
    "charge over-temperature",
    "charge under-temperature",
    "coprocessor communication error",
    "cell under-voltage",
    "pack under-voltage",
    "discharge over-current",
    "discharge short circuit",
    "discharge over-temperature",
    "charge MOSFET abnormal",
    "discharge MOSFET abnormal",
    "GPS disconnected",
    "modify password in time",
    "discharge on failed",
    "battery over-temperature",
    "temperature sensor anomaly",
    "PL module anomaly",
    "SCP release failed",
    "discharge OCP II",
    "discharge OCP III",
    "discharge under-temperature alarm",
    "GPS remote lock",
};

/* The 0x4E57 protocol's warning word (ID 0x8B). */
static const char *const uart_warnings[32] = {
    "low capacity",
    "MOSFET over-temperature",
    "charge over-voltage",
    "discharge under-voltage",
    "battery over-temperature",
    "charge over-current",
    "discharge over-current",
    "cell voltage difference",
    "battery box over-temperature",
    "battery under-temperature",
    "cell over-voltage",
    "cell under-voltage",
    "309_A protection",
    "309_B protection",
};

void jk_error_names(uint32_t errors, int proto, char *buf, size_t cap)
{
    size_t used = 0;
    unsigned bits = proto == JK_PROTO_JK02_32S ? 32 : 16;
    const char *const *names = proto == JK_PROTO_UART ? uart_warnings : jk02_errors;

    if (cap == 0)
        return;
    buf[0] = '\0';
    for (unsigned b = 0; b < bits; b++) {
        char unknown[24];
        const char *name;
        int n;
        if (!((errors >> b) & 1u))
            continue;
        name = names[b];
        if (name == NULL) {
            snprintf(unknown, sizeof(unknown), "bit %u", b);
            name = unknown;
        }
        n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", name);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

void jk_format_runtime(uint32_t seconds, char *buf, size_t cap)
{
    uint32_t years = seconds / (365u * 86400u), rest = seconds % (365u * 86400u);
    uint32_t days = rest / 86400u, hours = (rest % 86400u) / 3600u;
    int n = 0;

    if (cap == 0)
        return;
    buf[0] = '\0';
    if (years > 0)
        n = snprintf(buf, cap, "%uy", (unsigned)years);
    if (days > 0 && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, "%s%ud", n ? " " : "", (unsigned)days);
    if ((hours > 0 || n == 0) && n >= 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "%s%uh", n ? " " : "", (unsigned)hours);
}

/* The leading integer of a version string like "10.XG", "15A" or "V11.2". */
static int version_major(const char *v)
{
    long n;
    char *end;

    while (*v != '\0' && !(*v >= '0' && *v <= '9'))
        v++;
    if (*v == '\0')
        return -1;
    n = strtol(v, &end, 10);
    return end == v || n > 1000 ? -1 : (int)n;
}

int jk_detect_from_device_info(const struct jk_device_info *di)
{
    int hw = version_major(di->hw_version), sw = version_major(di->sw_version);

    if (strstr(di->model, "B5A24S") != NULL)
        return JK_PROTO_JK04;
    if (sw >= 11 || hw >= 11)
        return JK_PROTO_JK02_32S;
    if ((hw >= 0 && hw <= 3) || (sw >= 0 && sw <= 3))
        return JK_PROTO_JK04;
    if (hw >= 6 && hw <= 10)
        return JK_PROTO_JK02_24S;
    return JK_PROTO_AUTO;
}

static int temp_plausible(double t)
{
    return t >= -40.0 && t <= 100.0;
}

/* Decode into *work and check it; *work holds the decoded record either way. */
static int fits(const uint8_t frame[JK_FRAME_LEN], int proto, struct jk_cell_info *work)
{
#define ci (*work)
    struct cell_tally t; /* no non-zero cell lies past ncells */

    if (decode_cells(frame, proto, work, &t) < 0 || t.out_of_range || t.nonzero == 0)
        return 0;
    if (proto == JK_PROTO_JK04) {
        /* Only cell floats: every unused slot must be exactly zero. */
        for (size_t i = ci.ncells; i < 24; i++)
            if (ci.cell_v[i] != 0.0)
                return 0;
        return 1;
    }
    {
        const struct jk02_layout *L = jk02_layout(proto);
        uint32_t mask;
        if (L == NULL)
            return 0;
        mask = get_le32(frame + L->mask);
        /* The mask is 32 bits in both layouts; with 24 slots it must not
         * claim cells 25..32. */
        if (L->slots < 32 && (mask >> L->slots) != 0)
            return 0;
        if (mask != 0 && (mask & t.nz_mask) != t.nz_mask)
            return 0;
        if (fabs(ci.pack_v - t.sum) > 0.05 * t.sum + 0.1)
            return 0;
        if (!temp_plausible(ci.temps[0]) || !temp_plausible(ci.temps[1]) ||
            !temp_plausible(ci.mos_temp))
            return 0;
        if (ci.soc > 100)
            return 0;
    }
    return 1;
#undef ci
}

int jk_cell_info_fits(const uint8_t frame[JK_FRAME_LEN], int proto)
{
    struct jk_cell_info work;
    return fits(frame, proto, &work);
}

int jk_decode_cell_info_checked(const uint8_t frame[JK_FRAME_LEN], int proto,
                                struct jk_cell_info *out)
{
    return fits(frame, proto, out) ? 0 : -EPROTO;
}

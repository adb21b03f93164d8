/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pylon_can: the six frames of the PYLON CAN-Bus protocol V1.2 a battery
 * sends every period, little-endian, and the struct can_frame layout the
 * unix stand-in carries. Pure code. */
#include "config.h"

#include "plugins/libpylon/pylon.h"

#include <errno.h>
#include <string.h>

static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static uint32_t clamp_u16(int64_t v)
{
    return v < 0 ? 0u : v > 0xFFFF ? 0xFFFFu : (uint32_t)v;
}

static uint32_t clamp_s16(int64_t v)
{
    if (v > 32767)
        v = 32767;
    if (v < -32768)
        v = -32768;
    return (uint32_t)(uint16_t)(int16_t)v;
}

static void frame(struct pylon_can_frame *f, uint32_t id, uint8_t len)
{
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->len = len;
}

size_t pylon_can_frames(const struct pylon_pack *bank, const struct pylon_limits *l,
                        unsigned npacks, const char *manufacturer,
                        struct pylon_can_frame out[PYLON_CAN_FRAMES])
{
    uint32_t a = bank->alarm_bits;
    size_t mlen = strlen(manufacturer);

    /* 0x351: CVL 0.1 V, CCL 0.1 A, DCL 0.1 A, DVL 0.1 V */
    frame(&out[0], 0x351, 8);
    le16(out[0].data, clamp_u16(l->cvl_mv / 100));
    le16(out[0].data + 2, clamp_s16(l->ccl_da));
    le16(out[0].data + 4, clamp_s16(l->dcl_da));
    le16(out[0].data + 6, clamp_u16((l->dvl_mv + 99) / 100)); /* DVL up, CVL down: the safe side */
    /* 0x355: SOC %, SOH % */
    frame(&out[1], 0x355, 4);
    le16(out[1].data, bank->soc);
    le16(out[1].data + 2, bank->soh);
    /* 0x356: voltage 0.01 V, current 0.1 A, temperature 0.1 C */
    frame(&out[2], 0x356, 6);
    le16(out[2].data, clamp_s16(bank->voltage_mv / 10)); /* 52.885 V -> 52.88 V, as the sheet */
    le16(out[2].data + 2, clamp_s16(bank->current_ma / 100));
    le16(out[2].data + 4, clamp_s16(bank->ntemps > 0 ? bank->temp_dc[0] : 0));
    /* 0x359: protection (2), alarm (2), module count, 'P', 'N' */
    frame(&out[3], 0x359, 7);
    out[3].data[0] = (uint8_t)(((a & PYLON_ALARM_CELL_OV) || (a & PYLON_ALARM_PACK_OV) ? 0x02 : 0) |
                               ((a & PYLON_ALARM_CELL_UV) || (a & PYLON_ALARM_PACK_UV) ? 0x04 : 0) |
                               ((a & PYLON_ALARM_CELL_OT) ? 0x08 : 0) |
                               ((a & PYLON_ALARM_CELL_UT) ? 0x10 : 0) |
                               ((a & PYLON_ALARM_DISCHARGE_OC) ? 0x80 : 0));
    out[3].data[1] = (uint8_t)(((a & PYLON_ALARM_CHARGE_OC) ? 0x01 : 0) |
                               ((a & PYLON_ALARM_SYSTEM) ? 0x08 : 0));
    out[3].data[2] = 0;
    out[3].data[3] = (uint8_t)((a & PYLON_ALARM_SYSTEM) ? 0x08 : 0);
    out[3].data[4] = (uint8_t)(npacks > 255 ? 255 : npacks);
    out[3].data[5] = 'P';
    out[3].data[6] = 'N';
    /* 0x35C: b7 charge enable, b6 discharge enable, b5 force charge I, b3 full charge */
    frame(&out[4], 0x35C, 2);
    out[4].data[0] = (uint8_t)((l->charge_enable ? 0x80 : 0) | (l->discharge_enable ? 0x40 : 0) |
                               (l->force_charge ? 0x20 : 0) |
                               (l->full_charge_request ? 0x08 : 0));
    /* 0x35E: the manufacturer, space-padded to 8 */
    frame(&out[5], 0x35E, 8);
    for (size_t i = 0; i < 8; i++)
        out[5].data[i] = i < mlen ? (uint8_t)manufacturer[i] : (uint8_t)' ';
    return PYLON_CAN_FRAMES;
}

void pylon_can_pack(const struct pylon_can_frame *f, uint8_t wire[PYLON_CAN_WIRE])
{
    uint32_t id = f->id & 0x7FFu; /* standard 11-bit id, no flags */

    memset(wire, 0, PYLON_CAN_WIRE);
    memcpy(wire, &id, sizeof(id)); /* canid_t in host order, as the kernel has it */
    wire[4] = f->len > 8 ? 8 : f->len;
    memcpy(wire + 8, f->data, 8);
}

int pylon_can_unpack(const uint8_t *wire, size_t n, struct pylon_can_frame *f)
{
    uint32_t id;

    if (n < PYLON_CAN_WIRE)
        return -EINVAL;
    memcpy(&id, wire, sizeof(id));
    /* CAN_EFF_FLAG, CAN_RTR_FLAG, CAN_ERR_FLAG: the top three bits */
    if ((id & 0xE0000000u) != 0 || wire[4] > 8)
        return -EINVAL;
    memset(f, 0, sizeof(*f));
    f->id = id & 0x7FFu;
    f->len = wire[4];
    memcpy(f->data, wire + 8, f->len);
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plugins/libjk/jk_decode.h"

static const char *const switch_names[JK_SWITCH_COUNT] = {"charge", "discharge", "balancer"};
static const char *const switch_metrics[JK_SWITCH_COUNT] = {"charge_switch", "discharge_switch",
                                                            "balancer_switch"};
/* BLE registers of JK02 (24S and 32S); JK04 has only the balancer. */
static const uint8_t jk02_registers[JK_SWITCH_COUNT] = {0x1D, 0x1E, 0x1F};
#define JK04_BALANCER_REGISTER 0x6C
/* Settings-frame bytes of the flags (uint32 LE, the first byte used). */
static const size_t jk02_flag_offsets[JK_SWITCH_COUNT] = {118, 122, 126};
#define JK04_BALANCER_FLAG 114

int jk_switch_parse(const char *name, int *out)
{
    for (int i = 0; i < JK_SWITCH_COUNT; i++) {
        if (strcmp(name, switch_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *jk_switch_name(int sw)
{
    return sw >= 0 && sw < JK_SWITCH_COUNT ? switch_names[sw] : "?";
}

const char *jk_switch_metric(int sw)
{
    return sw >= 0 && sw < JK_SWITCH_COUNT ? switch_metrics[sw] : NULL;
}

int jk_switch_value_parse(const char *value, int *on)
{
    if (strcasecmp(value, "on") == 0 || strcasecmp(value, "true") == 0 ||
        strcmp(value, "1") == 0) {
        *on = 1;
        return 0;
    }
    if (strcasecmp(value, "off") == 0 || strcasecmp(value, "false") == 0 ||
        strcmp(value, "0") == 0) {
        *on = 0;
        return 0;
    }
    return -EINVAL;
}

void jk_build_register_write(uint8_t reg, uint8_t len, uint32_t value, uint8_t out[JK_CMD_LEN])
{
    jk_build_command(reg, out); /* preamble, register, zeros */
    out[5] = len;
    for (int i = 0; i < 4; i++)
        out[6 + i] = (uint8_t)(value >> (8 * i));
    out[JK_CMD_LEN - 1] = jk_sum8(out, JK_CMD_LEN - 1);
}

int jk_build_switch_frame(int proto, int sw, int on, uint8_t out[JK_CMD_LEN])
{
    uint8_t reg, len;

    if (sw < 0 || sw >= JK_SWITCH_COUNT)
        return -EINVAL;
    if (proto == JK_PROTO_JK02_24S || proto == JK_PROTO_JK02_32S) {
        reg = jk02_registers[sw];
        len = 4;
    } else if (proto == JK_PROTO_JK04) {
        if (sw != JK_SWITCH_BALANCER)
            return -EOPNOTSUPP;
        reg = JK04_BALANCER_REGISTER;
        len = 1;
    } else {
        return -EINVAL;
    }
    jk_build_register_write(reg, len, on ? 1u : 0u, out);
    return 0;
}

int jk_settings_switches(const uint8_t frame[JK_FRAME_LEN], int proto,
                         int flags[JK_SWITCH_COUNT])
{
    if (frame[4] != JK_RECORD_SETTINGS)
        return -EINVAL;
    if (proto == JK_PROTO_JK02_24S || proto == JK_PROTO_JK02_32S) {
        for (int i = 0; i < JK_SWITCH_COUNT; i++)
            flags[i] = frame[jk02_flag_offsets[i]] != 0;
        return 0;
    }
    if (proto == JK_PROTO_JK04) {
        flags[JK_SWITCH_CHARGE] = flags[JK_SWITCH_DISCHARGE] = -1;
        flags[JK_SWITCH_BALANCER] = frame[JK04_BALANCER_FLAG] != 0;
        return 0;
    }
    return -EINVAL;
}

static const char *on_off(int v)
{
    return v < 0 ? "unknown" : v ? "on" : "off";
}

int jk_switch_confirmed(int sw, int on, const struct jk_switch_state *st, char *detail,
                        size_t cap)
{
    int with_mosfet = sw != JK_SWITCH_BALANCER && st->mosfet >= 0;
    int ok = st->flag == (on ? 1 : 0) && (!with_mosfet || st->mosfet == (on ? 1 : 0));

    if (with_mosfet)
        snprintf(detail, cap, "%s: BMS reports switch %s, MOSFET %s", jk_switch_name(sw),
                 on_off(st->flag), on_off(st->mosfet));
    else
        snprintf(detail, cap, "%s: BMS reports switch %s", jk_switch_name(sw), on_off(st->flag));
    return ok;
}

uint16_t jk_modbus_crc(const uint8_t *p, size_t len)
{
    uint16_t crc = 0xFFFF;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

/* Address, function 0x10, register (BE), quantity 2 (BE): the 6 bytes the
 * request and its echo start with. */
static int write_head(int slave, int sw, uint8_t out[6])
{
    uint16_t reg;

    if (slave < 1 || slave > 247 || sw < 0 || sw >= JK_SWITCH_COUNT)
        return -EINVAL;
    reg = (uint16_t)JK_MB_SWITCH_REG(sw);
    out[0] = (uint8_t)slave;
    out[1] = 0x10;
    out[2] = (uint8_t)(reg >> 8);
    out[3] = (uint8_t)(reg & 0xFF);
    out[4] = 0x00;
    out[5] = 0x02;
    return 0;
}

void jk_modbus_put_crc(uint8_t *p, size_t len)
{
    uint16_t crc = jk_modbus_crc(p, len);
    p[len] = (uint8_t)(crc & 0xFF);
    p[len + 1] = (uint8_t)(crc >> 8);
}

int jk_modbus_crc_ok(const uint8_t *p, size_t len)
{
    uint16_t crc;

    if (len < 2)
        return 0;
    crc = jk_modbus_crc(p, len - 2);
    return p[len - 2] == (uint8_t)(crc & 0xFF) && p[len - 1] == (uint8_t)(crc >> 8);
}

int jk_modbus_switch_frame(int slave, int sw, int on, uint8_t out[JK_MB_WRITE_LEN])
{
    if (write_head(slave, sw, out) < 0)
        return -EINVAL;
    out[6] = 4; /* byte count */
    out[7] = out[8] = out[9] = 0;
    out[10] = on ? 1 : 0;
    jk_modbus_put_crc(out, 11);
    return 0;
}

int jk_modbus_switch_echo(int slave, int sw, uint8_t out[JK_MB_ECHO_LEN])
{
    if (write_head(slave, sw, out) < 0)
        return -EINVAL;
    jk_modbus_put_crc(out, 6);
    return 0;
}

void jk_modbus_switch_state(int sw, const uint8_t flag[4], const uint8_t *mosfets,
                            struct jk_switch_state *out)
{
    out->flag = (flag[0] | flag[1] | flag[2] | flag[3]) != 0;
    out->mosfet = -1;
    if (mosfets != NULL && sw == JK_SWITCH_CHARGE)
        out->mosfet = mosfets[0] != 0;
    else if (mosfets != NULL && sw == JK_SWITCH_DISCHARGE)
        out->mosfet = mosfets[1] != 0;
}

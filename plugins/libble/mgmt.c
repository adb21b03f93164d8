/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libble/mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugins/libjk/jk_bytes.h"

int mgmt_build(uint8_t *out, size_t cap, uint16_t op, uint16_t index, const uint8_t *param,
               size_t param_len)
{
    if (param_len > 0xFFFF || cap < MGMT_HDR_LEN || cap - MGMT_HDR_LEN < param_len)
        return -ENOSPC;
    put_le16(out, op);
    put_le16(out + 2, index);
    put_le16(out + 4, (uint16_t)param_len);
    if (param_len > 0)
        memcpy(out + MGMT_HDR_LEN, param, param_len);
    return (int)(MGMT_HDR_LEN + param_len);
}

int mgmt_parse(const uint8_t *buf, size_t len, struct mgmt_event *out)
{
    struct mgmt_event ev;
    struct jk_cursor c;
    const uint8_t *addr;
    uint16_t plen;

    memset(&ev, 0, sizeof(ev));
    if (len < MGMT_HDR_LEN)
        return -EBADMSG;
    ev.code = get_le16(buf);
    ev.index = get_le16(buf + 2);
    plen = get_le16(buf + 4);
    if ((size_t)plen != len - MGMT_HDR_LEN)
        return -EBADMSG;
    jk_cursor_init(&c, buf + MGMT_HDR_LEN, plen);
    switch (ev.code) {
    case MGMT_EV_CMD_COMPLETE:
    case MGMT_EV_CMD_STATUS:
        ev.cmd = jk_cursor_le16(&c);
        ev.status = jk_cursor_u8(&c);
        if (ev.code == MGMT_EV_CMD_COMPLETE) {
            ev.rparam_len = jk_cursor_left(&c);
            ev.rparam = jk_cursor_take(&c, ev.rparam_len);
        }
        break;
    case MGMT_EV_DEVICE_FOUND:
        addr = jk_cursor_take(&c, 6);
        ev.address_type = jk_cursor_u8(&c);
        ev.rssi = (int8_t)jk_cursor_u8(&c);
        ev.flags = jk_cursor_le32(&c);
        ev.eir_len = jk_cursor_le16(&c);
        if (c.bad || ev.eir_len != jk_cursor_left(&c))
            return -EBADMSG; /* the EIR length must fill the event exactly */
        ev.eir = jk_cursor_take(&c, ev.eir_len);
        /* the address comes least significant byte first */
        snprintf(ev.address, sizeof(ev.address), "%02X:%02X:%02X:%02X:%02X:%02X", addr[5],
                 addr[4], addr[3], addr[2], addr[1], addr[0]);
        break;
    case MGMT_EV_DISCOVERING:
        ev.discovery_type = jk_cursor_u8(&c);
        ev.discovering = jk_cursor_u8(&c);
        break;
    default:
        break;
    }
    if (c.bad)
        return -EBADMSG;
    *out = ev;
    return 0;
}

int mgmt_index_list(const uint8_t *rparam, size_t len, uint16_t *out, size_t cap)
{
    size_t n, stored = 0;

    if (len < 2)
        return -EBADMSG;
    n = get_le16(rparam);
    if (len != 2 + 2 * n)
        return -EBADMSG;
    for (size_t i = 0; i < n && stored < cap; i++)
        out[stored++] = get_le16(rparam + 2 + 2 * i);
    return (int)stored;
}

const char *mgmt_status_str(uint8_t status)
{
    static const char *const names[] = {
        "Success",       "Unknown Command",       "Not Connected",     "Failed",
        "Connect Failed", "Authentication Failed", "Not Paired",        "No Resources",
        "Timeout",       "Already Connected",     "Busy",              "Rejected",
        "Not Supported", "Invalid Parameters",    "Disconnected",      "Not Powered",
        "Cancelled",     "Invalid Index",         "RFKilled",          "Already Paired",
        "Permission Denied",
    };
    return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown status";
}

int mgmt_controller_settings(const uint8_t *rparam, size_t len, uint32_t *supported,
                             uint32_t *current)
{
    if (len < 17) /* the settings end at byte 17 of MGMT_READ_INFO_LEN */
        return -EBADMSG;
    *supported = get_le32(rparam + 9);
    *current = get_le32(rparam + 13);
    return 0;
}

const char *mgmt_controller_unfit(uint32_t supported, uint32_t current)
{
    if (!(supported & MGMT_SETTING_LE))
        return "BR/EDR only (no LE)";
    if (!(current & MGMT_SETTING_POWERED))
        return "powered off";
    if (!(current & MGMT_SETTING_LE))
        return "LE switched off";
    return NULL;
}

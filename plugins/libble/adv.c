#include "config.h"

#include "plugins/libble/adv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plugins/libjk/jk_bytes.h"

static void format_address(const uint8_t *p, char out[18])
{
    /* HCI sends the address least significant byte first */
    snprintf(out, 18, "%02X:%02X:%02X:%02X:%02X:%02X", p[5], p[4], p[3], p[2], p[1], p[0]);
}

int adv_parse_event(const uint8_t *pkt, size_t len, struct adv_report *out, size_t cap)
{
    struct jk_cursor c;
    uint8_t code, plen, sub, n;
    size_t got = 0;

    jk_cursor_init(&c, pkt, len);
    code = jk_cursor_u8(&c);
    plen = jk_cursor_u8(&c);
    if (c.bad || code != 0x3E)
        return c.bad ? -EBADMSG : 0;
    if (plen > jk_cursor_left(&c))
        return -EBADMSG;
    jk_cursor_init(&c, pkt + 2, plen); /* never read past the event's own length */
    sub = jk_cursor_u8(&c);
    if (sub != 0x02 && sub != 0x0D)
        return c.bad ? -EBADMSG : 0;
    n = jk_cursor_u8(&c);
    for (uint8_t i = 0; i < n && !c.bad; i++) {
        struct adv_report r;
        const uint8_t *addr;
        uint8_t dlen;

        memset(&r, 0, sizeof(r));
        if (sub == 0x02) {
            r.event_type = jk_cursor_u8(&c);
            r.address_type = jk_cursor_u8(&c);
            addr = jk_cursor_take(&c, 6);
            dlen = jk_cursor_u8(&c);
            r.data = jk_cursor_take(&c, dlen);
            r.rssi = (int8_t)jk_cursor_u8(&c);
        } else {
            uint16_t et = jk_cursor_le16(&c);
            r.event_type = (uint8_t)(et & 0xff);
            r.address_type = jk_cursor_u8(&c);
            addr = jk_cursor_take(&c, 6);
            jk_cursor_take(&c, 3); /* primary PHY, secondary PHY, SID */
            jk_cursor_u8(&c);      /* TX power */
            r.rssi = (int8_t)jk_cursor_u8(&c);
            jk_cursor_take(&c, 2 + 1 + 6); /* periodic interval, direct address */
            dlen = jk_cursor_u8(&c);
            r.data = jk_cursor_take(&c, dlen);
        }
        if (c.bad)
            return -EBADMSG;
        r.data_len = dlen;
        format_address(addr, r.address);
        if (got < cap)
            out[got++] = r;
    }
    return c.bad ? -EBADMSG : (int)got;
}

int adv_parse_data(const uint8_t *data, size_t len, char *name, size_t name_cap,
                   int *has_ffe0)
{
    size_t i = 0;

    while (i < len) {
        size_t flen = data[i];
        const uint8_t *f;
        uint8_t type;

        if (flen == 0)
            break; /* padding */
        if (flen > len - i - 1)
            return -EBADMSG; /* a length running past the data */
        type = data[i + 1];
        f = data + i + 2;
        if ((type == 0x08 || type == 0x09) && name_cap > 0 && (type == 0x09 || name[0] == '\0')) {
            size_t n = flen - 1 < name_cap - 1 ? flen - 1 : name_cap - 1;
            for (size_t k = 0; k < n; k++)
                name[k] = (f[k] >= 0x20 && f[k] < 0x7f) ? (char)f[k] : '?';
            name[n] = '\0';
        } else if (type == 0x02 || type == 0x03) {
            for (size_t k = 0; k + 1 < flen; k += 2)
                if (get_le16(f + k) == 0xFFE0)
                    *has_ffe0 = 1;
        }
        i += 1 + flen;
    }
    return 0;
}

int adv_is_jk(const char *name, int has_ffe0)
{
    if (has_ffe0)
        return 1;
    if (strncmp(name, "JK-", 3) == 0 || strncmp(name, "JK_", 3) == 0)
        return 1;
    /* renamed units: anything with JK or JIKONG in it, as the seed did */
    for (const char *p = name; *p; p++)
        if (strncasecmp(p, "JK", 2) == 0 || strncasecmp(p, "JIKONG", 6) == 0)
            return 1;
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libble/adv.h"

#include <errno.h>
#include <string.h>

#include "plugins/libble/att.h"

#define JK_SERVICE 0xFFE0

/* 1 if a list of 16-bit (size 2) or 128-bit (size 16) service UUIDs names
 * FFE0; a trailing partial UUID is never read. */
static int lists_ffe0(const uint8_t *f, size_t n, size_t size)
{
    for (size_t k = 0; k + size <= n; k += size)
        if (att_uuid16(f + k, size) == JK_SERVICE)
            return 1;
    return 0;
}

int adv_parse_data(const uint8_t *data, size_t len, char *name, size_t name_cap,
                   int *has_ffe0)
{
    size_t i = 0;

    while (i < len) {
        size_t flen = data[i], n;
        const uint8_t *f;
        uint8_t type;

        if (flen == 0)
            break; /* padding */
        if (flen > len - i - 1)
            return -EBADMSG; /* runs past the data: what came before stays */
        type = data[i + 1];
        f = data + i + 2;
        n = flen - 1; /* flen counts the type byte */
        if ((type == 0x08 || type == 0x09) && name_cap > 0 && (type == 0x09 || name[0] == '\0')) {
            size_t m = n < name_cap - 1 ? n : name_cap - 1;
            for (size_t k = 0; k < m; k++)
                name[k] = (f[k] >= 0x20 && f[k] < 0x7f) ? (char)f[k] : '?';
            name[m] = '\0';
        } else if ((type == 0x02 || type == 0x03) && lists_ffe0(f, n, 2)) {
            *has_ffe0 = 1;
        } else if ((type == 0x06 || type == 0x07) && lists_ffe0(f, n, 16)) {
            *has_ffe0 = 1;
        }
        i += 1 + flen;
    }
    return 0;
}

int adv_is_jk(const char *name, int has_ffe0)
{
    /* the factory names (JK-B2A24S15P, JK_PB2A16S15P...) and the JK
     * service; a renamed unit without FFE0 in its advertising is found by
     * its name only when asked for (jk_scan's want_name) */
    return has_ffe0 || strncmp(name, "JK-", 3) == 0 || strncmp(name, "JK_", 3) == 0;
}

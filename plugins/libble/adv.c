/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libble/adv.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "plugins/libjk/jk_bytes.h"

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
            for (size_t k = 0; k + 2 <= flen - 1; k += 2) /* flen counts the type byte */
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

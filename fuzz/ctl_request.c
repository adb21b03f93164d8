/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the control socket's request parser (core/ctlproto.c) on
 * arbitrary lines, as a peer of the daemon's own uid could send them. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_request req;
    char err[256];

    if (ctl_parse_request((const char *)data, size, &req, err, sizeof(err)) == 0) {
        /* what the server relies on afterwards */
        if (req.battery[0] == '\0' || memchr(req.battery, '\0', sizeof(req.battery)) == NULL ||
            (req.sw[0] != '\0' && strcmp(req.value, "on") != 0 && strcmp(req.value, "off") != 0) ||
            req.duration_ms < 0)
            __builtin_trap();
    } else if (memchr(err, '\0', sizeof(err)) == NULL || strchr(err, '\n') != NULL) {
        __builtin_trap(); /* one line */
    }
    return 0;
}

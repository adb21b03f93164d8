/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the btsnoop reader and the hex-dump reader. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jk_capture c;
    char err[128];

    if (jk_capture_parse_btsnoop(data, size, &c, err, sizeof(err)) == 0)
        jk_capture_free(&c);
    if (jk_capture_parse_hex((const char *)data, size, &c, err, sizeof(err)) == 0)
        jk_capture_free(&c);
    return 0;
}

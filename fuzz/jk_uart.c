/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the 0x4E57 assembler fed arbitrary bytes in arbitrary chunk
 * sizes, and the decoder walking arbitrary data IDs inside a frame whose
 * checksum is made right (so the walk is reached, not only the framing). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_uart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_frame(const uint8_t *frame, size_t len, void *user)
{
    struct jk_uart_data d;
    struct jk_cell_stats st;
    (void)user;
    if (jk_uart_decode(frame, len, &d) == 0)
        jk_cell_stats(&d.ci, &st);
}

/* Wrap the data in a read-all answer: header, data, record number, end
 * mark, checksum. */
static void as_frame(const uint8_t *data, size_t size)
{
    static const uint8_t head[11] = {0x4e, 0x57, 0, 0, 0, 0, 0, 0, 0x06, 0x00, 0x01};
    uint8_t f[JK_UART_MAX_FRAME];
    size_t n = size > JK_UART_MAX_FRAME - 20 ? JK_UART_MAX_FRAME - 20 : size, len = n + 20;
    uint32_t sum = 0;

    memcpy(f, head, sizeof(head));
    f[2] = (uint8_t)((len - 2) >> 8);
    f[3] = (uint8_t)(len - 2);
    memcpy(f + 11, data, n);
    memset(f + 11 + n, 0, 4);
    f[15 + n] = 0x68;
    for (size_t i = 0; i < len - 4; i++)
        sum += f[i];
    f[len - 4] = (uint8_t)(sum >> 24);
    f[len - 3] = (uint8_t)(sum >> 16);
    f[len - 2] = (uint8_t)(sum >> 8);
    f[len - 1] = (uint8_t)sum;
    on_frame(f, len, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jk_uart_assembler as, *a = &as;
    size_t chunk, off = 1;

    if (size < 1)
        return 0;
    if (data[0] & 0x80) {
        as_frame(data + 1, size - 1);
        return 0;
    }
    chunk = (size_t)data[0] % 64 + 1; /* the first byte picks the chunk size */
    jk_uart_assembler_init(a);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        jk_uart_assembler_feed(a, data + off, n, on_frame, NULL);
        off += n;
    }
    return 0;
}

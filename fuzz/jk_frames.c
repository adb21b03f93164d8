/* libFuzzer: the JK assembler, every decoder and variant detection, fed
 * arbitrary notification bytes in arbitrary chunk sizes. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"
#include "plugins/libjk/jk_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_frame(const uint8_t *frame, void *user)
{
    struct jk_cell_info ci;
    struct jk_device_info di;
    struct jk_settings st;
    struct jk_cell_stats stats;
    (void)user;

    for (int p = JK_PROTO_JK04; p <= JK_PROTO_JK02_32S; p++) {
        if (jk_decode_cell_info(frame, p, &ci) == 0)
            jk_cell_stats(&ci, &stats);
        (void)jk_cell_info_fits(frame, p);
        (void)jk_decode_settings(frame, p, &st);
    }
    if (jk_decode_device_info(frame, &di) == 0)
        (void)jk_detect_from_device_info(&di);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jk_assembler a;
    struct jk_stream s;
    struct jk_cell_info ci;
    size_t chunk, off = 1;

    if (size < 1)
        return 0;
    chunk = (size_t)data[0] % 64 + 1; /* the first byte picks the chunk size */
    jk_assembler_init(&a);
    jk_stream_init(&s, JK_PROTO_AUTO);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        jk_assembler_feed(&a, data + off, n, on_frame, NULL);
        jk_stream_feed(&s, data + off, n);
        (void)jk_stream_take_cell_info(&s, &ci);
        off += n;
    }
    return 0;
}

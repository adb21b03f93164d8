/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: assembler + variant check + decode throughput per JK variant,
 * fed as the old BLE module sends it (128 + 128 + 44 byte notifications). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugins/libjk/jk_capture.h"
#include "plugins/libjk/jk_stream.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int load(const char *name, uint8_t frame[300])
{
    char path[4096], err[256];
    const char *top = getenv("top_srcdir");
    struct jk_capture cap;
    size_t used = 0, len;

    snprintf(path, sizeof(path), "%s/tests/data/jk/%s", top ? top : ".", name);
    if (jk_capture_load(path, &cap, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_decode: %s\n", err);
        return -1;
    }
    for (size_t i = 0; i < cap.n && used < 300; i++) {
        const uint8_t *c = jk_capture_chunk(&cap, i, &len);
        memcpy(frame + used, c, len > 300 - used ? 300 - used : len);
        used += len;
    }
    jk_capture_free(&cap);
    return used == 300 ? 0 : -1;
}

int main(void)
{
    static const struct {
        const char *bench, *file;
        int proto;
    } cases[] = {
        {"decode_jk02_24s", "jk02_24s_v10_cell_info.hex", JK_PROTO_JK02_24S},
        {"decode_jk02_32s", "jk02_32s_v11_cell_info.hex", JK_PROTO_JK02_32S},
        {"decode_jk04", "jk04_cell_info.hex", JK_PROTO_JK04},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint8_t frame[300];
        struct jk_stream s;
        struct jk_cell_info ci;
        const long frames = 2000000;
        long decoded = 0;
        double t0, dt;

        if (load(cases[c].file, frame) < 0)
            return 1;
        jk_stream_init(&s, cases[c].proto);
        t0 = now();
        for (long i = 0; i < frames; i++) {
            jk_stream_feed(&s, frame, 128);
            jk_stream_feed(&s, frame + 128, 128);
            jk_stream_feed(&s, frame + 256, 44);
            decoded += jk_stream_take_cell_info(&s, &ci) == 0;
        }
        dt = now() - t0;
        if (decoded != frames) {
            fprintf(stderr, "bench_decode: %s decoded %ld of %ld\n", cases[c].bench, decoded, frames);
            return 1;
        }
        printf("{\"bench\": \"%s\", \"value\": %.0f, \"unit\": \"frames/s\"}\n", cases[c].bench,
               (double)frames / dt);
    }
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: assembler + variant check + decode throughput per JK variant,
 * fed as the old BLE module sends it (128 + 128 + 44 byte notifications),
 * in frames per second of CPU time (best of 5), with the instructions per
 * frame from callgrind beside each figure (they do not depend on the
 * machine's load; -1 without valgrind). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "plugins/libjk/jk_capture.h"
#include "plugins/libjk/jk_stream.h"

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

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct {
    const char *bench, *file;
    int proto;
} cases[] = {
    {"decode_jk02_24s", "jk02_24s_v10_cell_info.hex", JK_PROTO_JK02_24S},
    {"decode_jk02_32s", "jk02_32s_v11_cell_info.hex", JK_PROTO_JK02_32S},
    {"decode_jk04", "jk04_cell_info.hex", JK_PROTO_JK04},
};

/* Feed and decode `frames` records of case c; 0 if every one decoded. */
static int decode_frames(size_t c, const uint8_t frame[300], long frames)
{
    struct jk_stream s;
    struct jk_cell_info ci;
    long decoded = 0;

    jk_stream_init(&s, cases[c].proto);
    for (long i = 0; i < frames; i++) {
        jk_stream_feed(&s, frame, 128);
        jk_stream_feed(&s, frame + 128, 128);
        jk_stream_feed(&s, frame + 256, 44);
        decoded += jk_stream_take_cell_info(&s, &ci) == 0;
    }
    if (decoded != frames) {
        fprintf(stderr, "bench_decode: %s decoded %ld of %ld\n", cases[c].bench, decoded, frames);
        return -1;
    }
    return 0;
}

/* Instructions per frame of case c: this program under callgrind for two
 * frame counts, the difference over the difference (start-up left out). */
static double instructions_per_frame(const char *self, size_t c)
{
    static const long counts[2] = {1000, 21000};
    char out[64], index[8], frames[24];
    char *argv[] = {(char *)(uintptr_t)self, index, frames, NULL};
    long long ir[2];

    snprintf(index, sizeof(index), "%zu", c);
    for (int k = 0; k < 2; k++) {
        snprintf(frames, sizeof(frames), "%ld", counts[k]);
        snprintf(out, sizeof(out), "/tmp/bench-decode-%d.cg", (int)getpid());
        ir[k] = bench_callgrind_finish(bench_callgrind_start(argv, out, NULL), 0, out);
        remove(out);
        if (ir[k] <= 0)
            return -1;
    }
    return (double)(ir[1] - ir[0]) / (double)(counts[1] - counts[0]);
}

int main(int argc, char **argv)
{
    int have_valgrind;

    if (argc == 3) { /* one case, under callgrind: bench_decode CASE FRAMES */
        size_t c = strtoul(argv[1], NULL, 10);
        uint8_t frame[300];
        if (c >= sizeof(cases) / sizeof(cases[0]) || load(cases[c].file, frame) < 0)
            return 1;
        return decode_frames(c, frame, strtol(argv[2], NULL, 10)) == 0 ? 0 : 1;
    }
    have_valgrind = bench_have_valgrind();
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        uint8_t frame[300];
        const long frames = 1000000;
        double dt = 1e9, ipf = -1;

        if (load(cases[c].file, frame) < 0)
            return 1;
        /* The best of 5 runs in this thread's CPU time: the other processes
         * of a shared machine neither add to it nor take turns inside it. */
        for (int run = 0; run < 5; run++) {
            double t0 = cpu_now(), t;
            if (decode_frames(c, frame, frames) != 0)
                return 1;
            t = cpu_now() - t0;
            dt = t < dt ? t : dt;
        }
        if (have_valgrind)
            ipf = instructions_per_frame(argv[0], c);
        printf("{\"bench\": \"%s\", \"value\": %.0f, \"unit\": \"frames/s\", "
               "\"instructions_per_frame\": %.0f}\n",
               cases[c].bench, (double)frames / dt, ipf);
    }
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the JK assembler, every decoder and variant detection, fed
 * arbitrary notification bytes in arbitrary chunk sizes; and the same bytes
 * as a JK-PB's Modbus register images (live block, device info). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"
#include "plugins/libjk/jk_metrics.h"
#include "plugins/libjk/jk_plaus.h"
#include "plugins/libjk/jk_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_number(void *ctx, const char *name, double value)
{
    (void)ctx, (void)name, (void)value;
}

static void no_integer(void *ctx, const char *name, int64_t value)
{
    (void)ctx, (void)name, (void)value;
}

static void no_boolean(void *ctx, const char *name, int value)
{
    (void)ctx, (void)name, (void)value;
}

static void no_string(void *ctx, const char *name, const char *value)
{
    (void)ctx, (void)name, (void)value;
}

/* Reads every value it is given, so ASan sees a visit past the decoded ones. */
static void sum_numbers(void *ctx, const char *name, const double *values, size_t count)
{
    double *sum = ctx;
    (void)name;
    for (size_t i = 0; i < count; i++)
        *sum += values[i];
}

static void say_nothing(void *user, const char *line)
{
    (void)user, (void)line;
}

/* The plausibility verdict of a decoded record, the line each rejection
 * logs, and the metrics it leaves. */
static void check_plausible(const struct jk_cell_info *ci)
{
    static const struct jk_metric_visitor v = {no_number, no_integer, no_boolean, no_string,
                                               sum_numbers};
    struct jk_plaus_tally tally = {0, 0, 0};
    struct jk_plaus pl;
    double sum = 0;
    char line[256];

    jk_plaus_check(ci, &pl);
    for (size_t i = 0; i < pl.n; i++)
        (void)jk_plaus_describe(&pl.list[i], line, sizeof(line));
    jk_plaus_tally(&tally, &pl, say_nothing, NULL);
    jk_metrics_visit(ci, &pl, NULL, NULL, &v, &sum);
}

static void on_frame(const uint8_t *frame, void *user)
{
    struct jk_cell_info ci;
    struct jk_device_info di;
    struct jk_settings st;
    struct jk_cell_stats stats;
    (void)user;

    for (int p = JK_PROTO_JK04; p <= JK_PROTO_JK02_32S; p++) {
        if (jk_decode_cell_info(frame, p, &ci) == 0) {
            jk_cell_stats(&ci, &stats);
            check_plausible(&ci);
        }
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
    {
        struct jk_device_info di;
        if (jk_decode_live_block(data, size, &ci) == 0)
            check_plausible(&ci);
        (void)jk_decode_info_block(data, size, &di);
    }
    chunk = (size_t)data[0] % 64 + 1; /* the first byte picks the chunk size */
    jk_assembler_init(&a);
    jk_stream_init(&s, JK_PROTO_AUTO);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        jk_assembler_feed(&a, data + off, n, on_frame, NULL);
        jk_stream_feed(&s, data + off, n);
        if (jk_stream_take_cell_info(&s, &ci) == 0)
            check_plausible(&ci);
        off += n;
    }
    return 0;
}

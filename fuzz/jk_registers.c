/* libFuzzer: a JK-PB's Modbus register images (live block and device-info
 * block) of any content and length, through the decoders and the record
 * mapping every sink relies on. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void number(void *ctx, const char *name, double value)
{
    (void)ctx, (void)name, (void)value;
}

static void integer(void *ctx, const char *name, int64_t value)
{
    (void)ctx, (void)name, (void)value;
}

static void boolean(void *ctx, const char *name, int value)
{
    (void)ctx, (void)name, (void)value;
}

static void string(void *ctx, const char *name, const char *value)
{
    (void)ctx, (void)name, (void)value;
}

static void numbers(void *ctx, const char *name, const double *values, size_t count)
{
    (void)ctx, (void)name;
    for (size_t i = 0; i < count; i++)
        (void)values[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct jk_metric_visitor v = {number, integer, boolean, string, numbers};
    struct jk_cell_info ci;
    struct jk_device_info di;
    int has_di = jk_decode_info_block(data, size, &di) == 0;

    if (jk_decode_live_block(data, size, &ci) == 0)
        jk_metrics_visit(&ci, has_di ? &di : NULL, NULL, &v, NULL);
    return 0;
}

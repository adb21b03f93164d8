/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the jk_devices.yaml reader. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "plugins/libjkble/jk_devices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct jk_device devs[8];
    struct jk_device first;
    char err[256];
    FILE *fp;

    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/fuzz-devices-%d.yaml", (int)getpid());
    fp = fopen(path, "wb");
    if (fp == NULL)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    (void)jk_devices_load(path, devs, 8, err, sizeof(err));
    (void)jk_devices_first(path, &first, err, sizeof(err));
    (void)jk_devices_address_type(path, "C8:47:8C:00:00:01", err, sizeof(err));
    return 0;
}

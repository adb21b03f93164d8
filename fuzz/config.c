/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the config loader (libconfig syntax plus collectord's own
 * checks), on arbitrary file contents. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "core/conf.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct daemon_cfg *cfg;
    FILE *fp;

    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "/tmp/fuzz-config-%d.conf", (int)getpid());
        log_set_level(COLLECTOR_LOG_ERROR - 1); /* quiet */
    }
    fp = fopen(path, "wb");
    if (fp == NULL)
        return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    if (config_load(path, &cfg) == 0)
        config_free(cfg);
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one mapping from decoded JK records to metric names: the record
 * contract every sink relies on. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_METRICS_H
#define COLLECTORD_PLUGINS_LIBJK_JK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_plaus.h"

struct jk_metric_visitor {
    void (*number)(void *ctx, const char *name, double value);
    void (*integer)(void *ctx, const char *name, int64_t value);
    void (*boolean)(void *ctx, const char *name, int value);
    void (*string)(void *ctx, const char *name, const char *value);
    void (*numbers)(void *ctx, const char *name, const double *values, size_t count);
};

/* Visit every metric present and plausible: what `pl` (jk_plaus_check() of
 * `ci`) rejected is left out; a frame it drops visits only "protocol".
 * `di` and `address` may be NULL. */
void jk_metrics_visit(const struct jk_cell_info *ci, const struct jk_plaus *pl,
                      const struct jk_device_info *di, const char *address,
                      const struct jk_metric_visitor *v, void *ctx);

/* Set every plausible metric on `rec` through the host API, and the record's
 * device (the BLE address, else the BMS serial). 0 or the first setter's
 * error; -ERANGE, `rec` untouched, when `pl` drops the frame. */
int jk_record_fill(const struct collector_host_api *api, collector_record *rec,
                   const struct jk_cell_info *ci, const struct jk_plaus *pl,
                   const struct jk_device_info *di, const char *address);

/* The switch flags the BMS reports in its settings frame (flags[JK_SWITCH_*]
 * as jk_settings_switches() gives them; -1 absent) as the bools
 * charge_switch, discharge_switch, balancer_switch. 0 or the first error. */
int jk_record_switches(const struct collector_host_api *api, collector_record *rec,
                       const int flags[3]);

#endif

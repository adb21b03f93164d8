/* SPDX-License-Identifier: GPL-2.0-or-later */
/* soc_lifepo4: battery_soc from the average cell voltage on a curve, or the
 * BMS's own SOC copied (source = "bms"). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libsoccurve/soc_curve.h"

struct soc {
    const struct collector_host_api *api;
    collector_host *host;
    struct soc_curve curve;
    int from_bms;
    int warned;
};

static const char *const sources[] = {"voltage", "bms", NULL};
static const char *const presets[] = {"default", "lifepo4_rest", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "source", .type = COLLECTOR_SETTING_STRING, .default_value = "voltage",
     .allowed = sources,
     .description = "voltage: SOC from the curve; bms: copy the BMS's own bms_soc"},
    {.name = "curve", .type = COLLECTOR_SETTING_LIST,
     .description = "points ((V per cell, SOC %), ...), volts strictly increasing"},
    {.name = "preset", .type = COLLECTOR_SETTING_STRING, .allowed = presets,
     .description = "a named curve instead of curve"},
    {.name = NULL},
};

static int soc_create(const struct collector_host_api *api, collector_host *host,
                      const collector_settings *s, void **state_out)
{
    struct soc *st = calloc(1, sizeof(*st));
    const char *source = "voltage";

    if (st == NULL)
        return -ENOMEM;
    st->api = api;
    st->host = host;
    api->setting_string(s, "source", &source); /* checked by the host */
    st->from_bms = strcmp(source, "bms") == 0;
    if (soc_curve_from_settings(api, host, s, &st->curve) < 0) {
        free(st);
        return -EINVAL;
    }
    *state_out = st;
    return 0;
}

static int soc_process(void *state, collector_record *rec)
{
    struct soc *st = state;
    double v, soc;

    if (st->from_bms) {
        if (st->api->get_double(rec, "bms_soc", &soc) != 0) {
            if (!st->warned++)
                st->api->log(st->host, COLLECTOR_LOG_WARNING,
                             "record from %s has no bms_soc: battery_soc not set",
                             st->api->record_source(rec));
            return 0;
        }
        return st->api->set_double(rec, "battery_soc", soc);
    }
    if (soc_average_cell_voltage(st->api, rec, &v) != 0) {
        if (!st->warned++)
            st->api->log(st->host, COLLECTOR_LOG_WARNING,
                         "record from %s has neither cells nor battery_voltage and "
                         "bms_cell_count: passed on without battery_soc",
                         st->api->record_source(rec));
        return 0;
    }
    soc = round(soc_curve_eval(&st->curve, v) * 10.0) / 10.0;
    return st->api->set_double(rec, "battery_soc", soc);
}

static void soc_destroy(void *state)
{
    free(state);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "soc_lifepo4",
    .version = PACKAGE_VERSION,
    .description = "state of charge from the average cell voltage on a LiFePO4 curve",
    .create = soc_create,
    .process = soc_process,
    .destroy = soc_destroy,
    .setting_defs = setting_defs,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

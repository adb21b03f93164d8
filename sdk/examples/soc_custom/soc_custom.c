/* SPDX-License-Identifier: MIT */
/* soc_custom: an out-of-tree SOC calculator for NMC (Li-ion) cells, built
 * with nothing but the collectord SDK. Drop soc_custom.so into a plugin
 * directory and use `calculators = ( { plugin = "soc_custom"; } );`.
 *
 * The curve is a typical NMC open-circuit voltage table; replace it with
 * your cells' datasheet values. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include <collector/plugin.h>

static const double volts[] = {3.00, 3.50, 3.60, 3.70, 3.80, 3.90, 4.00, 4.10, 4.20};
static const double socs[] = {0.0, 10.0, 20.0, 40.0, 60.0, 75.0, 85.0, 95.0, 100.0};
#define NPOINTS (sizeof(volts) / sizeof(volts[0]))

struct state {
    const struct collector_host_api *api;
    collector_host *host;
};

static double nmc_soc(double v)
{
    if (v <= volts[0])
        return socs[0];
    for (size_t i = 1; i < NPOINTS; i++)
        if (v <= volts[i])
            return socs[i - 1] + (v - volts[i - 1]) / (volts[i] - volts[i - 1]) *
                                     (socs[i] - socs[i - 1]);
    return socs[NPOINTS - 1];
}

static int custom_create(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *settings, void **state_out)
{
    struct state *st = calloc(1, sizeof(*st));
    (void)settings;
    if (st == NULL)
        return -ENOMEM;
    st->api = api;
    st->host = host;
    *state_out = st;
    return 0;
}

static int custom_process(void *state, collector_record *rec)
{
    struct state *st = state;
    const double *cells;
    size_t n, used = 0;
    double sum = 0;

    if (st->api->get_doubles(rec, "cells", &cells, &n) != 0)
        return 0; /* nothing to compute from: pass the record on */
    for (size_t i = 0; i < n; i++)
        if (cells[i] > 0) {
            sum += cells[i];
            used++;
        }
    if (used == 0)
        return 0;
    return st->api->set_double(rec, "battery_soc", round(nmc_soc(sum / used) * 10.0) / 10.0);
}

static void custom_destroy(void *state)
{
    free(state);
}

static const struct collector_setting_def no_settings[] = {{.name = NULL}};

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "soc_custom",
    .version = "1.0",
    .description = "battery_soc on an NMC voltage curve (an SDK example)",
    .setting_defs = no_settings, /* none: any key is refused with file:line */
    .create = custom_create,
    .process = custom_process,
    .destroy = custom_destroy,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_load: a test calculator putting a constant load on a replayed battery
 * (the captures were taken at 0 A): battery_current = `current`,
 * battery_power = battery_voltage x current. */
#include "config.h"

#include <stdlib.h>

#include <collector/plugin.h>

struct load {
    const struct collector_host_api *api;
    double current;
};

static const struct collector_setting_def setting_defs[] = {
    {.name = "current", .type = COLLECTOR_SETTING_DOUBLE, .default_value = "-20", .unit = "A",
     .description = "the load, + = charging"},
    {.name = NULL},
};

static int load_create(const struct collector_host_api *api, collector_host *host,
                       const collector_settings *s, void **state_out)
{
    struct load *l = calloc(1, sizeof(*l));
    (void)host;

    if (l == NULL)
        return -1;
    l->api = api;
    api->setting_double(s, "current", &l->current);
    *state_out = l;
    return 0;
}

static int load_process(void *state, collector_record *rec)
{
    struct load *l = state;
    double v = 0;
    int rc = l->api->get_double(rec, "battery_voltage", &v);

    if (rc == 0)
        rc = l->api->set_double(rec, "battery_current", l->current);
    if (rc == 0)
        rc = l->api->set_double(rec, "battery_power", v * l->current);
    return rc;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "t_load",
    .version = "test",
    .description = "test: a constant load on a replayed battery",
    .create = load_create,
    .process = load_process,
    .destroy = free,
    .setting_defs = setting_defs,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

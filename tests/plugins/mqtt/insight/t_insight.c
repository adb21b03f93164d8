/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_insight: a test calculator that adds the metrics of the energy, bank and
 * alarms calculators (issue 16) to each battery record, and emits a bank
 * record of its own, so the mqtt sink's discovery for them is tested against
 * a real broker without those plugins. Fixed, recognisable values. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <collector/plugin.h>

struct insight {
    const struct collector_host_api *api;
    collector_host *host;
};

static int ins_create(const struct collector_host_api *api, collector_host *host,
                      const collector_settings *s, void **state_out)
{
    struct insight *in = calloc(1, sizeof(*in));
    (void)s;
    if (in != NULL)
        *in = (struct insight){api, host};
    *state_out = in;
    return in != NULL ? 0 : -ENOMEM;
}

static int ins_process(void *state, collector_record *rec)
{
    struct insight *in = state;
    const struct collector_host_api *api = in->api;
    collector_record *bank = NULL;
    int64_t members;

    if (api->get_int(rec, "members_total", &members) == 0)
        return 0; /* the bank record itself */
    api->set_double(rec, "energy_charged_kwh", 12.5);
    api->set_double(rec, "energy_discharged_kwh", 7.25);
    api->set_double(rec, "energy_charged_today_kwh", 1.5);
    api->set_double(rec, "energy_discharged_today_kwh", 0.75);
    api->set_double(rec, "time_to_empty_s", 3600);
    api->set_bool(rec, "alarm", 1);
    api->set_string(rec, "alarms", "cell_delta_high");
    if (api->record_new(in->host, &bank) != 0)
        return -ENOMEM;
    api->set_double(bank, "battery_power", 123.0);
    api->set_double(bank, "battery_soc", 55.0);
    api->set_int(bank, "members_online", 1);
    api->set_int(bank, "members_total", 2);
    return api->emit(in->host, bank);
}

static void ins_destroy(void *state)
{
    free(state);
}

static const struct collector_setting_def defs[] = {{NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL}};

/* clang-format off */
static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD, .kind = COLLECTOR_KIND_CALCULATOR, .name = "t_insight",
    .version = "1", .description = "test: energy, bank and alarm metrics",
    .create = ins_create, .process = ins_process, .destroy = ins_destroy,
    .setting_defs = defs, .flags = COLLECTOR_PLUGIN_EMITS,
};
/* clang-format on */

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

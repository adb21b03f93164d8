/* soc_lifepo4: battery_soc from the average cell voltage on a curve, or the
 * BMS's own SOC copied (source = "bms"). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/soc_lifepo4/soc_curve.h"

struct soc {
    const struct collector_host_api *api;
    collector_host *host;
    struct soc_curve curve;
    int from_bms;
    int warned;
};

static const char *const settings[] = {"curve", "preset", "source", NULL};

static int soc_create(const struct collector_host_api *api, collector_host *host,
                      const collector_settings *s, void **state_out)
{
    struct soc *st = calloc(1, sizeof(*st));
    const char *source = "voltage";
    int rc;

    if (st == NULL)
        return -ENOMEM;
    st->api = api;
    st->host = host;
    rc = api->setting_string(s, "source", &source);
    if (rc == -EINVAL || (strcmp(source, "voltage") != 0 && strcmp(source, "bms") != 0)) {
        api->setting_error(host, s, "source", "want \"voltage\" (the curve) or \"bms\"");
        free(st);
        return -EINVAL;
    }
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
    .settings = settings,
    .create = soc_create,
    .process = soc_process,
    .destroy = soc_destroy,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

/* soc_coulomb: state of charge by coulomb counting. battery_current (A, +
 * charging) is integrated over the records' own timestamps (trapezoids);
 * the count re-syncs to 100 % when the average cell voltage stays at or above
 * full_voltage for full_seconds while charging, and to the voltage curve
 * when |current| stays below rest_current for rest_seconds. The state of
 * each battery survives restarts in <state_dir>/<instance>.soc. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "plugins/soc_lifepo4/soc_curve.h"

#define MAX_DEVICES 16
#define SAVE_EVERY_S 60.0
#define MAX_GAP_S 3600.0 /* a longer gap is not integrated across */

struct device {
    char id[64];
    double soc;       /* % */
    double last_t;    /* s */
    double last_i;    /* A */
    double full_since; /* 0 = not at full */
    double rest_since; /* 0 = not at rest */
};

struct coulomb {
    const struct collector_host_api *api;
    collector_host *host;
    struct soc_curve curve;
    double capacity_ah; /* 0: the record's capacity_nominal_ah */
    double full_voltage, full_seconds, rest_current, rest_seconds;
    char path[4096];
    struct device dev[MAX_DEVICES];
    size_t ndev;
    double last_save;
    int dirty;
    int warned;
};

static const char *const settings[] = {
    "capacity_ah", "full_voltage", "full_seconds", "rest_current", "rest_seconds",
    "curve",       "preset",       NULL,
};

/* One line per battery: "<id> <soc> <last_t> <last_i>". Written to a temp
 * file and renamed, so a crash leaves the old state or the new, never half. */
static int save(struct coulomb *c)
{
    char tmp[4200];
    FILE *fp;

    snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
    fp = fopen(tmp, "w");
    if (fp == NULL)
        return -errno;
    for (size_t i = 0; i < c->ndev; i++)
        fprintf(fp, "%s %.6f %.3f %.4f\n", c->dev[i].id, c->dev[i].soc, c->dev[i].last_t,
                c->dev[i].last_i);
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        int rc = -errno;
        fclose(fp);
        unlink(tmp);
        return rc;
    }
    fclose(fp);
    if (rename(tmp, c->path) != 0)
        return -errno;
    c->dirty = 0;
    return 0;
}

static void load(struct coulomb *c)
{
    FILE *fp = fopen(c->path, "r");
    char line[256];
    unsigned n = 0;

    if (fp == NULL)
        return; /* first start */
    while (fgets(line, sizeof(line), fp) != NULL && c->ndev < MAX_DEVICES) {
        struct device d = {0};
        n++;
        if (sscanf(line, "%63s %lf %lf %lf", d.id, &d.soc, &d.last_t, &d.last_i) != 4 ||
            !(d.soc >= 0 && d.soc <= 100) || !isfinite(d.last_t)) {
            c->api->log(c->host, COLLECTOR_LOG_WARNING,
                        "%s:%u: unreadable state line ignored: that battery starts again from "
                        "its voltage",
                        c->path, n);
            continue;
        }
        c->dev[c->ndev++] = d;
    }
    fclose(fp);
}

static int read_positive(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *s, const char *key, double *v)
{
    int rc = api->setting_double(s, key, v);
    if (rc == -EINVAL || (rc == 0 && !(*v > 0))) {
        api->setting_error(host, s, key, "want a positive number");
        return -EINVAL;
    }
    return 0;
}

static int coulomb_create(const struct collector_host_api *api, collector_host *host,
                          const collector_settings *s, void **state_out)
{
    struct coulomb *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -ENOMEM;
    c->api = api;
    c->host = host;
    c->full_voltage = 3.45;
    c->full_seconds = 300;
    c->rest_current = 0.5;
    c->rest_seconds = 1800;
    if (read_positive(api, host, s, "capacity_ah", &c->capacity_ah) < 0 ||
        read_positive(api, host, s, "full_voltage", &c->full_voltage) < 0 ||
        read_positive(api, host, s, "full_seconds", &c->full_seconds) < 0 ||
        read_positive(api, host, s, "rest_current", &c->rest_current) < 0 ||
        read_positive(api, host, s, "rest_seconds", &c->rest_seconds) < 0 ||
        soc_curve_from_settings(api, host, s, &c->curve) < 0) {
        free(c);
        return -EINVAL;
    }
    snprintf(c->path, sizeof(c->path), "%s/%s.soc", api->state_dir(host),
             api->instance_name(host));
    load(c);
    *state_out = c;
    return 0;
}

static struct device *device_for(struct coulomb *c, const char *id)
{
    for (size_t i = 0; i < c->ndev; i++)
        if (strcmp(c->dev[i].id, id) == 0)
            return &c->dev[i];
    if (c->ndev == MAX_DEVICES)
        return NULL;
    memset(&c->dev[c->ndev], 0, sizeof(c->dev[0]));
    snprintf(c->dev[c->ndev].id, sizeof(c->dev[0].id), "%s", id);
    c->dev[c->ndev].soc = -1; /* not known yet */
    return &c->dev[c->ndev++];
}

static int coulomb_process(void *state, collector_record *rec)
{
    struct coulomb *c = state;
    const struct collector_host_api *api = c->api;
    const char *id = api->record_device(rec)[0] ? api->record_device(rec) : api->record_source(rec);
    double t = (double)api->record_time_ns(rec) / 1e9, i, v, cap = c->capacity_ah, bms;
    int have_v = soc_average_cell_voltage(api, rec, &v) == 0;
    struct device *d = device_for(c, id);

    if (d == NULL || api->get_double(rec, "battery_current", &i) != 0 ||
        (cap <= 0 && (api->get_double(rec, "capacity_nominal_ah", &cap) != 0 || cap <= 0))) {
        if (!c->warned++)
            api->log(c->host, COLLECTOR_LOG_WARNING,
                     "record from %s lacks battery_current or a capacity (set capacity_ah): "
                     "battery_soc not set",
                     api->record_source(rec));
        return 0;
    }
    if (d->soc < 0) {
        /* A battery seen for the first time starts from its voltage, else the BMS. */
        if (have_v)
            d->soc = soc_curve_eval(&c->curve, v);
        else if (api->get_double(rec, "bms_soc", &bms) == 0)
            d->soc = bms;
        else
            return 0;
    } else if (t > d->last_t && t - d->last_t <= MAX_GAP_S) {
        double ah = (i + d->last_i) / 2.0 * (t - d->last_t) / 3600.0;
        d->soc += ah / cap * 100.0;
    }
    if (have_v && v >= c->full_voltage && i >= 0) {
        if (d->full_since == 0)
            d->full_since = t;
        if (t - d->full_since >= c->full_seconds)
            d->soc = 100.0;
    } else {
        d->full_since = 0;
    }
    if (have_v && fabs(i) < c->rest_current) {
        if (d->rest_since == 0)
            d->rest_since = t;
        if (t - d->rest_since >= c->rest_seconds)
            d->soc = soc_curve_eval(&c->curve, v);
    } else {
        d->rest_since = 0;
    }
    d->soc = d->soc < 0 ? 0 : d->soc > 100 ? 100 : d->soc;
    d->last_t = t;
    d->last_i = i;
    c->dirty = 1;
    if (t - c->last_save >= SAVE_EVERY_S) {
        int rc = save(c);
        if (rc < 0)
            api->log(c->host, COLLECTOR_LOG_ERROR, "%s: cannot save the state: %s", c->path,
                     strerror(-rc));
        c->last_save = t;
    }
    return api->set_double(rec, "battery_soc", round(d->soc * 10.0) / 10.0);
}

static void coulomb_destroy(void *state)
{
    struct coulomb *c = state;

    if (c->dirty && save(c) < 0)
        c->api->log(c->host, COLLECTOR_LOG_ERROR, "%s: cannot save the state", c->path);
    free(c);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "soc_coulomb",
    .version = PACKAGE_VERSION,
    .description = "state of charge by coulomb counting, re-synced at full and at rest",
    .settings = settings,
    .create = coulomb_create,
    .process = coulomb_process,
    .destroy = coulomb_destroy,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

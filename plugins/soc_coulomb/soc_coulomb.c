/* SPDX-License-Identifier: GPL-2.0-or-later */
/* soc_coulomb: state of charge by coulomb counting. battery_current (A, +
 * charging) is integrated over the records' own timestamps (trapezoids);
 * the count re-syncs to 100 % when the average cell voltage stays at or above
 * full_voltage for full_seconds while charging, and to the voltage curve
 * when |current| stays below rest_current for rest_seconds. The state of
 * each battery survives restarts in <state_dir>/<instance>.soc, written by a
 * thread of its own (an fsync never holds up the pipeline) through the
 * host's state_write (a fresh temporary file, fsynced and renamed: a planted
 * symlink is replaced, never followed). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libsoccurve/soc_curve.h"
#include "plugins/libplugkit/sources.h"
#include "plugins/libplugkit/state.h"

#define SAVE_EVERY_S 60.0
#define STATE_MAX (PLUGKIT_SOURCES_MAX * 128)
#define MAX_GAP_S 3600.0 /* a longer gap is not integrated across */
/* what a state file may say: seconds since 1970 up to about year 5000, and
 * the current of any pack there is (A) */
#define STATE_TIME_MAX 1e11
#define STATE_CURRENT_MAX 1e5

struct device { /* its id (device, else source) is its name in coulomb.ids */
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
    struct plugkit_state st; /* <instance>.soc in the state directory */
    struct plugkit_sources ids;
    struct device dev[PLUGKIT_SOURCES_MAX]; /* dev[i] is ids' name i */
    double last_save;
    int dirty;
    int warned;
};

static const char *const presets[] = {"default", "lifepo4_rest", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "capacity_ah", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .min = 0.001, .unit = "Ah",
     .description = "the pack's capacity; unset: the record's capacity_nominal_ah"},
    {.name = "full_voltage", .type = COLLECTOR_SETTING_DOUBLE, .default_value = "3.45",
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 2.0, .max = 5.0, .unit = "V",
     .description = "average cell voltage at or above which a charging pack counts as full"},
    {.name = "full_seconds", .type = COLLECTOR_SETTING_DOUBLE, .default_value = "300",
     .flags = COLLECTOR_SETTING_MIN, .min = 1, .unit = "s",
     .description = "how long it must stay there before SOC is set to 100 %"},
    {.name = "rest_current", .type = COLLECTOR_SETTING_DOUBLE, .default_value = "0.5",
     .flags = COLLECTOR_SETTING_MIN, .min = 0.001, .unit = "A",
     .description = "below this |current| the pack is at rest"},
    {.name = "rest_seconds", .type = COLLECTOR_SETTING_DOUBLE, .default_value = "1800",
     .flags = COLLECTOR_SETTING_MIN, .min = 1, .unit = "s",
     .description = "after this long at rest SOC re-syncs to the voltage curve"},
    {.name = "curve", .type = COLLECTOR_SETTING_LIST,
     .description = "the resting voltage curve ((V per cell, SOC %), ...) for re-syncs"},
    {.name = "preset", .type = COLLECTOR_SETTING_STRING, .allowed = presets,
     .description = "a named curve instead of curve"},
    {.name = NULL},
};

/* One line per battery: "<id> <soc> <last_t> <last_i>". */
static size_t serialize(const struct coulomb *c, char *out, size_t size)
{
    size_t used = 0;

    for (size_t i = 0; i < c->ids.n; i++) {
        int n = snprintf(out + used, size - used, "%s %.6f %.3f %.4f\n",
                         plugkit_sources_name(&c->ids, i),
                         c->dev[i].soc, c->dev[i].last_t, c->dev[i].last_i);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    return used;
}

/* Hand the current state to the writer thread (no I/O on the caller's). */
static void save_later(struct coulomb *c)
{
    char *text = malloc(STATE_MAX);

    if (text == NULL)
        return; /* still dirty: the next save or stop() tries again */
    plugkit_state_save(&c->st, text, serialize(c, text, STATE_MAX));
    c->dirty = 0;
}

/* One line of the state file: a battery. */
static int load_line(void *ctx, const char *line, unsigned number)
{
    struct coulomb *c = ctx;
    char id[PLUGKIT_NAME_MAX];
    struct device d = {0};
    int i;

    (void)number;
    /* nan, inf or an absurd figure (a time past year 5000, a current no
     * pack carries) is refused, not carried into every record */
    if (sscanf(line, "%63s %lf %lf %lf", id, &d.soc, &d.last_t, &d.last_i) != 4 ||
        !(d.soc >= 0 && d.soc <= 100) || !(d.last_t >= 0 && d.last_t <= STATE_TIME_MAX) ||
        !(fabs(d.last_i) <= STATE_CURRENT_MAX))
        return -EINVAL;
    i = plugkit_sources_add(&c->ids, id);
    if (i >= 0)
        c->dev[i] = d;
    return i < 0 ? -EINVAL : 0;
}

static int coulomb_create(const struct collector_host_api *api, collector_host *host,
                          const collector_settings *s, void **state_out)
{
    struct coulomb *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -ENOMEM;
    c->api = api;
    c->host = host;
    /* Types, ranges and defaults come checked from the host. */
    api->setting_double(s, "capacity_ah", &c->capacity_ah);
    api->setting_double(s, "full_voltage", &c->full_voltage);
    api->setting_double(s, "full_seconds", &c->full_seconds);
    api->setting_double(s, "rest_current", &c->rest_current);
    api->setting_double(s, "rest_seconds", &c->rest_seconds);
    if (soc_curve_from_settings(api, host, s, &c->curve) < 0) {
        free(c);
        return -EINVAL;
    }
    c->st.api = api;
    c->st.host = host;
    snprintf(c->st.file, sizeof(c->st.file), "%s.soc", api->instance_name(host));
    *state_out = c;
    return 0;
}

static int coulomb_start(void *state)
{
    struct coulomb *c = state;
    char buf[STATE_MAX + 1];
    size_t len = 0;
    int rc;

    plugkit_sources_clear(&c->ids);
    rc = plugkit_state_start(&c->st, buf, sizeof(buf), &len,
                             "every battery starts from its voltage");
    plugkit_state_lines(&c->st, buf, load_line, c, "that battery starts again from its voltage");
    return rc;
}

/* The last state is written before stop() returns. */
static void coulomb_stop(void *state)
{
    struct coulomb *c = state;
    char *text = c->dirty ? malloc(STATE_MAX) : NULL;

    plugkit_state_stop(&c->st, text, text ? serialize(c, text, STATE_MAX) : 0);
    if (text != NULL)
        c->dirty = 0;
}

/* The battery `id`, a new one with its SOC not known yet; NULL when full. */
static struct device *device_for(struct coulomb *c, const char *id)
{
    int added, i = plugkit_sources_get(&c->ids, id, &added);

    if (i < 0)
        return NULL;
    if (added) {
        memset(&c->dev[i], 0, sizeof(c->dev[i]));
        c->dev[i].soc = -1; /* not known yet */
    }
    return &c->dev[i];
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
        save_later(c);
        c->last_save = t;
    }
    return api->set_double(rec, "battery_soc", round(d->soc * 10.0) / 10.0);
}

static void coulomb_destroy(void *state)
{
    struct coulomb *c = state;

    if (c == NULL)
        return;
    plugkit_state_stop(&c->st, NULL, 0); /* nothing after stop() */
    free(c);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "soc_coulomb",
    .version = PACKAGE_VERSION,
    .description = "state of charge by coulomb counting, re-synced at full and at rest",
    .create = coulomb_create,
    .process = coulomb_process,
    .destroy = coulomb_destroy,
    .setting_defs = setting_defs,
    .start = coulomb_start,
    .stop = coulomb_stop,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* energy: per battery (the record's source), battery_power integrated over
 * the records' own timestamps (trapezoids, split where the power changes
 * sign) into two monotonic totals, energy_charged_kwh and
 * energy_discharged_kwh (charging = positive current, docs/records.md).
 * A gap past the previous record's freshness (the host's one rule, 3 x the
 * source's interval) is not integrated. The totals
 * live in <state_dir>/<instance>.energy, written by a thread of the instance
 * (the write fsyncs; the pipeline thread must not wait on the disk) at most
 * once per save_interval and at stop(), and loaded by start(), so they
 * survive restarts and reloads. Also time_to_full_s / time_to_empty_s from
 * the smoothed current and the remaining and full capacity. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <collector/plugin.h>

#include "plugins/libplugkit/sources.h"
#include "plugins/libplugkit/state.h"

#define STATE_MAGIC        "collectord-energy 1"
#define STATE_MAX          (64 + PLUGKIT_SOURCES_MAX * 256)
#define STATE_LINE_FIELDS  8
/* what a state file may say: 1 TWh, seconds since 1970 up to about year
 * 5000, 100 MW; past these (or nan, inf) the line is refused */
#define STATE_KWH_MAX      1e9
#define STATE_TIME_MAX     1e11
#define STATE_POWER_MAX    1e8

struct battery { /* the source is its name in energy.src */
    double charged_kwh, discharged_kwh; /* monotonic totals */
    double today_charged_kwh, today_discharged_kwh;
    int day; /* local YYYYMMDD of the today counters */
    int has_last;
    double last_t, last_p; /* s, W: the previous record */
    int has_i;
    double i_t, i_smooth; /* s, A: the smoothed current */
    unsigned long gaps;
};

struct energy {
    const struct collector_host_api *api;
    collector_host *host;
    double save_interval_s, window_s, min_current_a, capacity_ah; /* capacity 0: the record's */
    int daily;
    struct plugkit_state st; /* <instance>.energy */
    struct plugkit_sources src;
    struct battery bat[PLUGKIT_SOURCES_MAX]; /* bat[i] is src's name i */
    double last_save_t;
    int dirty;
    int warned_full, warned_power, warned_capacity, gap_logged;
};

static const struct collector_setting_def setting_defs[] = {
    {.name = "save_interval", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "60", .min = 1, .unit = "s",
     .description = "at most one state file write per this many seconds of records (and one at "
                    "stop)"},
    {.name = "daily", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "also energy_charged_today_kwh / energy_discharged_today_kwh, reset at local "
                    "midnight"},
    {.name = "capacity_ah", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .min = 0.001, .unit = "Ah",
     .description = "full capacity for time_to_*; default the record's capacity_total_ah, else "
                    "capacity_nominal_ah"},
    {.name = "window", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "300", .unit = "s",
     .description = "time constant of the current's smoothing for time_to_* (0: none)"},
    {.name = "min_current", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "0.5", .unit = "A",
     .description = "below this smoothed |current| time_to_full_s and time_to_empty_s are absent"},
    {.name = NULL},
};

/* ---- the state file: a header line, then one line per battery ---- */

static char *state_text(const struct energy *e, size_t *len)
{
    char *buf = malloc(STATE_MAX);
    size_t used;
    int n;

    if (buf == NULL)
        return NULL;
    n = snprintf(buf, STATE_MAX, "%s\n", STATE_MAGIC);
    used = (size_t)n;
    for (size_t i = 0; i < e->src.n; i++) {
        const struct battery *b = &e->bat[i];
        /* %.17g: a total read back is the very double written, never less */
        n = snprintf(buf + used, STATE_MAX - used, "%s %.17g %.17g %d %.17g %.17g %.6f %.17g\n",
                     plugkit_sources_name(&e->src, i), b->charged_kwh, b->discharged_kwh, b->day, b->today_charged_kwh,
                     b->today_discharged_kwh, b->has_last ? b->last_t : 0.0,
                     b->has_last ? b->last_p : 0.0);
        if (n < 0 || (size_t)n >= STATE_MAX - used) {
            free(buf);
            return NULL;
        }
        used += (size_t)n;
    }
    *len = used;
    return buf;
}

static int state_line(const char *line, char source[PLUGKIT_NAME_MAX], struct battery *b)
{
    memset(b, 0, sizeof(*b));
    if (sscanf(line, "%63s %lf %lf %d %lf %lf %lf %lf", source, &b->charged_kwh,
               &b->discharged_kwh, &b->day, &b->today_charged_kwh, &b->today_discharged_kwh,
               &b->last_t, &b->last_p) != STATE_LINE_FIELDS)
        return -EINVAL;
    if (!(b->charged_kwh >= 0 && b->charged_kwh <= STATE_KWH_MAX && b->discharged_kwh >= 0 &&
          b->discharged_kwh <= STATE_KWH_MAX && b->today_charged_kwh >= 0 &&
          b->today_charged_kwh <= STATE_KWH_MAX && b->today_discharged_kwh >= 0 &&
          b->today_discharged_kwh <= STATE_KWH_MAX && b->last_t >= 0 &&
          b->last_t <= STATE_TIME_MAX && fabs(b->last_p) <= STATE_POWER_MAX))
        return -EINVAL;
    b->has_last = b->last_t > 0;
    return 0;
}

/* One line of the state file: the header, then a battery. */
static int load_line(void *ctx, const char *line, unsigned number)
{
    struct energy *e = ctx;
    char source[PLUGKIT_NAME_MAX];
    struct battery b;
    int i;

    if (number == 1 && strcmp(line, STATE_MAGIC) != 0) {
        e->api->log(e->host, COLLECTOR_LOG_WARNING,
                    "%s/%s: not an energy state file: the energy totals start from 0",
                    e->api->state_dir(e->host), e->st.file);
        return -ECANCELED;
    }
    if (number == 1)
        return 0;
    if (state_line(line, source, &b) < 0)
        return -EINVAL;
    i = plugkit_sources_add(&e->src, source);
    if (i >= 0)
        e->bat[i] = b;
    return i < 0 ? -EINVAL : 0;
}

static void save(struct energy *e)
{
    size_t len = 0;
    char *text = state_text(e, &len);

    if (text == NULL) {
        e->api->log(e->host, COLLECTOR_LOG_ERROR, "%s: out of memory: state not saved",
                    e->st.file);
        return;
    }
    plugkit_state_save(&e->st, text, len);
    e->dirty = 0;
}

/* ---- lifecycle ---- */

static int energy_create(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *s, void **state_out)
{
    struct energy *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return -ENOMEM;
    e->api = api;
    e->host = host;
    /* the host checked types and ranges and filled the defaults */
    api->setting_double(s, "save_interval", &e->save_interval_s);
    api->setting_bool(s, "daily", &e->daily);
    api->setting_double(s, "window", &e->window_s);
    api->setting_double(s, "min_current", &e->min_current_a);
    if (api->setting_double(s, "capacity_ah", &e->capacity_ah) != 0)
        e->capacity_ah = 0;
    e->st.api = api;
    e->st.host = host;
    snprintf(e->st.file, sizeof(e->st.file), "%s.energy", api->instance_name(host));
    *state_out = e;
    return 0;
}

static int energy_start(void *state)
{
    struct energy *e = state;
    char *buf = malloc(STATE_MAX + 1);
    size_t len = 0;
    int rc;

    if (buf == NULL)
        return -ENOMEM;
    plugkit_sources_clear(&e->src);
    e->last_save_t = 0;
    rc = plugkit_state_start(&e->st, buf, STATE_MAX + 1, &len, "the energy totals start from 0");
    plugkit_state_lines(&e->st, buf, load_line, e, "that battery's totals start from 0");
    free(buf);
    return rc;
}

static void energy_stop(void *state)
{
    struct energy *e = state;
    unsigned long gaps = 0;
    size_t len = 0;
    char *text;

    if (e->st.writer == NULL)
        return;
    text = e->src.n > 0 ? state_text(e, &len) : NULL;
    plugkit_state_stop(&e->st, text, len);
    for (size_t i = 0; i < e->src.n; i++)
        gaps += e->bat[i].gaps;
    if (gaps > 0)
        e->api->log(e->host, COLLECTOR_LOG_INFO,
                    "%lu gap(s) longer than %d x the source's interval were not "
                    "integrated",
                    gaps, COLLECTOR_STALE_FACTOR);
}

static void energy_destroy(void *state)
{
    struct energy *e = state;

    if (e == NULL)
        return;
    plugkit_state_stop(&e->st, NULL, 0); /* nothing after stop() */
    free(e);
}

/* ---- integration ---- */

/* The battery of `source`, new ones zeroed; NULL when the table is full. */
static struct battery *battery_for(struct energy *e, const char *source)
{
    int added, i = plugkit_sources_get(&e->src, source, &added);

    if (i < 0)
        return NULL;
    if (added)
        memset(&e->bat[i], 0, sizeof(e->bat[i]));
    return &e->bat[i];
}

/* The trapezoid from p0 to p1 (W) over dt (s), as charged and discharged
 * kWh: where the power changes sign, the line is split at its zero. */
static void trapezoid(double p0, double p1, double dt, double *in_kwh, double *out_kwh)
{
    double in = 0, out = 0;

    if (p0 >= 0 && p1 >= 0) {
        in = (p0 + p1) / 2 * dt;
    } else if (p0 <= 0 && p1 <= 0) {
        out = -(p0 + p1) / 2 * dt;
    } else {
        double tz = dt * fabs(p0) / (fabs(p0) + fabs(p1));
        in = (p0 > 0 ? p0 * tz : p1 * (dt - tz)) / 2;
        out = -(p0 < 0 ? p0 * tz : p1 * (dt - tz)) / 2;
    }
    *in_kwh = in / 3.6e6;
    *out_kwh = out / 3.6e6;
}

static int local_day(double t)
{
    time_t secs = (time_t)floor(t);
    struct tm tm;

    if (localtime_r(&secs, &tm) == NULL)
        return 0;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The longest gap integrated: as long as a record of this source stays
 * fresh by the host's rule, so a record is integrated exactly when the
 * previous one was still fresh at its time. */
static double max_gap_s(const struct energy *e, const collector_record *rec)
{
    return (double)(e->api->record_fresh_until_ns(rec) - e->api->record_time_ns(rec)) / 1e9;
}

static int read_power(const struct collector_host_api *api, const collector_record *rec, double *p)
{
    double v, i;

    if (api->get_double(rec, "battery_power", p) == 0)
        return 0;
    if (api->get_double(rec, "battery_voltage", &v) == 0 &&
        api->get_double(rec, "battery_current", &i) == 0) {
        *p = v * i;
        return 0;
    }
    return -ENOENT;
}

static void integrate(struct energy *e, struct battery *b, const char *source, double t, double p,
                      double limit)
{
    double dt = t - b->last_t, in, out;
    int day = local_day(t);

    if (day != b->day) { /* local midnight: the interval across it counts for the
                            new day */
        b->day = day;
        b->today_charged_kwh = b->today_discharged_kwh = 0;
    }
    if (b->has_last && dt > 0 && dt <= limit) {
        trapezoid(b->last_p, p, dt, &in, &out);
        b->charged_kwh += in;
        b->discharged_kwh += out;
        b->today_charged_kwh += in;
        b->today_discharged_kwh += out;
    } else if (b->has_last && dt > limit) {
        b->gaps++;
        if (!e->gap_logged++)
            e->api->log(e->host, COLLECTOR_LOG_WARNING,
                        "%s: %.1f s without a record (more than %d x its interval): not "
                        "integrated; further gaps are only counted",
                        source, dt, COLLECTOR_STALE_FACTOR);
    }
    /* dt <= 0 (the clock stepped back, or a duplicate): start again from here */
    b->has_last = 1;
    b->last_t = t;
    b->last_p = p;
    e->dirty = 1;
}

/* ---- time to full and to empty ---- */

static int capacity_of(const struct energy *e, const collector_record *rec, double *cap)
{
    *cap = e->capacity_ah;
    if (*cap > 0)
        return 0;
    if (e->api->get_double(rec, "capacity_total_ah", cap) == 0 && *cap > 0)
        return 0;
    if (e->api->get_double(rec, "capacity_nominal_ah", cap) == 0 && *cap > 0)
        return 0;
    return -ENOENT;
}

static int remaining_of(const struct collector_host_api *api, const collector_record *rec,
                        double cap, double *rem)
{
    double soc;

    if (api->get_double(rec, "capacity_remaining_ah", rem) == 0)
        return 0;
    if (api->get_double(rec, "battery_soc", &soc) == 0 ||
        api->get_double(rec, "bms_soc", &soc) == 0) {
        *rem = soc / 100.0 * cap;
        return 0;
    }
    return -ENOENT;
}

static int runtime(struct energy *e, struct battery *b, collector_record *rec, double t,
                   double limit)
{
    const struct collector_host_api *api = e->api;
    double i, cap, rem;

    if (api->get_double(rec, "battery_current", &i) != 0)
        return 0;
    if (!b->has_i || t <= b->i_t || t - b->i_t > limit || e->window_s <= 0)
        b->i_smooth = i;
    else
        b->i_smooth += (1.0 - exp(-(t - b->i_t) / e->window_s)) * (i - b->i_smooth);
    b->has_i = 1;
    b->i_t = t;
    if (capacity_of(e, rec, &cap) != 0 || remaining_of(api, rec, cap, &rem) != 0) {
        if (!e->warned_capacity++)
            api->log(e->host, COLLECTOR_LOG_WARNING,
                     "record from %s has no capacity or remaining charge (set "
                     "capacity_ah): "
                     "time_to_full_s / time_to_empty_s not set",
                     api->record_source(rec));
        return 0;
    }
    if (b->i_smooth > 0 && b->i_smooth >= e->min_current_a)
        return api->set_int(rec, "time_to_full_s",
                            llround(fmax(cap - rem, 0.0) / b->i_smooth * 3600.0));
    if (b->i_smooth < 0 && -b->i_smooth >= e->min_current_a)
        return api->set_int(rec, "time_to_empty_s",
                            llround(fmax(rem, 0.0) / -b->i_smooth * 3600.0));
    return 0; /* too small to say: both absent */
}

static int set_totals(const struct energy *e, const struct battery *b, collector_record *rec)
{
    const struct collector_host_api *api = e->api;
    int rc = api->set_double(rec, "energy_charged_kwh", b->charged_kwh);

    if (rc == 0)
        rc = api->set_double(rec, "energy_discharged_kwh", b->discharged_kwh);
    if (rc == 0 && e->daily)
        rc = api->set_double(rec, "energy_charged_today_kwh", b->today_charged_kwh);
    if (rc == 0 && e->daily)
        rc = api->set_double(rec, "energy_discharged_today_kwh", b->today_discharged_kwh);
    return rc;
}

static int energy_process(void *state, collector_record *rec)
{
    struct energy *e = state;
    const struct collector_host_api *api = e->api;
    double t = (double)api->record_time_ns(rec) / 1e9, limit = max_gap_s(e, rec), p;
    struct battery *b = battery_for(e, api->record_source(rec));
    int rc;

    if (b == NULL) {
        if (!e->warned_full++)
            api->log(e->host, COLLECTOR_LOG_WARNING,
                     "more than %d batteries: record from %s not counted", PLUGKIT_SOURCES_MAX,
                     api->record_source(rec));
        return 0;
    }
    if (read_power(api, rec, &p) != 0) {
        if (!e->warned_power++)
            api->log(e->host, COLLECTOR_LOG_WARNING,
                     "record from %s has no battery_power (nor voltage and current): not "
                     "counted",
                     api->record_source(rec));
        return 0;
    }
    integrate(e, b, api->record_source(rec), t, p, limit);
    rc = set_totals(e, b, rec);
    if (rc == 0)
        rc = runtime(e, b, rec, t, limit);
    if (e->dirty && (t - e->last_save_t >= e->save_interval_s || t < e->last_save_t)) {
        save(e);
        e->last_save_t = t;
    }
    return rc;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "energy",
    .version = PACKAGE_VERSION,
    .description = "charged and discharged kWh per battery (kept across "
                   "restarts), time to "
                   "full and to empty",
    .create = energy_create,
    .process = energy_process,
    .destroy = energy_destroy,
    .setting_defs = setting_defs,
    .start = energy_start,
    .stop = energy_stop,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* energy: per battery (the record's source), battery_power integrated over
 * the records' own timestamps (trapezoids, split where the power changes
 * sign) into two monotonic totals, energy_charged_kwh and
 * energy_discharged_kwh (charging = positive current, docs/records.md).
 * A gap longer than 3 x the source's interval is not integrated. The totals
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

#include "plugins/libstate/state_writer.h"

#define MAX_BATTERIES      16
#define GAP_FACTOR         3.0
#define DEFAULT_INTERVAL_S 30.0 /* when the source's interval is unknown */
#define STATE_MAGIC        "collectord-energy 1"
#define STATE_MAX          (64 + MAX_BATTERIES * 256)
#define STATE_LINE_FIELDS  8

struct battery {
    char source[64];
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
    char file[96]; /* <instance>.energy */
    struct battery bat[MAX_BATTERIES];
    size_t nbat;
    struct state_writer *writer; /* from start() to stop() */
    double last_save_t;
    int dirty;
    int warned_full, warned_power, warned_capacity, gap_logged;
};

static const struct collector_setting_def setting_defs[] = {
    {"save_interval", COLLECTOR_SETTING_DOUBLE, COLLECTOR_SETTING_MIN, "60", 1, 0, NULL, "s",
     "at most one state file write per this many seconds of records (and one "
     "at stop)"},
    {"daily", COLLECTOR_SETTING_BOOL, 0, "false", 0, 0, NULL, NULL,
     "also energy_charged_today_kwh / energy_discharged_today_kwh, reset at "
     "local midnight"},
    {"capacity_ah", COLLECTOR_SETTING_DOUBLE, COLLECTOR_SETTING_MIN, NULL, 0.001, 0, NULL, "Ah",
     "full capacity for time_to_*; default the record's capacity_total_ah, "
     "else "
     "capacity_nominal_ah"},
    {"window", COLLECTOR_SETTING_DOUBLE, COLLECTOR_SETTING_MIN, "300", 0, 0, NULL, "s",
     "time constant of the current's smoothing for time_to_* (0: none)"},
    {"min_current", COLLECTOR_SETTING_DOUBLE, COLLECTOR_SETTING_MIN, "0.5", 0, 0, NULL, "A",
     "below this smoothed |current| time_to_full_s and time_to_empty_s are "
     "absent"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL},
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
    for (size_t i = 0; i < e->nbat; i++) {
        const struct battery *b = &e->bat[i];
        /* %.17g: a total read back is the very double written, never less */
        n = snprintf(buf + used, STATE_MAX - used, "%s %.17g %.17g %d %.17g %.17g %.6f %.17g\n",
                     b->source, b->charged_kwh, b->discharged_kwh, b->day, b->today_charged_kwh,
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

static int state_line(const char *line, struct battery *b)
{
    memset(b, 0, sizeof(*b));
    if (sscanf(line, "%63s %lf %lf %d %lf %lf %lf %lf", b->source, &b->charged_kwh,
               &b->discharged_kwh, &b->day, &b->today_charged_kwh, &b->today_discharged_kwh,
               &b->last_t, &b->last_p) != STATE_LINE_FIELDS)
        return -EINVAL;
    if (!(b->charged_kwh >= 0 && b->discharged_kwh >= 0 && b->today_charged_kwh >= 0 &&
          b->today_discharged_kwh >= 0 && isfinite(b->charged_kwh) && isfinite(b->discharged_kwh) &&
          isfinite(b->last_t) && isfinite(b->last_p)))
        return -EINVAL;
    b->has_last = b->last_t > 0;
    return 0;
}

static void load(struct energy *e)
{
    char *buf = malloc(STATE_MAX + 1), *line, *next;
    size_t len = 0;
    unsigned n = 0;
    int rc;

    if (buf == NULL)
        return;
    rc = e->api->state_read(e->host, e->file, buf, STATE_MAX, &len);
    if (rc < 0 || len == STATE_MAX || len < sizeof(STATE_MAGIC) ||
        strncmp(buf, STATE_MAGIC "\n", sizeof(STATE_MAGIC)) != 0) {
        if (rc != -ENOENT)
            e->api->log(e->host, COLLECTOR_LOG_WARNING, "%s/%s: %s: the energy totals start from 0",
                        e->api->state_dir(e->host), e->file,
                        rc < 0 ? strerror(-rc) : "not an energy state file");
        free(buf);
        return;
    }
    buf[len] = '\0';
    for (line = buf; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (n++ == 0)
            continue; /* the header */
        if (e->nbat == MAX_BATTERIES || state_line(line, &e->bat[e->nbat]) < 0) {
            e->api->log(e->host, COLLECTOR_LOG_WARNING,
                        "%s/%s:%u: unreadable line ignored: that battery's totals "
                        "start from 0",
                        e->api->state_dir(e->host), e->file, n);
            continue;
        }
        e->nbat++;
    }
    free(buf);
}

static void save(struct energy *e)
{
    size_t len = 0;
    char *text = state_text(e, &len);

    if (text == NULL) {
        e->api->log(e->host, COLLECTOR_LOG_ERROR, "%s: out of memory: state not saved", e->file);
        return;
    }
    state_writer_submit(e->writer, text, len);
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
    snprintf(e->file, sizeof(e->file), "%s.energy", api->instance_name(host));
    *state_out = e;
    return 0;
}

static int energy_start(void *state)
{
    struct energy *e = state;
    int rc;

    e->nbat = 0;
    e->last_save_t = 0;
    load(e);
    rc = state_writer_start(e->api, e->host, e->file, &e->writer);
    if (rc < 0)
        e->api->log(e->host, COLLECTOR_LOG_ERROR, "cannot start the state writer: %s",
                    strerror(-rc));
    return rc;
}

static void energy_stop(void *state)
{
    struct energy *e = state;
    unsigned long gaps = 0;

    if (e->writer == NULL)
        return;
    if (e->nbat > 0)
        save(e);
    state_writer_stop(e->writer);
    e->writer = NULL;
    for (size_t i = 0; i < e->nbat; i++)
        gaps += e->bat[i].gaps;
    if (gaps > 0)
        e->api->log(e->host, COLLECTOR_LOG_INFO,
                    "%lu gap(s) longer than %.0f x the source's interval were not "
                    "integrated",
                    gaps, GAP_FACTOR);
}

static void energy_destroy(void *state)
{
    struct energy *e = state;

    if (e == NULL)
        return;
    state_writer_stop(e->writer); /* NULL after stop() */
    free(e);
}

/* ---- integration ---- */

static struct battery *battery_for(struct energy *e, const char *source)
{
    struct battery *b;

    for (size_t i = 0; i < e->nbat; i++)
        if (strcmp(e->bat[i].source, source) == 0)
            return &e->bat[i];
    if (e->nbat == MAX_BATTERIES)
        return NULL;
    b = &e->bat[e->nbat++];
    memset(b, 0, sizeof(*b));
    snprintf(b->source, sizeof(b->source), "%s", source);
    return b;
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

static double max_gap_s(const struct energy *e, const collector_record *rec)
{
    int64_t ms = e->api->record_interval_ms(rec);

    return GAP_FACTOR * (ms > 0 ? (double)ms / 1000.0 : DEFAULT_INTERVAL_S);
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

static void integrate(struct energy *e, struct battery *b, double t, double p, double limit)
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
                        "%s: %.1f s without a record (more than %.0f x its interval): not "
                        "integrated; further gaps are only counted",
                        b->source, dt, GAP_FACTOR);
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
                     b->source);
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

    if (api->record_kind(rec) == COLLECTOR_RECORD_EVENT)
        return 0; /* a command's outcome: nothing measured */
    if (b == NULL) {
        if (!e->warned_full++)
            api->log(e->host, COLLECTOR_LOG_WARNING,
                     "more than %d batteries: record from %s not counted", MAX_BATTERIES,
                     api->record_source(rec));
        return 0;
    }
    if (read_power(api, rec, &p) != 0) {
        if (!e->warned_power++)
            api->log(e->host, COLLECTOR_LOG_WARNING,
                     "record from %s has no battery_power (nor voltage and current): not "
                     "counted",
                     b->source);
        return 0;
    }
    integrate(e, b, t, p, limit);
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

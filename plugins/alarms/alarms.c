/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alarms: per battery (the record's source), thresholds with hysteresis on
 * the cells, the temperatures and the SOC, plus the BMS's own error bits.
 * Sets `alarm` (bool) and `alarms` (the active ones' stable names, comma
 * separated, "" when none) on every record it can judge; logs one line when
 * an alarm starts and one when it clears, never one per poll. A metric
 * absent from a record leaves its alarm as it was.
 * switch_changed: a switch (charge_switch, discharge_switch, balancer_switch,
 * charging_enabled, discharging_enabled) that changes with no command from
 * collectord (ABI 1.2 command events, refused ones aside: they never reached
 * the BMS) within switch_window of the change:
 * the phone app, the BMS's own protection. Said once per change. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libplugkit/sources.h"

enum measure { CELL_MIN, CELL_MAX, CELL_DELTA, TEMP_MIN, TEMP_MAX, SOC };
enum hysteresis { HYST_V, HYST_TEMPERATURE, HYST_SOC, NHYST };

struct check {
    const char *name;    /* the stable name in `alarms` */
    const char *setting; /* its threshold */
    enum measure what;
    int high; /* 1: alarm above the threshold, 0: below */
    enum hysteresis hyst;
    const char *label, *unit;
    int decimals;
};

static const struct check checks[] = {
    {"cell_low", "cell_min_v", CELL_MIN, 0, HYST_V, "lowest cell", "V", 3},
    {"cell_high", "cell_max_v", CELL_MAX, 1, HYST_V, "highest cell", "V", 3},
    {"cell_delta_high", "cell_delta_max_v", CELL_DELTA, 1, HYST_V, "cell delta", "V", 3},
    {"temperature_low", "temperature_min", TEMP_MIN, 0, HYST_TEMPERATURE, "coldest probe", "C", 1},
    {"temperature_high", "temperature_max", TEMP_MAX, 1, HYST_TEMPERATURE, "warmest probe", "C", 1},
    {"soc_low", "soc_min", SOC, 0, HYST_SOC, "SOC", "%", 1},
};
#define NCHECKS   (sizeof(checks) / sizeof(checks[0]))
#define BMS_ERROR NCHECKS /* bit of the BMS's own error bits, after the checks */
#define SWITCH_CHANGED (NCHECKS + 1) /* bit: a switch changed by itself */

static const char *const switch_names[] = {"charge_switch", "discharge_switch", "balancer_switch",
                                           "charging_enabled", "discharging_enabled"};
#define NSWITCHES 5
/* The command that moves each switch. */
static const char *const switch_command[NSWITCHES] = {"charge", "discharge", "balancer", "charge",
                                                      "discharge"};

static const char *const hyst_settings[NHYST] = {"hysteresis_v", "hysteresis_temperature",
                                                 "hysteresis_soc"};

struct battery {
    const char *source; /* its name in alarms.src */
    unsigned active;    /* bit i: checks[i] (or BMS_ERROR) is on */
    int64_t bms_errors; /* the last errors_bitmask */
    int sw[NSWITCHES];            /* last seen: 1, 0, or -1 unknown */
    int64_t change_ns[NSWITCHES]; /* an unexplained change waits for its command */
    int from[NSWITCHES];
    int64_t command_ns[NSWITCHES]; /* the latest command of that switch that reached the BMS */
    int64_t raised_ns;             /* switch_changed is shown until raised_ns + window */
};

struct alarms {
    const struct collector_host_api *api;
    collector_host *host;
    double threshold[NCHECKS];
    unsigned configured; /* bit i: checks[i] has a threshold */
    double hyst[NHYST];
    int bms_errors;
    int64_t window_ns; /* switch_window */
    struct plugkit_sources src;
    struct battery bat[PLUGKIT_SOURCES_MAX]; /* bat[i] is src's name i */
    int warned_full;
};

static const struct collector_setting_def setting_defs[] = {
    {.name = "cell_min_v", .type = COLLECTOR_SETTING_DOUBLE, .unit = "V",
     .description = "cell_low when the lowest cell is below this"},
    {.name = "cell_max_v", .type = COLLECTOR_SETTING_DOUBLE, .unit = "V",
     .description = "cell_high when the highest cell is above this"},
    {.name = "cell_delta_max_v", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .unit = "V",
     .description = "cell_delta_high when highest minus lowest cell is above this"},
    {.name = "temperature_min", .type = COLLECTOR_SETTING_DOUBLE, .unit = "C",
     .description = "temperature_low when a battery probe is below this"},
    {.name = "temperature_max", .type = COLLECTOR_SETTING_DOUBLE, .unit = "C",
     .description = "temperature_high when a battery probe is above this"},
    {.name = "soc_min", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .max = 100, .unit = "%",
     .description = "soc_low when battery_soc (else bms_soc) is below this"},
    {.name = "hysteresis_v", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "0.01", .unit = "V",
     .description = "a cell alarm clears this far back inside its threshold"},
    {.name = "hysteresis_temperature", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN, .default_value = "2", .unit = "C",
     .description = "a temperature alarm clears this far back inside its threshold"},
    {.name = "hysteresis_soc", .type = COLLECTOR_SETTING_DOUBLE, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "2", .unit = "%",
     .description = "soc_low clears this far above soc_min"},
    {.name = "bms_errors", .type = COLLECTOR_SETTING_BOOL, .default_value = "true",
     .description = "bms_error while the BMS reports error bits (errors_bitmask)"},
    {.name = "switch_window", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "60", .min = 0.1,
     .max = 3600, .unit = "s",
     .description = "a switch change this close to a command from collectord is ours; any other "
                    "raises switch_changed (once, after this long)"},
    {.name = NULL},
};

/* Two thresholds of one quantity that leave no room between them. */
static int ordered(struct alarms *a, const collector_settings *s, size_t lo, size_t hi)
{
    unsigned both = (1u << lo) | (1u << hi);

    if ((a->configured & both) == both && !(a->threshold[lo] < a->threshold[hi])) {
        a->api->setting_error(a->host, s, checks[hi].setting, "must be above %s",
                              checks[lo].setting);
        return -EINVAL;
    }
    return 0;
}

static int alarms_create(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *s, void **state_out)
{
    struct alarms *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return -ENOMEM;
    a->api = api;
    a->host = host;
    /* types, ranges and defaults: checked and filled by the host */
    for (size_t i = 0; i < NCHECKS; i++)
        if (api->setting_double(s, checks[i].setting, &a->threshold[i]) == 0)
            a->configured |= 1u << i;
    for (size_t i = 0; i < NHYST; i++)
        api->setting_double(s, hyst_settings[i], &a->hyst[i]);
    api->setting_bool(s, "bms_errors", &a->bms_errors);
    {
        double w = 60;
        api->setting_double(s, "switch_window", &w);
        a->window_ns = (int64_t)(w * 1e9);
    }
    if (ordered(a, s, 0, 1) < 0 || ordered(a, s, 3, 4) < 0) {
        free(a);
        return -EINVAL;
    }
    *state_out = a;
    return 0;
}

static void alarms_destroy(void *state)
{
    free(state);
}

/* ---- reading a record ---- */

/* Extremes of the non-zero values of a doubles metric. */
static int extremes(const struct collector_host_api *api, const collector_record *rec,
                    const char *name, int skip_zero, double *lo, double *hi)
{
    const double *v;
    size_t n;
    int found = 0;

    if (api->get_doubles(rec, name, &v, &n) != 0)
        return -ENOENT;
    for (size_t i = 0; i < n; i++) {
        if (skip_zero && !(v[i] > 0))
            continue;
        *lo = found && *lo < v[i] ? *lo : v[i];
        *hi = found && *hi > v[i] ? *hi : v[i];
        found = 1;
    }
    return found ? 0 : -ENOENT;
}

static int measure(const struct collector_host_api *api, const collector_record *rec,
                   enum measure what, double *out)
{
    double lo = 0, hi = 0;

    switch (what) {
    case CELL_MIN:
        if (api->get_double(rec, "bms_cell_min_v", out) == 0)
            return 0;
        return extremes(api, rec, "cells", 1, out, &hi);
    case CELL_MAX:
        if (api->get_double(rec, "bms_cell_max_v", out) == 0)
            return 0;
        return extremes(api, rec, "cells", 1, &lo, out);
    case CELL_DELTA:
        if (api->get_double(rec, "bms_cell_delta_v", out) == 0)
            return 0;
        if (extremes(api, rec, "cells", 1, &lo, &hi) != 0)
            return -ENOENT;
        *out = hi - lo;
        return 0;
    case TEMP_MIN:
    case TEMP_MAX:
        if (extremes(api, rec, "temperatures", 0, &lo, &hi) != 0) {
            if (api->get_double(rec, "temperature", &lo) != 0)
                return -ENOENT;
            hi = lo; /* one probe only */
        }
        *out = what == TEMP_MIN ? lo : hi;
        return 0;
    case SOC:
        if (api->get_double(rec, "battery_soc", out) == 0 ||
            api->get_double(rec, "bms_soc", out) == 0)
            return 0;
        return -ENOENT;
    }
    return -ENOENT;
}

/* ---- judging ---- */

static struct battery *battery_for(struct alarms *a, const char *source)
{
    int added, i = plugkit_sources_get(&a->src, source, &added);

    if (i < 0)
        return NULL;
    if (added) {
        memset(&a->bat[i], 0, sizeof(a->bat[i]));
        a->bat[i].source = plugkit_sources_name(&a->src, (size_t)i);
        for (size_t k = 0; k < NSWITCHES; k++)
            a->bat[i].sw[k] = -1;
    }
    return &a->bat[i];
}

static void judge(struct alarms *a, struct battery *b, size_t i, double v)
{
    const struct check *c = &checks[i];
    double thr = a->threshold[i], h = a->hyst[c->hyst];
    unsigned bit = 1u << i;

    if (!(b->active & bit)) {
        if (c->high ? v > thr : v < thr) {
            b->active |= bit;
            a->api->log(a->host, COLLECTOR_LOG_WARNING,
                        "%s: alarm %s started: %s %.*f %s %s %.*f %s", b->source, c->name, c->label,
                        c->decimals, v, c->unit, c->high ? ">" : "<", c->decimals, thr, c->unit);
        }
    } else if (c->high ? v <= thr - h : v >= thr + h) {
        b->active &= ~bit;
        a->api->log(a->host, COLLECTOR_LOG_INFO, "%s: alarm %s cleared: %s %.*f %s", b->source,
                    c->name, c->label, c->decimals, v, c->unit);
    }
}

static void judge_bms(struct alarms *a, struct battery *b, const collector_record *rec)
{
    const struct collector_host_api *api = a->api;
    const char *names = "";
    int64_t mask;
    unsigned bit = 1u << BMS_ERROR;

    if (api->get_int(rec, "errors_bitmask", &mask) != 0 || mask == b->bms_errors)
        return;
    api->get_string(rec, "errors", &names);
    if (mask != 0)
        api->log(a->host, COLLECTOR_LOG_WARNING, "%s: alarm bms_error %s: 0x%" PRIx64 " (%s)",
                 b->source, (b->active & bit) ? "changed" : "started", (uint64_t)mask, names);
    else
        api->log(a->host, COLLECTOR_LOG_INFO, "%s: alarm bms_error cleared", b->source);
    b->bms_errors = mask;
    b->active = mask != 0 ? b->active | bit : b->active & ~bit;
}

/* A command event: the switch it moved may change now, and that is ours. */
static void note_command(struct alarms *a, struct battery *b, const collector_record *rec)
{
    const char *cmd = "", *outcome = "";
    int64_t t = a->api->record_time_ns(rec);

    a->api->get_string(rec, "command", &cmd);
    a->api->get_string(rec, "outcome", &outcome);
    /* a refused command never reached the BMS: a change then is not ours; a
     * failed one may have (no answer, the state unknown) */
    if (strcmp(outcome, "refused") == 0)
        return;
    for (size_t k = 0; k < NSWITCHES; k++) {
        if (strcmp(switch_command[k], cmd) != 0)
            continue;
        b->command_ns[k] = t;
        if (b->change_ns[k] != 0 && llabs(t - b->change_ns[k]) <= a->window_ns)
            b->change_ns[k] = 0; /* the change we were unsure of was ours */
    }
}

static void judge_switches(struct alarms *a, struct battery *b, const collector_record *rec)
{
    int64_t t = a->api->record_time_ns(rec);
    unsigned bit = 1u << SWITCH_CHANGED;
    char said[256] = "";
    size_t len = 0;

    for (size_t k = 0; k < NSWITCHES; k++) {
        int v;
        if (a->api->get_bool(rec, switch_names[k], &v) != 0)
            continue;
        v = v != 0;
        if (b->sw[k] >= 0 && v != b->sw[k] && b->change_ns[k] == 0 &&
            !(b->command_ns[k] != 0 && llabs(t - b->command_ns[k]) <= a->window_ns)) {
            /* the command's event may still be on its way: decide after the window */
            b->change_ns[k] = t;
            b->from[k] = b->sw[k];
        }
        b->sw[k] = v;
        if (b->change_ns[k] != 0 && t - b->change_ns[k] > a->window_ns) {
            /* one line for what changed together (a switch and its MOSFET) */
            len += (size_t)snprintf(said + len, len < sizeof(said) ? sizeof(said) - len : 0,
                                    "%s%s %s -> %s", len ? ", " : "", switch_names[k],
                                    b->from[k] ? "on" : "off", v ? "on" : "off");
            b->change_ns[k] = 0;
            b->raised_ns = t;
            b->active |= bit;
        }
    }
    if (len > 0)
        a->api->log(a->host, COLLECTOR_LOG_WARNING,
                    "%s: alarm switch_changed: %s without a command from collectord", b->source,
                    said);
    else if ((b->active & bit) && t - b->raised_ns > a->window_ns) {
        b->active &= ~bit;
        a->api->log(a->host, COLLECTOR_LOG_INFO, "%s: alarm switch_changed cleared", b->source);
    }
}

static int set_metrics(const struct alarms *a, const struct battery *b, collector_record *rec)
{
    char list[256] = "";
    size_t used = 0;
    int rc;

    for (size_t i = 0; i <= SWITCH_CHANGED; i++) {
        const char *name = i < NCHECKS ? checks[i].name : i == BMS_ERROR ? "bms_error"
                                                                          : "switch_changed";
        int n;
        if (!(b->active & (1u << i)))
            continue;
        n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", name);
        if (n > 0 && (size_t)n < sizeof(list) - used)
            used += (size_t)n;
    }
    rc = a->api->set_bool(rec, "alarm", b->active != 0);
    if (rc == 0)
        rc = a->api->set_string(rec, "alarms", list);
    return rc;
}

static int alarms_process(void *state, collector_record *rec)
{
    struct alarms *a = state;
    struct battery *b = battery_for(a, a->api->record_source(rec));

    if (b == NULL) {
        if (!a->warned_full++)
            a->api->log(a->host, COLLECTOR_LOG_WARNING,
                        "more than %d batteries: record from %s not judged", PLUGKIT_SOURCES_MAX,
                        a->api->record_source(rec));
        return 0;
    }
    for (size_t i = 0; i < NCHECKS; i++) {
        double v;
        if ((a->configured & (1u << i)) && measure(a->api, rec, checks[i].what, &v) == 0)
            judge(a, b, i, v);
    }
    if (a->api->record_kind(rec) == COLLECTOR_RECORD_EVENT) {
        note_command(a, b, rec);
        return 0;
    }
    if (a->bms_errors)
        judge_bms(a, b, rec);
    judge_switches(a, b, rec);
    return set_metrics(a, b, rec);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "alarms",
    .version = PACKAGE_VERSION,
    .description = "alarms on cells, temperatures and SOC with hysteresis, and "
                   "the BMS's errors",
    .create = alarms_create,
    .process = alarms_process,
    .destroy = alarms_destroy,
    .setting_defs = setting_defs,
    .flags = COLLECTOR_PLUGIN_EVENTS, /* commands' outcomes: which changes were ours */
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

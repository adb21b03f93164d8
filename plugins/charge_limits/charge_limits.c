/* SPDX-License-Identifier: GPL-2.0-or-later */
/* charge_limits: what an inverter may do with each battery and with the
 * bank. For every battery record it adds charge_voltage_limit_v,
 * charge_current_limit_a, discharge_current_limit_a,
 * discharge_voltage_limit_v, charge_enable, discharge_enable, force_charge
 * and the rule that set each current (charge_limit_reason,
 * discharge_limit_reason); for a bank's record (one with members_total) the
 * same, combined from the packs whose newest record is still fresh. The
 * rules are in limits.c; the pylontech sink serves the result. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/charge_limits/limits.h"
#include "plugins/libplugkit/sources.h"

#define MAX_PACKS PLUGKIT_SOURCES_MAX
#define MAX_BANKS 4
#define NAME_MAX_LEN PLUGKIT_NAME_MAX

struct pack_state {
    const char *name; /* in the packs table */
    int64_t fresh_until_ns;
    int charge_fet, discharge_fet;
    struct cl_result r;
};

/* A bank's members as its records show them: the bank emits its record
 * right after the member record it was made from (the pipeline runs a
 * derived record after the one that caused it), stamped with that record's
 * time, so the pack record just before a bank record of the same time is
 * one of its members. */
struct bank_state {
    char name[NAME_MAX_LEN];
    unsigned members; /* bits over packs[] */
};

struct charge_limits {
    const struct collector_host_api *api;
    collector_host *host;
    struct cl_config cfg;
    int cell_count; /* 0: from the record */
    /* the bank's members when listed; else the ones its records show */
    struct plugkit_sources members;
    struct plugkit_sources pack_names; /* every battery seen; packs[i] is pack_names' i */
    struct pack_state packs[MAX_PACKS];
    int full_said; /* "more than MAX_PACKS batteries" said once */
    struct bank_state banks[MAX_BANKS];
    size_t nbanks;
    int banks_said; /* "more than MAX_BANKS banks" said once */
    int last_pack;          /* packs[] index of the newest pack record, -1 none */
    int64_t last_pack_time; /* its time */
};

static const struct collector_setting_def setting_defs[] = {
    {.name = "cell_charge_voltage", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "3.45", .min = 3.0,
     .max = 3.65, .unit = "V",
     .description = "charge voltage limit per cell: CVL = cells x this (LiFePO4 3.45)"},
    {.name = "cell_discharge_voltage", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "3.0", .min = 2.5,
     .max = 3.3, .unit = "V", .description = "discharge voltage limit per cell: DVL = cells x this"},
    {.name = "max_charge_current", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "100", .min = 0,
     .max = 2000, .unit = "A", .description = "the most one pack may be charged with"},
    {.name = "max_discharge_current", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "100", .min = 0,
     .max = 2000, .unit = "A", .description = "the most one pack may deliver"},
    {.name = "charge_taper", .type = COLLECTOR_SETTING_LIST,
     .description = "((highest cell V, fraction), ...): charge current as the highest cell "
                    "rises; default 3.375 V 1, 3.400 0.25, 3.425 0.05, 3.450 0.005, 3.500 0"},
    {.name = "discharge_taper", .type = COLLECTOR_SETTING_LIST,
     .description = "((lowest cell V, fraction), ...): discharge current as the lowest cell "
                    "falls; default 2.800 V 0, 2.900 0.005, 3.000 0.05, 3.100 0.25, 3.190 1"},
    {.name = "charge_temperature", .type = COLLECTOR_SETTING_LIST,
     .description = "((C, fraction), ...): charge derating by the worst probe; default 0 C 0, "
                    "2 0.25, 5 0.5, 10 1, 40 1, 45 0.5, 50 0.25, 55 0 (no charging below 0 C)"},
    {.name = "discharge_temperature", .type = COLLECTOR_SETTING_LIST,
     .description = "((C, fraction), ...): discharge derating; default -10 C 0, 0 0.25, 5 0.5, "
                    "10 1, 40 1, 45 0.5, 50 0.25, 55 0"},
    {.name = "mos_temperature", .type = COLLECTOR_SETTING_LIST,
     .description = "((C, fraction), ...): derating by the BMS's MOSFET temperature; default "
                    "70 C 1, 80 0.25, 90 0"},
    {.name = "force_charge_soc", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "5", .min = 0,
     .max = 50, .unit = "%", .description = "ask the inverter to charge at or below this SOC"},
    {.name = "bank_factor", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "0.9", .min = 0.1,
     .max = 1.0, .description = "a bank's current is at most this x the sum of its packs'"},
    {.name = "bank_max_charge_current", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "300", .min = 0,
     .max = 10000, .unit = "A", .description = "the most a bank may be charged with"},
    {.name = "bank_max_discharge_current", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "300", .min = 0,
     .max = 10000, .unit = "A", .description = "the most a bank may deliver"},
    {.name = "cell_count", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "0", .min = 0,
     .max = 32, .description = "cells in series; 0: as the BMS reports"},
    {.name = "members", .type = COLLECTOR_SETTING_LIST,
     .description = "the batteries of the bank (default: the bank's own members, as its "
                    "records show them)"},
    {.name = NULL},
};

/* ---- settings ---- */

static int read_table(struct charge_limits *cl, const collector_settings *s, const char *key,
                      const char *unit, struct cl_table *out)
{
    const struct collector_host_api *api = cl->api;
    const collector_settings *list;
    struct cl_table t = {0};

    if (api->setting_child(s, key, &list) != 0)
        return 0; /* the default stays */
    t.n = api->setting_count(list);
    if (t.n < 2 || t.n > CL_TABLE_MAX) {
        api->setting_error(cl->host, s, key, "want 2 to %d points ((%s, fraction), ...)",
                           CL_TABLE_MAX, unit);
        return -EINVAL;
    }
    for (size_t i = 0; i < t.n; i++) {
        const collector_settings *pt = NULL, *x, *f;
        if (api->setting_element(list, i, &pt) != 0 || api->setting_count(pt) != 2 ||
            api->setting_element(pt, 0, &x) != 0 || api->setting_element(pt, 1, &f) != 0 ||
            api->setting_double(x, NULL, &t.x[i]) != 0 ||
            api->setting_double(f, NULL, &t.f[i]) != 0) {
            api->setting_error(cl->host, pt ? pt : s, pt ? NULL : key,
                               "%s point %zu: want (%s, fraction), two numbers", key, i + 1,
                               unit);
            return -EINVAL;
        }
        if (!(t.f[i] >= 0.0 && t.f[i] <= 1.0)) {
            api->setting_error(cl->host, pt, NULL, "%s point %zu: fraction %g is outside 0..1",
                               key, i + 1, t.f[i]);
            return -EINVAL;
        }
        if (i > 0 && !(t.x[i] > t.x[i - 1])) {
            api->setting_error(cl->host, pt, NULL, "%s point %zu: %s must increase strictly",
                               key, i + 1, unit);
            return -EINVAL;
        }
    }
    *out = t;
    return 0;
}

static int read_members(struct charge_limits *cl, const collector_settings *s)
{
    int rc = plugkit_sources_from_list(cl->api, cl->host, s, "members", MAX_PACKS,
                                       &cl->members);
    return rc == -ENOENT ? 0 : rc;
}

static int cl_create(const struct collector_host_api *api, collector_host *host,
                     const collector_settings *s, void **state_out)
{
    struct charge_limits *cl = calloc(1, sizeof(*cl));
    int64_t cells = 0;
    int rc = 0;

    if (cl == NULL)
        return -ENOMEM;
    cl->api = api;
    cl->host = host;
    cl->last_pack = -1;
    cl_config_default(&cl->cfg);
    api->setting_double(s, "cell_charge_voltage", &cl->cfg.cell_charge_v);
    api->setting_double(s, "cell_discharge_voltage", &cl->cfg.cell_discharge_v);
    api->setting_double(s, "max_charge_current", &cl->cfg.max_charge_a);
    api->setting_double(s, "max_discharge_current", &cl->cfg.max_discharge_a);
    api->setting_double(s, "force_charge_soc", &cl->cfg.force_charge_soc);
    api->setting_double(s, "bank_factor", &cl->cfg.bank_factor);
    api->setting_double(s, "bank_max_charge_current", &cl->cfg.bank_max_charge_a);
    api->setting_double(s, "bank_max_discharge_current", &cl->cfg.bank_max_discharge_a);
    api->setting_int(s, "cell_count", &cells);
    cl->cell_count = (int)cells;
    if (!(cl->cfg.cell_discharge_v < cl->cfg.cell_charge_v)) {
        api->setting_error(host, s, "cell_discharge_voltage",
                           "%.3f V is not below cell_charge_voltage (%.3f V)",
                           cl->cfg.cell_discharge_v, cl->cfg.cell_charge_v);
        rc = -EINVAL;
    }
    if (rc == 0)
        rc = read_table(cl, s, "charge_taper", "volts", &cl->cfg.charge_cell);
    if (rc == 0)
        rc = read_table(cl, s, "discharge_taper", "volts", &cl->cfg.discharge_cell);
    if (rc == 0)
        rc = read_table(cl, s, "charge_temperature", "C", &cl->cfg.charge_temp);
    if (rc == 0)
        rc = read_table(cl, s, "discharge_temperature", "C", &cl->cfg.discharge_temp);
    if (rc == 0)
        rc = read_table(cl, s, "mos_temperature", "C", &cl->cfg.mos_temp);
    if (rc == 0)
        rc = read_members(cl, s);
    if (rc < 0) {
        free(cl);
        return rc;
    }
    *state_out = cl;
    return 0;
}

static void cl_destroy(void *state)
{
    free(state);
}

/* ---- one pack ---- */

static int fet(const struct collector_host_api *api, const collector_record *rec, const char *name)
{
    int v;

    return api->get_bool(rec, name, &v) == 0 ? (v != 0) : -1;
}

static void read_input(const struct charge_limits *cl, const collector_record *rec,
                       struct cl_input *in)
{
    const struct collector_host_api *api = cl->api;
    const double *v;
    size_t n;
    int64_t count;
    double t;

    memset(in, 0, sizeof(*in));
    if (api->get_doubles(rec, "cells", &v, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!(v[i] > 0))
                continue; /* a failed or unused cell */
            in->cell_min = in->has_cells ? fmin(in->cell_min, v[i]) : v[i];
            in->cell_max = in->has_cells ? fmax(in->cell_max, v[i]) : v[i];
            in->has_cells = 1;
        }
        in->ncells = (int)n;
    }
    if (!in->has_cells && api->get_double(rec, "bms_cell_min_v", &in->cell_min) == 0 &&
        api->get_double(rec, "bms_cell_max_v", &in->cell_max) == 0)
        in->has_cells = 1;
    if (api->get_int(rec, "bms_cell_count", &count) == 0 && count > 0)
        in->ncells = (int)count;
    if (cl->cell_count > 0)
        in->ncells = cl->cell_count;
    if (api->get_doubles(rec, "temperatures", &v, &n) == 0)
        for (size_t i = 0; i < n && in->ntemps < CL_TEMPS_MAX; i++)
            in->temps[in->ntemps++] = v[i];
    if (in->ntemps == 0 && api->get_double(rec, "temperature", &t) == 0)
        in->temps[in->ntemps++] = t;
    in->has_mos = api->get_double(rec, "mos_temperature", &in->mos_temp) == 0;
    in->charge_fet = fet(api, rec, "charging_enabled");
    in->discharge_fet = fet(api, rec, "discharging_enabled");
    in->has_soc = api->get_double(rec, "battery_soc", &in->soc) == 0 ||
                  api->get_double(rec, "bms_soc", &in->soc) == 0;
}

static int publish(const struct charge_limits *cl, collector_record *rec,
                   const struct cl_result *r)
{
    const struct collector_host_api *api = cl->api;
    int rc = 0;

    /* already in the mV and 0.1 A steps of the inverter protocols, rounded
     * to the safe side (limits.c settle()) */
    if (r->cvl_v > 0) {
        rc = api->set_double(rec, "charge_voltage_limit_v", r->cvl_v);
        if (rc == 0)
            rc = api->set_double(rec, "discharge_voltage_limit_v", r->dvl_v);
    }
    if (rc == 0)
        rc = api->set_double(rec, "charge_current_limit_a", r->ccl_a);
    if (rc == 0)
        rc = api->set_double(rec, "discharge_current_limit_a", r->dcl_a);
    if (rc == 0)
        rc = api->set_bool(rec, "charge_enable", r->charge_enable);
    if (rc == 0)
        rc = api->set_bool(rec, "discharge_enable", r->discharge_enable);
    if (rc == 0)
        rc = api->set_bool(rec, "force_charge", r->force_charge);
    if (rc == 0)
        rc = api->set_string(rec, "charge_limit_reason", r->charge_reason);
    if (rc == 0)
        rc = api->set_string(rec, "discharge_limit_reason", r->discharge_reason);
    return rc;
}

static struct pack_state *pack_of(struct charge_limits *cl, const char *source)
{
    int added, k = plugkit_sources_get(&cl->pack_names, source, &added);

    if (k < 0) {
        if (!cl->full_said)
            cl->api->log(cl->host, COLLECTOR_LOG_WARNING,
                         "more than %d batteries: %s gets limits but counts in no bank",
                         MAX_PACKS, source);
        cl->full_said = 1;
        return NULL;
    }
    if (added) {
        memset(&cl->packs[k], 0, sizeof(cl->packs[k]));
        cl->packs[k].name = plugkit_sources_name(&cl->pack_names, (size_t)k);
    }
    return &cl->packs[k];
}

/* The bank `name`'s state, learning the member its record was made from. */
static struct bank_state *bank_of(struct charge_limits *cl, const char *name, int64_t t)
{
    struct bank_state *b = NULL;

    for (size_t i = 0; i < cl->nbanks && b == NULL; i++)
        if (strcmp(cl->banks[i].name, name) == 0)
            b = &cl->banks[i];
    if (b == NULL && cl->nbanks < MAX_BANKS && strlen(name) < NAME_MAX_LEN) {
        b = &cl->banks[cl->nbanks++];
        snprintf(b->name, NAME_MAX_LEN, "%s", name);
    }
    if (b == NULL && !cl->banks_said) {
        cl->api->log(cl->host, COLLECTOR_LOG_WARNING,
                     "more than %d banks: %s's members are not known, it gets no current",
                     MAX_BANKS, name);
        cl->banks_said = 1;
    }
    if (b != NULL && cl->last_pack >= 0 && cl->last_pack_time == t)
        b->members |= 1u << cl->last_pack;
    cl->last_pack = -1;
    return b;
}

/* A member of the bank: one of `members` when set, else one it showed. */
static int is_member(const struct charge_limits *cl, const struct bank_state *b, size_t pack)
{
    if (cl->members.n == 0)
        return b != NULL && (b->members & (1u << pack)) != 0;
    return plugkit_sources_find(&cl->members, cl->packs[pack].name) >= 0;
}

static int bank_record(struct charge_limits *cl, collector_record *rec)
{
    int64_t now = cl->api->record_time_ns(rec);
    const struct bank_state *b = bank_of(cl, cl->api->record_source(rec), now);
    struct cl_member m[MAX_PACKS];
    struct cl_result r;
    size_t n = 0;

    for (size_t i = 0; i < cl->pack_names.n; i++) {
        const struct pack_state *p = &cl->packs[i];
        if (!is_member(cl, b, i))
            continue;
        m[n].name = p->name;
        m[n].fresh = now <= p->fresh_until_ns;
        m[n].charge_fet = p->charge_fet;
        m[n].discharge_fet = p->discharge_fet;
        m[n].r = p->r;
        n++;
    }
    cl_bank(&cl->cfg, m, n, &r);
    return publish(cl, rec, &r);
}

static int cl_process(void *state, collector_record *rec)
{
    struct charge_limits *cl = state;
    const struct collector_host_api *api = cl->api;
    struct cl_input in;
    struct cl_result r;
    struct pack_state *p;
    int64_t members;

    if (api->get_int(rec, "members_total", &members) == 0)
        return bank_record(cl, rec);
    read_input(cl, rec, &in);
    cl_pack(&cl->cfg, &in, &r);
    p = pack_of(cl, api->record_source(rec));
    if (in.has_cells || in.ncells > 0) { /* a battery's: a record of anything else is no member */
        cl->last_pack = p != NULL ? (int)(p - cl->packs) : -1;
        cl->last_pack_time = api->record_time_ns(rec);
    }
    if (p != NULL) {
        p->fresh_until_ns = api->record_fresh_until_ns(rec);
        p->charge_fet = in.charge_fet;
        p->discharge_fet = in.discharge_fet;
        p->r = r;
    }
    return publish(cl, rec, &r);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "charge_limits",
    .version = PACKAGE_VERSION,
    .description = "charge and discharge limits for an inverter, per battery and per bank",
    .create = cl_create,
    .process = cl_process,
    .destroy = cl_destroy,
    .setting_defs = setting_defs,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

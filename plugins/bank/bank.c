/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bank: a virtual battery made of packs in parallel. Each time a record of a
 * member arrives, the bank emits a record of its own (source = the bank's
 * instance name, stamped with the member record's time) from the members'
 * latest values: currents, powers and remaining capacities summed, the mean
 * voltage, the SOC weighted by capacity, cell extremes across all packs.
 * A member whose latest record is no longer fresh by the host's one rule
 * (3 x its source's interval) at the time of the record being merged is
 * offline: left out, and counted in members_online / members_total.
 * ABI 1.2: vet_command refuses a charge or discharge "off" that would leave
 * no fresh member able to charge (or discharge), unless it has FORCE. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libplugkit/sources.h"

/* What a member's latest record had. */
enum {
    HAS_CURRENT = 1u << 0,
    HAS_POWER = 1u << 1,
    HAS_VOLTAGE = 1u << 2,
    HAS_SOC = 1u << 3,
    HAS_CAPACITY = 1u << 4,
    HAS_REMAINING = 1u << 5,
    HAS_CELLS = 1u << 6,
};

struct member {
    const char *source; /* its name in bank.members */
    int seen, online; /* online: -1 until first judged */
    int64_t t_ns, until_ns; /* its latest record's time and freshness (realtime ns) */
    unsigned has;
    double current, power, voltage, soc, capacity, remaining, cell_min, cell_max;
    int can[2]; /* able to charge, to discharge: 1, 0, or -1 unknown (vet_command) */
};

struct bank {
    const struct collector_host_api *api;
    collector_host *host;
    struct plugkit_sources members; /* from the settings */
    struct member m[PLUGKIT_SOURCES_MAX]; /* m[i] is members' name i */
    pthread_mutex_t lock; /* process() and vet_command() (another thread) */
};

static const struct collector_setting_def setting_defs[] = {
    {.name = "members", .type = COLLECTOR_SETTING_LIST, .flags = COLLECTOR_SETTING_REQUIRED,
     .description = "the source instances of the packs in parallel, e.g. (\"battery1\", "
                    "\"battery2\")"},
    {.name = NULL},
};

static int read_members(struct bank *b, const collector_settings *s)
{
    /* required: the host said so if it is absent */
    if (plugkit_sources_from_list(b->api, b->host, s, "members", PLUGKIT_SOURCES_MAX,
                                  &b->members) < 0)
        return -EINVAL;
    for (size_t k = 0; k < b->members.n; k++) {
        b->m[k].online = -1;
        b->m[k].source = plugkit_sources_name(&b->members, k);
    }
    return 0;
}

static int bank_create(const struct collector_host_api *api, collector_host *host,
                       const collector_settings *s, void **state_out)
{
    struct bank *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return -ENOMEM;
    b->api = api;
    b->host = host;
    if (read_members(b, s) < 0) {
        free(b);
        return -EINVAL;
    }
    pthread_mutex_init(&b->lock, NULL);
    *state_out = b;
    return 0;
}

static void bank_destroy(void *state)
{
    struct bank *b = state;

    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* ---- a member's latest values ---- */

static void cells_of(const struct collector_host_api *api, const collector_record *rec,
                     struct member *m)
{
    const double *v;
    size_t n;

    if (api->get_double(rec, "bms_cell_min_v", &m->cell_min) == 0 &&
        api->get_double(rec, "bms_cell_max_v", &m->cell_max) == 0) {
        m->has |= HAS_CELLS;
        return;
    }
    if (api->get_doubles(rec, "cells", &v, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] > 0))
            continue; /* a failed or unused cell */
        if (!(m->has & HAS_CELLS) || v[i] < m->cell_min)
            m->cell_min = v[i];
        if (!(m->has & HAS_CELLS) || v[i] > m->cell_max)
            m->cell_max = v[i];
        m->has |= HAS_CELLS;
    }
}

static void update(const struct collector_host_api *api, const collector_record *rec,
                   struct member *m)
{
    m->seen = 1;
    m->t_ns = api->record_time_ns(rec);
    m->until_ns = api->record_fresh_until_ns(rec);
    m->has = 0;
    if (api->get_double(rec, "battery_current", &m->current) == 0)
        m->has |= HAS_CURRENT;
    if (api->get_double(rec, "battery_power", &m->power) == 0)
        m->has |= HAS_POWER;
    if (api->get_double(rec, "battery_voltage", &m->voltage) == 0)
        m->has |= HAS_VOLTAGE;
    if (api->get_double(rec, "battery_soc", &m->soc) == 0 ||
        api->get_double(rec, "bms_soc", &m->soc) == 0)
        m->has |= HAS_SOC;
    if ((api->get_double(rec, "capacity_total_ah", &m->capacity) == 0 ||
         api->get_double(rec, "capacity_nominal_ah", &m->capacity) == 0) &&
        m->capacity > 0)
        m->has |= HAS_CAPACITY;
    if (api->get_double(rec, "capacity_remaining_ah", &m->remaining) == 0)
        m->has |= HAS_REMAINING;
    cells_of(api, rec, m);
    /* able to charge / discharge: the switch (the BMS's flag) and the MOSFET
     * it reports, whichever the record has; unknown when neither */
    for (int k = 0; k < 2; k++) {
        static const char *const flag[2] = {"charge_switch", "discharge_switch"};
        static const char *const fet[2] = {"charging_enabled", "discharging_enabled"};
        int a = -1, f = -1;
        api->get_bool(rec, flag[k], &a);
        api->get_bool(rec, fet[k], &f);
        m->can[k] = a < 0 && f < 0 ? -1 : (a != 0 && f != 0);
    }
}

/* ---- the bank's record ---- */

struct totals {
    int online;
    unsigned all; /* HAS_* bits every online member has */
    double current, power, remaining, capacity;
    double voltage_sum;
    int nvoltage;
    double soc_sum, soc_weighted, soc_capacity;
    int nsoc, soc_weighed; /* soc_weighed: every member with a SOC has a capacity */
    double cell_min, cell_max;
    int has_cells;
};

static void mark_online(struct bank *b, struct member *m, int64_t now_ns)
{
    int online = m->seen && now_ns <= m->until_ns;

    if (online != m->online && m->online >= 0)
        b->api->log(b->host, online ? COLLECTOR_LOG_INFO : COLLECTOR_LOG_WARNING,
                    online ? "%s back in the bank"
                           : "%s offline (no record for %.1f s): left out of the bank",
                    m->source, (double)(now_ns - m->t_ns) / 1e9);
    m->online = online;
}

static void add(struct totals *s, const struct member *m)
{
    s->online++;
    s->all &= m->has;
    s->current += m->current;
    s->power += m->power;
    s->remaining += m->remaining;
    s->capacity += m->capacity;
    if (m->has & HAS_VOLTAGE) {
        s->voltage_sum += m->voltage;
        s->nvoltage++;
    }
    if (m->has & HAS_SOC) {
        s->soc_sum += m->soc;
        s->nsoc++;
        s->soc_weighted += m->soc * m->capacity;
        s->soc_capacity += m->capacity;
        if (!(m->has & HAS_CAPACITY))
            s->soc_weighed = 0;
    }
    if (m->has & HAS_CELLS) {
        s->cell_min = s->has_cells ? fmin(s->cell_min, m->cell_min) : m->cell_min;
        s->cell_max = s->has_cells ? fmax(s->cell_max, m->cell_max) : m->cell_max;
        s->has_cells = 1;
    }
}

static int fill(struct bank *b, collector_record *out, const struct totals *s)
{
    const struct collector_host_api *api = b->api;
    int rc = api->set_int(out, "members_online", s->online);

    if (rc == 0)
        rc = api->set_int(out, "members_total", (int64_t)b->members.n);
    /* a sum is only a sum of the bank when every online pack reports it */
    if (rc == 0 && (s->all & HAS_CURRENT))
        rc = api->set_double(out, "battery_current", s->current);
    if (rc == 0 && (s->all & HAS_POWER))
        rc = api->set_double(out, "battery_power", s->power);
    if (rc == 0 && (s->all & HAS_REMAINING))
        rc = api->set_double(out, "capacity_remaining_ah", s->remaining);
    if (rc == 0 && (s->all & HAS_CAPACITY))
        rc = api->set_double(out, "capacity_nominal_ah", s->capacity);
    if (rc == 0 && s->nvoltage > 0)
        rc = api->set_double(out, "battery_voltage", s->voltage_sum / s->nvoltage);
    if (rc == 0 && s->nsoc > 0)
        rc = api->set_double(out, "battery_soc",
                             s->soc_weighed && s->soc_capacity > 0
                                 ? s->soc_weighted / s->soc_capacity
                                 : s->soc_sum / s->nsoc);
    if (rc == 0 && s->has_cells)
        rc = api->set_double(out, "bms_cell_min_v", s->cell_min);
    if (rc == 0 && s->has_cells)
        rc = api->set_double(out, "bms_cell_max_v", s->cell_max);
    if (rc == 0 && s->has_cells)
        rc = api->set_double(out, "bms_cell_delta_v", s->cell_max - s->cell_min);
    return rc;
}

static int bank_process(void *state, collector_record *rec)
{
    struct bank *b = state;
    const struct collector_host_api *api = b->api;
    int k = plugkit_sources_find(&b->members, api->record_source(rec));
    struct totals s = {.all = ~0u, .soc_weighed = 1};
    struct member *m;
    collector_record *out = NULL;
    int64_t now_ns;
    int rc;

    if (k < 0)
        return 0; /* not a member: passes unchanged */
    m = &b->m[k];
    pthread_mutex_lock(&b->lock);
    update(api, rec, m);
    now_ns = m->t_ns;
    for (size_t i = 0; i < b->members.n; i++) {
        mark_online(b, &b->m[i], now_ns);
        if (b->m[i].online)
            add(&s, &b->m[i]);
    }
    pthread_mutex_unlock(&b->lock);
    rc = api->record_new(b->host, &out);
    if (rc < 0)
        return rc;
    rc = api->set_time_ns(out, api->record_time_ns(rec));
    if (rc == 0)
        rc = fill(b, out, &s);
    if (rc < 0) {
        api->record_free(out);
        return rc;
    }
    return api->emit(b->host, out);
}

/* A charge or discharge "off" for a member must leave another member that
 * is fresh and able to do it; the bank does not guess about stale packs. */
static int bank_vet_command(void *state, const struct collector_command *cmd, char *reason,
                            size_t size)
{
    struct bank *b = state;
    int k = strcmp(cmd->name, "charge") == 0 ? 0 : strcmp(cmd->name, "discharge") == 0 ? 1 : -1;
    int64_t now_ns = b->api->time_ns(b->host, COLLECTOR_CLOCK_REALTIME);
    char others[256] = "";
    size_t len = 0;
    int member = 0, able = 0, rc = 0;

    if (k < 0 || strcmp(cmd->value, "off") != 0)
        return 0;
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->members.n; i++) {
        const struct member *m = &b->m[i];
        const char *why;
        if (strcmp(m->source, cmd->target) == 0) {
            member = 1;
            continue;
        }
        if (m->seen && now_ns <= m->until_ns && m->can[k] == 1) {
            able = 1;
            continue;
        }
        why = !m->seen || now_ns > m->until_ns ? "no fresh record"
              : m->can[k] < 0                     ? "state unknown"
                                                  : "off";
        len += (size_t)snprintf(others + len, len < sizeof(others) ? sizeof(others) - len : 0,
                                "%s%s: %s", len ? ", " : "", m->source, why);
    }
    pthread_mutex_unlock(&b->lock);
    if (!member || able)
        return 0;
    if (cmd->flags & COLLECTOR_COMMAND_FORCE) {
        b->api->log(b->host, COLLECTOR_LOG_WARNING,
                    "%s off on %s leaves no pack of the bank able to %s (%s): forced",
                    cmd->name, cmd->target, cmd->name, b->members.n > 1 ? others : "the only member");
        return 0;
    }
    snprintf(reason, size, "%s off on %s would leave no fresh pack of the bank able to %s (%s); "
             "force overrides",
             cmd->name, cmd->target, cmd->name, b->members.n > 1 ? others : "it is the only member");
    rc = -EPERM;
    return rc;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "bank",
    .version = PACKAGE_VERSION,
    .description = "a virtual battery of packs in parallel, emitted as a "
                   "record of its own",
    .create = bank_create,
    .process = bank_process,
    .vet_command = bank_vet_command,
    .destroy = bank_destroy,
    .setting_defs = setting_defs,
    .flags = COLLECTOR_PLUGIN_EMITS,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

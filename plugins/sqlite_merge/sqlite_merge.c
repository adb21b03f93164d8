/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqlite_merge: battery data into eamoon's inverter.db, so its dashboard and
 * bot show the BMS values unchanged. See docs/sqlite-merge.md.
 * This file: the plugin's callbacks and which battery a record is. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/sqlite_merge/sqlite_merge.h"

static const char *const modes[] = {"overlay", "append", NULL};
static const char *const journals[] = {"wal", "keep", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "path", .type = COLLECTOR_SETTING_STRING, .default_value = "${DB_PATH:-inverter.db}",
     .flags = COLLECTOR_SETTING_MIN, .min = 1,
     .description = "eamoon's inverter.db (default: the seed's DB_PATH, else ./inverter.db); "
                    "one sink per database; a link only when root or the daemon's user made it"},
    {.name = "mode", .type = COLLECTOR_SETTING_STRING, .default_value = "overlay",
     .allowed = modes,
     .description = "overlay: BMS keys on the inverter's rows; append: a row of its own"},
    {.name = "max_age", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 86400, .unit = "s",
     .description = "how long a battery's values stay on new rows (default: 3 x its interval)"},
    {.name = "battery_index", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 99,
     .description = "every record is this battery (1: keys without prefix, N: batteryN_)"},
    {.name = "batteries", .type = COLLECTOR_SETTING_LIST,
     .description = "source names in battery order: the first gets keys without prefix"},
    {.name = "fields", .type = COLLECTOR_SETTING_LIST,
     .description = "the keys written; (\"+name\", ...) adds to eamoon's default keys"},
    {.name = "history", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "also keep every record in the table bms_readings, and every command "
                    "and its outcome in bms_commands"},
    {.name = "history_days", .type = COLLECTOR_SETTING_INT, .default_value = "30",
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 3650, .unit = "d",
     .description = "how long bms_readings keeps a record"},
    {.name = "journal_mode", .type = COLLECTOR_SETTING_STRING, .default_value = "wal",
     .allowed = journals,
     .description = "wal: readers never block the writer; keep: leave the database's mode"},
    {.name = "busy_timeout", .type = COLLECTOR_SETTING_INT, .default_value = "5000",
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 0, .max = 600000,
     .unit = "ms", .description = "how long a write waits for another writer's lock"},
    {.name = NULL},
};

/* Whether `source` is named in batteries = (...). */
static int listed(const struct merge *m, const char *source)
{
    for (size_t i = 0; i < m->norder; i++)
        if (strcmp(m->order[i], source) == 0)
            return 1;
    return 0;
}

/* The battery number of a record's source: batteries = (...), else its
 * place among the configuration's other record makers (after the listed
 * ones), so the numbers are the same in every run whichever source answers
 * first. A source the host did not name gets the next number after all of
 * them. Said once. */
static struct battery *battery_for(struct merge *m, const char *source)
{
    int added, k = plugkit_sources_get(&m->seen, source, &added), next;
    struct battery *b;

    if (k < 0)
        return NULL;
    b = &m->bats[k];
    if (!added)
        return b;
    b->index = m->fixed_index;
    for (size_t i = 0; i < m->norder && b->index == 0; i++)
        if (strcmp(m->order[i], source) == 0)
            b->index = (int)i + 1;
    if (b->index != 0)
        return b;
    next = (int)m->norder + 1;
    for (size_t i = 0; i < m->nproducers && b->index == 0; i++) {
        if (strcmp(m->producers[i], source) == 0)
            b->index = next;
        else if (!listed(m, m->producers[i]))
            next++;
    }
    for (size_t i = 0; i + 1 < m->seen.n && b->index == 0; i++)
        if (m->bats[i].index >= next)
            next = m->bats[i].index + 1;
    if (b->index == 0)
        b->index = next;
    m->api->log(m->host, COLLECTOR_LOG_INFO,
                "%s is battery %d (%s); batteries = (\"...\", ...) fixes the order", source,
                b->index, b->index == 1 ? "keys without prefix" : "battery<N>_ keys");
    return b;
}

/* How long a record's values count as current: max_age, else the host's one
 * freshness rule (COLLECTOR_STALE_FACTOR x its source's interval). */
static double freshness_s(const struct merge *m, const collector_record *rec)
{
    const struct collector_host_api *api = m->api;

    if (m->max_age > 0)
        return m->max_age;
    return (double)(api->record_fresh_until_ns(rec) - api->record_time_ns(rec)) / 1e9;
}

static void merge_destroy(void *state)
{
    struct merge *m = state;

    if (m == NULL)
        return;
    sm_db_close(m);
    free(m->path);
    free(m);
}

/* Only the settings: no file is touched (--check). */
static int merge_create(const struct collector_host_api *api, collector_host *host,
                        const collector_settings *s, void **state_out)
{
    struct merge *m = calloc(1, sizeof(*m));
    int rc;

    if (m == NULL)
        return -ENOMEM;
    m->api = api;
    m->host = host;
    m->warned_row = -1;
    rc = sm_settings_read(m, s);
    if (rc < 0) {
        merge_destroy(m);
        return rc;
    }
    *state_out = m;
    return 0;
}

static int merge_start(void *state)
{
    return sm_db_open(state);
}

static void merge_stop(void *state)
{
    sm_db_close(state);
}

/* 0 stored; -EAGAIN: the database is locked, the host keeps the record and
 * tries again; another error: said once, the record is dropped. */
static int merge_write(void *state, const collector_record *rec)
{
    struct merge *m = state;
    const struct collector_host_api *api = m->api;
    struct battery *b;
    struct pending p = {0};
    int64_t ns = api->record_time_ns(rec);
    int rc;

    /* a command's outcome: a bms_commands row, never a reading */
    if (api->record_kind(rec) == COLLECTOR_RECORD_EVENT)
        return m->history ? sm_db_command(m, rec) : 0;
    b = battery_for(m, api->record_source(rec));
    if (b == NULL) {
        api->log(m->host, COLLECTOR_LOG_ERROR, "more than %d batteries: record from %s ignored",
                 MAX_BATTERIES, api->record_source(rec));
        return -ENOSPC;
    }
    p.battery = b->index;
    p.time_s = (double)ns / 1e9;
    /* from the integer ns, not time_s: no rounding across a second (time_t
     * is 64-bit, configure sees to it, so every int64 ns fits) */
    p.secs = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
    p.max_age = freshness_s(m, rec);
    p.patch = sm_build_patch(m, rec, b->index);
    p.history = m->history ? sm_build_history(m, rec) : NULL;
    if (p.patch == NULL || (m->history && p.history == NULL))
        rc = -ENOMEM;
    else
        rc = sm_db_store(m, &p);
    free(p.patch);
    free(p.history);
    return rc;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SINK,
    .name = "sqlite_merge",
    .version = PACKAGE_VERSION,
    .description = "battery data merged into eamoon's inverter.db",
    .create = merge_create,
    .write = merge_write,
    .destroy = merge_destroy,
    .setting_defs = setting_defs,
    .start = merge_start,
    .stop = merge_stop,
    .flags = COLLECTOR_PLUGIN_EVENTS, /* commands' outcomes: bms_commands */
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

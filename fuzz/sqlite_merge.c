/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the sqlite sink's merge, with whatever another writer left as
 * the newest payload of readings (text of any shape, JSON or not). The sink
 * must patch a JSON object, leave anything else untouched, and never crash.
 * The plugin runs in-process with the real host API (no dlopen). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>
#include <sqlite3.h>

#include <collector/plugin.h>

#include "core/hostapi.h"
#include "core/log.h"
#include "core/record.h"
#include "core/setdefs.h"
#include "core/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char db[64];
static struct collector_host host;
static void *state;
static const struct collector_plugin *plugin;
static config_t cfg;

static int setup(void)
{
    char text[128], err[1024];
    config_setting_t *g;

    snprintf(db, sizeof(db), "/tmp/fuzz-merge-%d.db", (int)getpid());
    unlink(db);
    log_set_level(COLLECTOR_LOG_ERROR - 1);
    plugin = collector_plugin_entry();
    config_init(&cfg);
    snprintf(text, sizeof(text), "i = { path = \"%s\"; journal_mode = \"keep\"; };", db);
    if (config_read_string(&cfg, text) != CONFIG_TRUE || host_init(&host, "fuzz", 0, "/tmp") < 0)
        return -1;
    g = config_lookup(&cfg, "i");
    if (setdefs_apply(g, plugin, "fuzz", err, sizeof(err)) < 0 ||
        plugin->create(hostapi_table(), &host, settings_wrap(g), &state) != 0)
        return -1;
    return plugin->start(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static const double cells[2] = {3.3, 3.31};
    collector_record *rec;
    sqlite3 *con;
    sqlite3_stmt *st;

    if (!ready) {
        if (setup() != 0)
            return 0;
        ready = 1;
    }
    if (sqlite3_open(db, &con) != SQLITE_OK)
        return 0;
    sqlite3_exec(con, "DELETE FROM readings;", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(con, "INSERT INTO readings (created_at, payload) VALUES ('x', ?)", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, (const char *)data, (int)size, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    sqlite3_close(con);
    record_new("battery1", 1700000000000000000LL, &rec);
    record_set_doubles(rec, "cells", cells, 2);
    record_set_double(rec, "battery_voltage", 6.61);
    record_set_int(rec, "bms_cell_count", 2);
    plugin->write(state, rec);
    record_free(rec);
    return 0;
}

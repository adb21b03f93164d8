/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SQL of the eamoon inverter.db contract and collectord's overlay, shared
 * by the sqlite_merge sink and the collectord-db tool. */
#ifndef COLLECTORD_PLUGINS_SQLITE_MERGE_MERGE_SQL_H
#define COLLECTORD_PLUGINS_SQLITE_MERGE_MERGE_SQL_H

/* eamoon's own schema (data_store.py), created when the file is new. */
#define MERGE_SQL_READINGS                                                                        \
    "CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY AUTOINCREMENT, "                 \
    "created_at TEXT NOT NULL, payload TEXT, error TEXT);"

/* The current patch of each battery: the formatted keys, when, and how long
 * they count as fresh (seconds). */
#define MERGE_SQL_PATCH                                                                           \
    "CREATE TABLE IF NOT EXISTS collectord_patch (battery INTEGER PRIMARY KEY, "                  \
    "patch TEXT NOT NULL, updated_at REAL NOT NULL, max_age REAL NOT NULL);"

/* Now as Unix seconds with a fraction (works on SQLite before unixepoch()). */
#define MERGE_SQL_NOW "((julianday('now') - 2440587.5) * 86400.0)"

/* Every fresh patch merged into one JSON object; arrays and objects stay JSON. */
#define MERGE_SQL_FRESH_PATCHES                                                                   \
    "(SELECT json_group_object(j.key, CASE WHEN j.type IN ('array', 'object') "                   \
    "THEN json(j.value) ELSE j.value END) FROM collectord_patch p, json_each(p.patch) j "         \
    "WHERE p.updated_at + p.max_age >= " MERGE_SQL_NOW ")"

/* Rows inserted by any other writer (the inverter poller) get the fresh
 * patches; failed reads (payload NULL) and non-objects are left alone. */
#define MERGE_SQL_TRIGGER                                                                         \
    "CREATE TRIGGER IF NOT EXISTS collectord_overlay AFTER INSERT ON readings "                   \
    "WHEN NEW.payload IS NOT NULL AND json_valid(NEW.payload) "                                   \
    "AND json_type(NEW.payload) = 'object' AND EXISTS (SELECT 1 FROM collectord_patch "           \
    "WHERE updated_at + max_age >= " MERGE_SQL_NOW ") "                                           \
    "BEGIN UPDATE readings SET payload = json_patch(NEW.payload, " MERGE_SQL_FRESH_PATCHES ") "  \
    "WHERE id = NEW.id; END;"

/* What `collectord-db unhook` runs: the database is eamoon's alone again. */
#define MERGE_SQL_UNHOOK                                                                          \
    "DROP TRIGGER IF EXISTS collectord_overlay; DROP TABLE IF EXISTS collectord_patch;"

#define MERGE_SQL_HISTORY                                                                         \
    "CREATE TABLE IF NOT EXISTS bms_readings (id INTEGER PRIMARY KEY AUTOINCREMENT, "             \
    "created_at TEXT NOT NULL, battery INTEGER NOT NULL, payload TEXT NOT NULL); "                \
    "CREATE INDEX IF NOT EXISTS bms_readings_created_at ON bms_readings(created_at);"

/* ABI 1.2: one row per command and its outcome (history = true). */
#define MERGE_SQL_COMMANDS                                                                        \
    "CREATE TABLE IF NOT EXISTS bms_commands (id INTEGER PRIMARY KEY AUTOINCREMENT, "             \
    "created_at TEXT NOT NULL, battery TEXT NOT NULL, switch TEXT NOT NULL, "                     \
    "requested TEXT NOT NULL, outcome TEXT NOT NULL, origin TEXT NOT NULL, detail TEXT, "         \
    "duration_ms INTEGER);"

#endif

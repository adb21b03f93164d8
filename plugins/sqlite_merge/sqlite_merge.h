/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqlite_merge: the sink's state and the seams between its files:
 * sm_settings.c (settings and the checks --check makes), sm_patch.c (a
 * record as eamoon's keys), sm_db.c (the database), sqlite_merge.c (the
 * plugin's callbacks and which battery a record is). */
#ifndef COLLECTORD_PLUGINS_SQLITE_MERGE_SQLITE_MERGE_H
#define COLLECTORD_PLUGINS_SQLITE_MERGE_SQLITE_MERGE_H

#include <stddef.h>
#include <time.h>

#include <sqlite3.h>

#include <collector/plugin.h>

#include "plugins/libplugkit/complain.h"
#include "plugins/libplugkit/sources.h"

#define MAX_BATTERIES PLUGKIT_SOURCES_MAX /* the per-source limit of every plugin */
#define MAX_FIELDS 48

enum { FMT_FIXED, FMT_INT, FMT_AS_IS };

struct field {
    char name[64];
    int fmt;
    int decimals;
};

struct battery { /* its source is its name in merge.seen */
    int index; /* 1 = no prefix, N = "batteryN_" */
};

/* One record ready to store. */
struct pending {
    int battery;
    double time_s;
    time_t secs; /* the same time in whole seconds, rounded down, for created_at */
    double max_age;
    char *patch;   /* JSON object of formatted keys */
    char *history; /* JSON of the whole record, or NULL */
};

enum { ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_NEWEST, ST_UPSERT, ST_OVERLAY, ST_APPEND, ST_HISTORY,
       ST_COMMAND, ST_COUNT };

struct merge {
    const struct collector_host_api *api;
    collector_host *host;
    /* settings */
    char *path;
    int overlay;
    double max_age; /* 0: the host's freshness rule */
    int fixed_index;
    char order[MAX_BATTERIES][64]; /* batteries = (...): source instance -> number */
    size_t norder;
    char producers[MAX_BATTERIES][64]; /* what makes records, in config order */
    size_t nproducers;
    struct field fields[MAX_FIELDS];
    size_t nfields;
    int history;
    int history_days;
    int keep_journal;
    int busy_ms;
    /* database (start() to stop()) */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT]; /* NULL until first used */
    int ready;                    /* schema, pragmas and trigger in place */
    long long warned_row;         /* the newest row last reported as not an object */
    int warned_no_row;
    struct plugkit_complain failure; /* a failed write, said once per cause */
    char db_msg[256];             /* SQLite's message of a failed setup */
    double last_retention;
    /* batteries seen */
    struct plugkit_sources seen;
    struct battery bats[MAX_BATTERIES]; /* bats[i] is seen's name i */
};

/* Read (as the host checked them against the table in sqlite_merge.c) and
 * cross-check the settings into `m`; each problem is reported with
 * setting_error. 0 or -EINVAL / -ENOMEM. */
int sm_settings_read(struct merge *m, const collector_settings *s);

/* eamoon's keys of `rec` as a compact JSON object (prefixed for battery
 * index >= 2), and the whole record for history; malloc'd, NULL when out of
 * memory (sm_patch.c). */
char *sm_build_patch(const struct merge *m, const collector_record *rec, int index);
char *sm_build_history(const struct merge *m, const collector_record *rec);

/* The database (sm_db.c). sm_db_open opens (creating the file) and
 * prepares the schema when it can; sm_db_store writes one record, all or
 * nothing: 0, -EAGAIN (locked: try again later), or -EIO after logging
 * what is wrong once per cause. sm_db_close is NULL-safe. */
int sm_db_open(struct merge *m);
/* -EPERM with why filled when `path`, or its -wal / -shm / -journal (beside
 * it or beside the file it resolves to), is a symbolic link made by a user
 * other than root or this daemon's; 0 otherwise. */
int sm_path_refused(const char *path, char *why, size_t cap);
int sm_db_store(struct merge *m, const struct pending *p);
void sm_db_close(struct merge *m);
/* A command's outcome event (ABI 1.2) as a bms_commands row (history only). */
int sm_db_command(struct merge *m, const collector_record *ev);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* collectord-db: maintenance of collectord's hook in inverter.db.
 *   collectord-db unhook PATH   remove the overlay trigger and patch table
 *   collectord-db status PATH   show whether the hook is installed and its patches */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "plugins/sqlite_merge/merge_sql.h"

static int status(sqlite3 *db)
{
    sqlite3_stmt *st;
    int hooked = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                           "name = 'collectord_overlay'",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        hooked = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    printf("overlay trigger: %s\n", hooked ? "installed" : "not installed");
    if (sqlite3_prepare_v2(db,
                           "SELECT battery, " MERGE_SQL_NOW " - updated_at, max_age, patch FROM "
                           "collectord_patch ORDER BY battery",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            printf("battery %d: %.0f s old (fresh for %.0f s): %s\n", sqlite3_column_int(st, 0),
                   sqlite3_column_double(st, 1), sqlite3_column_double(st, 2),
                   (const char *)sqlite3_column_text(st, 3));
        sqlite3_finalize(st);
    }
    return 0;
}

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    int rc;

    if (argc != 3 || (strcmp(argv[1], "unhook") != 0 && strcmp(argv[1], "status") != 0)) {
        fprintf(stderr, "usage: collectord-db unhook|status PATH\n"
                        "  unhook: remove collectord's trigger and patch table; equivalent SQL:\n"
                        "          " MERGE_SQL_UNHOOK "\n");
        return 2;
    }
    rc = sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "collectord-db: %s: %s\n", argv[2],
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    if (strcmp(argv[1], "status") == 0) {
        rc = status(db);
    } else {
        rc = sqlite3_exec(db, MERGE_SQL_UNHOOK, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            fprintf(stderr, "collectord-db: %s: %s\n", argv[2], sqlite3_errmsg(db));
        else
            printf("%s: collectord's overlay removed; eamoon's tables are untouched\n", argv[2]);
        rc = rc != SQLITE_OK;
    }
    sqlite3_close(db);
    return rc;
}

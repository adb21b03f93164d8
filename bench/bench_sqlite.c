/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: sqlite_merge merges per second in each mode on a real file,
 * and the rows each BMS poll adds (the seed's Python did ~390/s, 1 row). */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "core/record.h"
#include "testhost.h"
#include "bench_util.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static long long rows(const char *db)
{
    sqlite3 *con;
    sqlite3_stmt *st;
    long long n = -1;
    sqlite3_open(db, &con);
    if (sqlite3_prepare_v2(con, "SELECT count(*) FROM readings", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(con);
    return n;
}

static int run(const char *mode, int n)
{
    char dir[] = "/tmp/bench-sqlite-XXXXXX", db[256], settings[512];
    static const double cells[16] = {3.3, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3,
                                     3.3, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3};
    struct testhost *t;
    sqlite3 *con;
    long long before;
    double t0, dt;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(db, sizeof(db), "%s/inverter.db", dir);
    sqlite3_open(db, &con);
    sqlite3_exec(con,
                 "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT "
                 "NOT NULL, payload TEXT, error TEXT); INSERT INTO readings (created_at, payload) "
                 "VALUES ('2026-01-15T16:43:23', '{\"grid_voltage\": \"230.1\", "
                 "\"battery_voltage\": \"52.6\"}');",
                 NULL, NULL, NULL);
    sqlite3_close(con);
    snprintf(settings, sizeof(settings), "path = \"%s\"; mode = \"%s\";", db, mode);
    if (testhost_open("sqlite_merge", settings, &t) != 0) {
        fprintf(stderr, "bench_sqlite: %s\n", testhost_last_log());
        return 1;
    }
    before = rows(db);
    t0 = bench_now();
    for (int i = 0; i < n; i++) {
        collector_record *r;
        record_new("battery1", (int64_t)time(NULL) * 1000000000, &r);
        record_set_doubles(r, "cells", cells, 16);
        record_set_int(r, "bms_cell_count", 16);
        record_set_double(r, "battery_voltage", 52.8 + i * 1e-3);
        record_set_double(r, "battery_current", -3.2);
        record_set_double(r, "battery_power", -169.0);
        record_set_double(r, "temperature", 21.0);
        record_set_double(r, "bms_cell_min_v", 3.3);
        record_set_double(r, "bms_cell_max_v", 3.3);
        record_set_double(r, "bms_cell_delta_v", 0.0);
        testhost_write(t, r);
        record_free(r);
    }
    dt = bench_now() - t0;
    testhost_close(t);
    printf("{\"bench\": \"sqlite_merges_%s\", \"value\": %.0f, \"unit\": \"merges/s\"}\n", mode,
           n / dt);
    printf("{\"bench\": \"sqlite_rows_per_poll_%s\", \"value\": %.2f, \"unit\": \"rows\"}\n", mode,
           (double)(rows(db) - before) / n);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    return run("overlay", 2000) || run("append", 2000);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: the full poll cycle of the demo pipeline (jk_replay source ->
 * soc_lifepo4 -> sqlite_merge into a real file), through the real plugins.
 *   bench_cycle [N]   N cycles (default 2000); prints cycles/s.
 * For instructions per cycle, independent of machine noise:
 *   valgrind --tool=callgrind bench_cycle 1 ; ... bench_cycle 101
 *   (Ir(101) - Ir(1)) / 100   (docs/PERFORMANCE.md) */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "testhost.h"
#include "bench_util.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
    char dir[] = "/tmp/bench-cycle-XXXXXX", db[256], src[4300], snk[512];
    struct testhost *source, *soc, *sink;
    double t0, dt;
    sqlite3 *con;

    if (n < 1 || mkdtemp(dir) == NULL)
        return 1;
    snprintf(db, sizeof(db), "%s/inverter.db", dir);
    sqlite3_open(db, &con);
    sqlite3_exec(con,
                 "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT "
                 "NOT NULL, payload TEXT, error TEXT); INSERT INTO readings (created_at, payload) "
                 "VALUES ('2026-01-15T16:43:23', '{\"grid_voltage\": \"230.1\"}');",
                 NULL, NULL, NULL);
    sqlite3_close(con);
    snprintf(src, sizeof(src), "file = \"%s/etc/demo/jk_pb2a16s15p.hex\"; loop = true;", top);
    snprintf(snk, sizeof(snk), "path = \"%s\";", db);
    if (testhost_open("jk_replay", src, &source) || testhost_open("soc_lifepo4", "", &soc) ||
        testhost_open("sqlite_merge", snk, &sink)) {
        fprintf(stderr, "bench_cycle: %s\n", testhost_last_log());
        return 1;
    }
    t0 = bench_now();
    for (long i = 0; i < n; i++) {
        collector_record *rec;
        if (testhost_poll(source) != 0 || testhost_record_count(source) != 1)
            return 1;
        rec = (collector_record *)(uintptr_t)testhost_record(source, 0);
        testhost_process(soc, rec);
        if (testhost_write(sink, rec) != 0)
            return 1;
        testhost_clear_records(source);
    }
    dt = bench_now() - t0;
    printf("{\"bench\": \"poll_cycle_replay_soc_sqlite\", \"value\": %.0f, \"unit\": \"cycles/s\"}\n",
           n / dt);
    testhost_close(sink);
    testhost_close(soc);
    testhost_close(source);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: instructions per poll of the real daemon in steady state.
 *
 * collectord with one looping jk_replay battery, soc_lifepo4 and sqlite_merge
 * overlaying onto an eamoon inverter.db (one inverter row), run under
 * callgrind twice, 2 s and 8 s past its first write. The difference in
 * instructions (all threads) divided by the difference in polls is the cost
 * of one poll, without start-up and shutdown; it does not depend on the
 * machine's speed or load. docs/PERFORMANCE.md has the profile. */
#include "config.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define SHORT_S 2.0 /* after the first write */
#define LONG_S  8.0

/* A fresh inverter.db with one inverter row. */
static int make_db(const char *path)
{
    char wal[600], shm[600];
    sqlite3 *con;
    int rc;

    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(shm, sizeof(shm), "%s-shm", path);
    remove(path);
    remove(wal);
    remove(shm);
    if (sqlite3_open(path, &con) != SQLITE_OK)
        return -1;
    rc = sqlite3_exec(con,
                      "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at "
                      "TEXT NOT NULL, payload TEXT, error TEXT); INSERT INTO readings "
                      "(created_at, payload) VALUES ('2026-01-15T16:43:23', "
                      "'{\"grid_voltage\": \"230.1\", \"pv_power\": 512}');",
                      NULL, NULL, NULL);
    sqlite3_close(con);
    return rc == SQLITE_OK ? 0 : -1;
}

static int write_conf(const char *path, const char *src, const char *dir)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fprintf(fp,
            "collector = { interval = 0.05; log_level = \"info\"; state_dir = \"%s\"; };\n"
            "sources = ( { plugin = \"jk_replay\"; name = \"battery1\"; loop = true;\n"
            "    file = \"%s/etc/demo/jk_pb2a16s15p.hex\"; address = \"C8:47:8C:00:00:01\"; } );\n"
            "calculators = ( { plugin = \"soc_lifepo4\"; } );\n"
            "sinks = ( { plugin = \"sqlite_merge\"; path = \"%s/inverter.db\"; "
            "mode = \"overlay\"; } );\n",
            dir, src, dir);
    return fclose(fp) == 0 ? 0 : -1;
}

/* The polls the daemon counted at shutdown ("N poll(s) ok"), or -1. */
static long polls_from_log(const char *path)
{
    char line[1024];
    long polls = -1;
    FILE *fp = fopen(path, "r");

    while (fp && fgets(line, sizeof(line), fp)) {
        const char *p = strstr(line, " poll(s) ok");
        if (p != NULL) {
            while (p > line && p[-1] >= '0' && p[-1] <= '9')
                p--;
            polls = strtol(p, NULL, 10);
        }
    }
    if (fp)
        fclose(fp);
    return polls;
}

/* 1 once the daemon has written its first patch (start-up is over). */
static int first_write_done(const char *db)
{
    sqlite3 *con;
    sqlite3_stmt *st = NULL;
    int done = 0;

    if (sqlite3_open_v2(db, &con, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(con);
        return 0;
    }
    sqlite3_busy_timeout(con, 1000);
    if (sqlite3_prepare_v2(con, "SELECT count(*) FROM collectord_patch", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        done = sqlite3_column_int(st, 0) > 0;
    sqlite3_finalize(st);
    sqlite3_close(con);
    return done;
}

/* The daemon under callgrind until `seconds` after its first write. */
static int run(char *daemon, char *conf, const char *dir, double seconds, long long *ir,
               long *polls)
{
    char out[512], err[512], db[512], dash_c[] = "-c";
    char *argv[] = {daemon, dash_c, conf, NULL};
    pid_t pid;

    snprintf(out, sizeof(out), "%s/callgrind.%.0f.out", dir, seconds);
    snprintf(err, sizeof(err), "%s/daemon.%.0f.log", dir, seconds);
    snprintf(db, sizeof(db), "%s/inverter.db", dir);
    if (make_db(db) != 0)
        return -1;
    pid = bench_callgrind_start(argv, out, err);
    for (int i = 0; i < 1200 && pid > 0 && !first_write_done(db); i++)
        bench_sleep(0.05);
    bench_sleep(seconds);
    *ir = bench_callgrind_finish(pid, SIGTERM, out);
    *polls = polls_from_log(err);
    if (*ir <= 0 || *polls <= 0) {
        fprintf(stderr,
                "bench_poll: the daemon under callgrind gave %lld instructions, %ld polls "
                "(see %s)\n",
                *ir, *polls, err);
        return -1;
    }
    return 0;
}

int main(void)
{
    const char *src = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    const char *build = getenv("top_builddir") ? getenv("top_builddir") : ".";
    char dir[] = "/tmp/bench-poll-XXXXXX", conf[512], daemon[512], rm[600];
    long long ir1, ir2;
    long p1, p2;

    if (!bench_have_valgrind()) {
        fprintf(stderr, "bench_poll: no valgrind: instructions per poll not measured\n");
        return 0;
    }
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(conf, sizeof(conf), "%s/poll.conf", dir);
    snprintf(daemon, sizeof(daemon), "%s/core/collectord", build);
    if (write_conf(conf, src, dir) != 0 || run(daemon, conf, dir, SHORT_S, &ir1, &p1) != 0 ||
        run(daemon, conf, dir, LONG_S, &ir2, &p2) != 0)
        return 1;
    if (p2 - p1 < 20) {
        fprintf(stderr, "bench_poll: too few polls to compare (%ld and %ld)\n", p1, p2);
        return 1;
    }
    printf("{\"bench\": \"daemon_instructions_per_poll\", \"value\": %.0f, \"unit\": "
           "\"instructions\", \"polls\": [%ld, %ld]}\n",
           (double)(ir2 - ir1) / (double)(p2 - p1), p1, p2);
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    return system(rm) == 0 ? 0 : 1;
}

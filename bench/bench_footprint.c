/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: memory.
 *
 * The floor: this process links only libc and libsqlite3 (and what they pull
 * in); its peak RSS before and after writing one row to a SQLite file in WAL
 * mode with json_patch, as the sqlite sink does. Pages of shared libraries
 * count in RSS, so no process that writes inverter.db through libsqlite3 can
 * go below this figure on the machine it runs on.
 *
 * The README's demo: `collectord -c etc/demo.conf --once` (one replayed
 * battery, soc_lifepo4, sqlite_merge overlay onto one inverter row), its
 * peak RSS (the kernel's maxrss of the child).
 *
 * Then collectord itself, with the GLIBC_TUNABLES its systemd unit sets, 4
 * replayed batteries (0.1 s apart), soc_lifepo4, sqlite_merge with history
 * and mqtt to a local mosquitto with discovery, after 15 s: its peak RSS,
 * the pages that are its own (USS: private clean and dirty), its
 * proportional share of shared pages (PSS), and RssAnon. */
#include "config.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

static void figure(const char *name, long kb)
{
    printf("{\"bench\": \"%s\", \"value\": %ld, \"unit\": \"kB\"}\n", name, kb);
}

/* Run `sql` on the SQLite file dir/name: 0 or -1. */
static int run_sql(const char *dir, const char *name, const char *sql)
{
    char path[512];
    sqlite3 *db;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int floor_write(const char *dir)
{
    return run_sql(dir, "floor.db",
                   "PRAGMA journal_mode=WAL;"
                   "CREATE TABLE readings (id INTEGER PRIMARY KEY, ts TEXT, data TEXT);"
                   "INSERT INTO readings (ts, data) VALUES (datetime('now'), '{\"pv\": 512}');"
                   "UPDATE readings SET data = json_patch(data, '{\"battery_soc\": 46}')"
                   " WHERE id = (SELECT max(id) FROM readings);");
}

/* The demo as `make demo` runs it, in `dir` (etc/ linked to the sources,
 * an inverter.db with one row of eamoon's): the child's peak RSS, or -1. */
static long demo_peak_kb(const char *dir, const char *src, const char *build)
{
    char etc[600], plugins[600], daemon[600];
    char *asrc = realpath(src, NULL), *abuild = realpath(build, NULL);
    struct rusage ru;
    int status;
    pid_t pid;

    if (asrc == NULL || abuild == NULL) { /* the child runs in `dir` */
        free(asrc);
        free(abuild);
        return -1;
    }
    snprintf(etc, sizeof(etc), "%s/etc", asrc);
    snprintf(plugins, sizeof(plugins), "%s/plugins", abuild);
    snprintf(daemon, sizeof(daemon), "%s/core/collectord", abuild);
    free(asrc);
    free(abuild);
    if (run_sql(dir, "inverter.db",
                "CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at "
                "TEXT NOT NULL, payload TEXT, error TEXT);"
                "INSERT INTO readings (created_at, payload) VALUES (datetime('now'),"
                " '{\"battery_voltage\": \"52.6\", \"battery_soc\": \"87\"}');") != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        char link[600];
        snprintf(link, sizeof(link), "%s/etc", dir);
        if (symlink(etc, link) != 0 || chdir(dir) != 0 ||
            setenv("COLLECTOR_PLUGIN_PATH", plugins, 1) != 0 || freopen("/dev/null", "w", stderr) == NULL)
            _exit(126);
        execl(daemon, daemon, "-c", "etc/demo.conf", "--once", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* The value the systemd unit gives `name` (an Environment=NAME=value line of
 * etc/collectord.service.in) into out: 0, or -1 when it sets none. The daemon
 * is measured as the unit starts it. */
static int unit_env(const char *src, const char *name, char *out, size_t size)
{
    char path[600], line[512], prefix[128];
    FILE *fp;
    int found = -1;

    snprintf(path, sizeof(path), "%s/etc/collectord.service.in", src);
    snprintf(prefix, sizeof(prefix), "Environment=%s=", name);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (found < 0 && fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, size, "%s", line + strlen(prefix));
            found = 0;
        }
    }
    fclose(fp);
    return found;
}

static int write_conf(const char *path, const char *src, const char *dir, int port)
{
    static const char *const captures[] = {"jk_pb2a16s15p.hex", "jk_b2a24s20p.hex"};
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fprintf(fp, "collector = { state_dir = \"%s\"; log_level = \"warning\"; };\nsources = (\n", dir);
    for (int i = 1; i <= 4; i++)
        fprintf(fp,
                "  { plugin = \"jk_replay\"; name = \"battery%d\"; interval = 0.1; loop = true;"
                " file = \"%s/etc/demo/%s\"; address = \"C8:47:8C:00:00:0%d\"; }%s\n",
                i, src, captures[i % 2], i, i < 4 ? "," : "");
    fprintf(fp, ");\ncalculators = ( { plugin = \"soc_lifepo4\"; } );\n"
                "sinks = (\n"
                "  { plugin = \"sqlite_merge\"; path = \"%s/inverter.db\"; history = true; },\n"
                "  { plugin = \"mqtt\"; host = \"127.0.0.1\"; port = %d; discovery = true; }\n);\n",
            dir, port);
    fclose(fp);
    return 0;
}

int main(void)
{
    const char *src = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
    const char *build = getenv("top_builddir") ? getenv("top_builddir") : ".";
    char dir[] = "/tmp/bench-footprint-XXXXXX", conf[512], daemon[512], rm[600];
    char tunables[256] = "";
    int port = 20000 + (int)((getpid() + 7919) % 20000);
    pid_t broker, d;

    if (mkdtemp(dir) == NULL)
        return 1;
    figure("rss_floor_libc_sqlite_loaded_kb", bench_proc_kb(0, "status", "VmHWM"));
    if (floor_write(dir) != 0) {
        fprintf(stderr, "bench_footprint: cannot write %s/floor.db\n", dir);
        return 1;
    }
    figure("rss_floor_sqlite_write_kb", bench_proc_kb(0, "status", "VmHWM"));
    figure("demo_peak_rss_kb", demo_peak_kb(dir, src, build));

    snprintf(conf, sizeof(conf), "%s/footprint.conf", dir);
    snprintf(daemon, sizeof(daemon), "%s/core/collectord", build);
    if ((broker = bench_start_mosquitto(dir, port)) < 0 || write_conf(conf, src, dir, port) != 0)
        return 1;
    if (unit_env(src, "GLIBC_TUNABLES", tunables, sizeof(tunables)) == 0)
        fprintf(stderr, "bench_footprint: the daemon runs with the unit's GLIBC_TUNABLES=%s\n",
                tunables);
    d = fork();
    if (d == 0) {
        if (tunables[0] != '\0')
            setenv("GLIBC_TUNABLES", tunables, 1);
        execl(daemon, daemon, "-c", conf, "-f", (char *)NULL);
        _exit(127);
    }
    sleep(15);
    figure("daemon_peak_rss_kb", bench_proc_kb(d, "status", "VmHWM"));
    figure("daemon_rss_anon_kb", bench_proc_kb(d, "status", "RssAnon"));
    figure("daemon_uss_kb", bench_proc_kb(d, "smaps_rollup", "Private_Clean") +
                                bench_proc_kb(d, "smaps_rollup", "Private_Dirty"));
    figure("daemon_pss_kb", bench_proc_kb(d, "smaps_rollup", "Pss"));
    kill(d, SIGTERM);
    waitpid(d, NULL, 0);
    kill(broker, SIGTERM);
    waitpid(broker, NULL, 0);
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    return system(rm) == 0 ? 0 : 1;
}

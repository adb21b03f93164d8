/* SPDX-License-Identifier: GPL-2.0-or-later */
/* collectord: load the plugins a config names and run them until told to stop. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "core/conf.h"
#include "core/ctl.h"
#include "core/loader.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/runtime.h"
#include "core/setdefs.h"

#define CORE "collectord"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: collectord [-c FILE] [--check | --once] [-f] [-v]\n"
            "       collectord --describe PLUGIN [--man]\n"
            "       collectord ctl BATTERY [SWITCH on|off [--for DURATION] [--force]]\n"
            "  -c, --config FILE  configuration (default %s/collector.conf)\n"
            "      --check        validate everything, then exit (0 or 78); creates no file,\n"
            "                     opens no socket, starts no thread\n"
            "      --describe P   print plugin P's settings table (--man: as groff)\n"
            "      --once         poll every source once, run the pipeline, exit\n"
            "  -f, --foreground   stay in the foreground (always: use systemd Type=simple)\n"
            "  -v, --verbose      log debug messages\n"
            "      --version      print the version and the plugin ABI\n"
            "  -h, --help         this text\n"
            "Environment: COLLECTOR_PLUGIN_PATH (extra plugin directories, colon-separated),\n"
            "COLLECTOR_STATE_DIR (state files, when collector.state_dir is not set),\n"
            "COLLECTOR_CONTROL_SOCKET (when collector.control_socket is not set; \"\" for none),\n"
            "NOTIFY_SOCKET and WATCHDOG_USEC (set by systemd for Type=notify).\n",
            COLLECTOR_SYSCONF_DIR);
}

/* mkdir -p with mode 0750 for the missing parts. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -errno;
            buf[i] = c;
        }
    }
    return 0;
}

/* Warn when a config that holds a password can be read by other users. */
static void check_config_secrecy(const char *path)
{
    struct stat st;
    char line[1024];
    FILE *fp;
    int has_password = 0;

    if (stat(path, &st) != 0 || !(st.st_mode & S_IROTH))
        return;
    fp = fopen(path, "r");
    if (fp == NULL)
        return;
    while (!has_password && fgets(line, sizeof(line), fp) != NULL) {
        /* a `password = ...` setting anywhere on the line (not password_file) */
        for (const char *p = strstr(line, "password"); p != NULL && !has_password;
             p = strstr(p + 1, "password")) {
            const char *after = p + 8;
            int at_word = p == line || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'));
            after += strspn(after, " \t");
            has_password = at_word && (*after == '=' || *after == ':');
        }
    }
    fclose(fp);
    if (has_password)
        log_msg(CORE, COLLECTOR_LOG_WARNING,
                "%s holds a password and is readable by other users: chmod o-r %s (or use "
                "password_file)",
                path, path);
}

/* Load a config (and, unless --check, make its state directory). */
static int load(const char *path, uint32_t run_flags, int verbose, struct daemon_cfg **cfg_out)
{
    struct daemon_cfg *cfg = NULL;
    int rc = config_load(path, &cfg);

    if (rc < 0)
        return rc;
    log_set_level(verbose ? COLLECTOR_LOG_DEBUG : cfg->log_level);
    check_config_secrecy(path);
    if (!(run_flags & COLLECTOR_RUN_CHECK)) {
        rc = make_dirs(cfg->state_dir);
        if (rc < 0)
            log_msg(CORE, COLLECTOR_LOG_WARNING, "state directory %s: %s", cfg->state_dir,
                    strerror(-rc));
    }
    /* State files are written as root: the directory must be as trusted as
     * the plugins (--check checks it when it exists). */
    {
        struct stat st;
        char err[9300];
        if (stat(cfg->state_dir, &st) == 0 &&
            loader_check_trust_dir(cfg->state_dir, err, sizeof(err)) < 0) {
            log_msg(CORE, COLLECTOR_LOG_ERROR, "state_dir %s", err);
            config_free(cfg);
            return -EPERM;
        }
    }
    *cfg_out = cfg;
    return 0;
}

/* --describe: load one plugin (trust-checked like the daemon does) and print
 * its settings table. */
static int describe(const char *name, int man)
{
    const char *env = getenv("COLLECTOR_PLUGIN_PATH");
    char path[8192], file[4096], err[9300];
    struct loaded_plugin *lp = NULL;

    snprintf(path, sizeof(path), "%s%s%s", env ? env : "", env && *env ? ":" : "",
             COLLECTOR_PLUGIN_DIR);
    if (loader_find(name, path, file, sizeof(file)) < 0) {
        log_msg(CORE, COLLECTOR_LOG_ERROR, "plugin \"%s\": no %s.so in %s", name, name, path);
        return EX_CONFIG;
    }
    if (loader_open(file, 0, &lp, err, sizeof(err)) < 0) {
        log_msg(CORE, COLLECTOR_LOG_ERROR, "%s", err);
        return EX_CONFIG;
    }
    setdefs_describe(stdout, &lp->desc, man);
    loader_close(lp);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check", no_argument, NULL, 'C'},
        {"once", no_argument, NULL, 'o'},         {"foreground", no_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {"describe", required_argument, NULL, 'D'},
        {"man", no_argument, NULL, 'M'},          {NULL, 0, NULL, 0},
    };
    char default_path[4096];
    const char *path = NULL, *describe_name = NULL;
    int check = 0, once = 0, verbose = 0, man = 0, c;
    uint32_t run_flags;
    int64_t watchdog_ms;
    struct daemon_cfg *cfg = NULL;
    struct runtime *rt = NULL;
    sigset_t sigs;
    int status = 0;

    if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
        return ctl_main(argc - 1, argv + 1);
    while ((c = getopt_long(argc, argv, "c:fvh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'o':
            once = 1;
            break;
        case 'D':
            describe_name = optarg;
            break;
        case 'M':
            man = 1;
            break;
        case 'f':
            break;
        case 'v':
            verbose = 1;
            break;
        case 'V':
            printf("collectord %s (plugin ABI %u.%u)\n", PACKAGE_VERSION, COLLECTOR_ABI_MAJOR,
                   COLLECTOR_ABI_MINOR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (describe_name != NULL && optind == argc && !check && !once)
        return describe(describe_name, man);
    if (optind != argc || (check && once) || man || describe_name) {
        usage(stderr);
        return EX_USAGE;
    }
    if (path == NULL) {
        snprintf(default_path, sizeof(default_path), "%s/collector.conf", COLLECTOR_SYSCONF_DIR);
        path = default_path;
    }
    if (verbose)
        log_set_level(COLLECTOR_LOG_DEBUG);
    /* One thread per source would otherwise get its own malloc arena each:
     * a few small allocations per poll do not need them (peak RSS, make soak). */
    mallopt(M_ARENA_MAX, 2);

    /* Signals are taken synchronously by the main thread; every thread the
     * runtime starts inherits this mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    run_flags = check ? COLLECTOR_RUN_CHECK : once ? COLLECTOR_RUN_ONCE : 0;
    if (load(path, run_flags, verbose, &cfg) < 0)
        return EX_CONFIG;
    if (runtime_create(cfg, run_flags, &rt) < 0) {
        config_free(cfg);
        return EX_CONFIG;
    }
    if (check) {
        printf("%s: configuration OK, %zu instance(s)\n", path, runtime_count(rt));
        runtime_destroy(rt);
        config_free(cfg);
        return 0;
    }
    if (once) {
        status = runtime_once(rt);
        runtime_destroy(rt);
        config_free(cfg);
        return status;
    }
    if (runtime_start(rt) < 0) {
        runtime_destroy(rt);
        config_free(cfg);
        return EX_UNAVAILABLE;
    }
    notify_send("READY=1\nSTATUS=running");
    watchdog_ms = notify_watchdog_ms();
    for (;;) {
        siginfo_t si;
        struct timespec wait = {1, 0};
        int sig;

        if (watchdog_ms > 0) {
            /* Feed it at half its period, and only while no poll and no
             * record is stuck for longer than the period itself. */
            wait.tv_sec = (time_t)(watchdog_ms / 2000);
            wait.tv_nsec = (long)(watchdog_ms / 2 % 1000) * 1000000L;
        }
        sig = sigtimedwait(&sigs, &si, &wait);
        if (sig < 0) {
            if (watchdog_ms > 0 && runtime_healthy(rt, watchdog_ms))
                notify_send("WATCHDOG=1");
            continue; /* EAGAIN (the timeout) or EINTR */
        }
        if (sig == SIGHUP) {
            struct daemon_cfg *ncfg = NULL;
            log_msg(CORE, COLLECTOR_LOG_INFO, "SIGHUP: reloading %s", path);
            notify_reloading();
            if (load(path, 0, verbose, &ncfg) < 0 || runtime_reload(rt, ncfg) < 0) {
                if (ncfg != NULL && runtime_uses(rt, ncfg)) {
                    /* swapped, but an instance could not start: keep running */
                    config_free(cfg);
                    cfg = ncfg;
                } else {
                    config_free(ncfg);
                    log_set_level(verbose ? COLLECTOR_LOG_DEBUG : cfg->log_level);
                    log_msg(CORE, COLLECTOR_LOG_ERROR,
                            "reload failed: keeping the running configuration");
                }
                notify_send("READY=1\nSTATUS=running");
                continue;
            }
            config_free(cfg);
            cfg = ncfg;
            notify_send("READY=1\nSTATUS=running");
            continue;
        }
        log_msg(CORE, COLLECTOR_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    notify_send("STOPPING=1");
    runtime_destroy(rt);
    config_free(cfg);
    log_msg(CORE, COLLECTOR_LOG_INFO, "stopped");
    return status;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* collectord: load the plugins a config names and run them until told to stop. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "core/statefile.h"
#include "core/describe.h"
#include "core/names.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: collectord [-c FILE] [--check | --once] [-f] [-v]\n"
            "       collectord --describe PLUGIN|collector [--man]\n"
            "       collectord ctl BATTERY [SWITCH on|off [--for DURATION] [--force]]\n"
            "  -c, --config FILE  configuration (default %s/collector.conf)\n"
            "      --check        validate everything, then exit (0 or 78); creates no file,\n"
            "                     opens no socket, starts no thread\n"
            "      --describe P   print plugin P's settings table, or the daemon's own for\n"
            "                     P = collector (--man: as groff)\n"
            "      --once         poll every source once, run the pipeline, exit\n"
            "  -f, --foreground   stay in the foreground (always: use systemd Type=simple)\n"
            "  -v, --verbose      log debug messages\n"
            "      --version      print the version and the plugin ABI\n"
            "  -h, --help         this text\n"
            "Environment: COLLECTOR_PLUGIN_PATH (extra plugin directories, colon-separated),\n"
            "COLLECTOR_STATE_DIR (state files, when collector.state_dir is not set),\n"
            "COLLECTOR_CONTROL_SOCKET (when collector.control_socket is not set; \"\" for none),\n"
            "NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (set by systemd for Type=notify).\n",
            COLLECTOR_SYSCONF_DIR);
}

/* Load a config (and, unless --check, make its state directory). */
static int load(const char *path, uint32_t run_flags, int verbose, struct daemon_cfg **cfg_out)
{
    struct daemon_cfg *cfg = NULL;
    int rc = config_load(path, &cfg);

    if (rc < 0)
        return rc;
    log_set_level(verbose ? COLLECTOR_LOG_DEBUG : cfg->log_level);
    if (!(run_flags & COLLECTOR_RUN_CHECK)) {
        rc = statefile_make_dirs(cfg->state_dir, 0750);
        if (rc < 0)
            log_msg(LOG_CORE, COLLECTOR_LOG_WARNING, "state directory %s: %s", cfg->state_dir,
                    strerror(-rc));
    }
    /* State files are written as root: the directory must be as trusted as
     * the plugins (--check checks it when it exists). */
    {
        struct stat st;
        char err[LOG_ERR_MAX];
        if (stat(cfg->state_dir, &st) == 0 &&
            loader_check_trust_dir(cfg->state_dir, err, sizeof(err)) < 0) {
            log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "state_dir %s", err);
            config_free(cfg);
            return -EPERM;
        }
    }
    *cfg_out = cfg;
    return 0;
}

/* --describe: the host's own settings (`collector`), or one plugin's,
 * loaded trust-checked like the daemon does. The name is checked before
 * anything is looked up, so no path reaches dlopen. */
/* Not inlined: its 21 kB of buffers would sit in main's frame, below every
 * call the daemon makes, and each page of stack it touches stays resident. */
static __attribute__((noinline)) int describe(const char *name, int man)
{
    const char *env = getenv("COLLECTOR_PLUGIN_PATH");
    char path[CONF_PLUGIN_PATH_MAX], file[PATH_MAX], err[LOG_ERR_MAX];
    struct loaded_plugin *lp = NULL;

    if (strcmp(name, "collector") == 0) {
        describe_host(stdout, man);
        return 0;
    }
    if (!names_is_symbol(name)) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR,
                "--describe: \"%.64s\" is not a plugin name ([a-z0-9_]+, or collector)", name);
        return EX_USAGE;
    }
    snprintf(path, sizeof(path), "%s%s%s", env ? env : "", env && *env ? ":" : "",
             COLLECTOR_PLUGIN_DIR);
    if (loader_find(name, path, file, sizeof(file)) < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "plugin \"%s\": no %s.so in %s", name, name, path);
        return EX_CONFIG;
    }
    if (loader_open(file, 0, &lp, err, sizeof(err)) < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s", err);
        return EX_CONFIG;
    }
    describe_plugin(stdout, &lp->desc, man);
    loader_close(lp);
    return 0;
}

/*
 * A reload runs off the main thread: loading a config runs every plugin's
 * create(), which may wait on what a setting names, and the main thread
 * must go on answering SIGTERM meanwhile. The worker touches nothing the
 * running instances use (runtime_prepare), and says it is done with
 * SIGUSR1. Static: a worker abandoned at a stop still reaches it.
 */
static struct reload {
    pthread_t thread, main;
    const char *path;
    int verbose;
    int running;               /* main thread only: a worker exists */
    struct daemon_cfg *ncfg;   /* the worker's, until it is done */
    struct runtime_next *next;
    int rc;
    atomic_int done;
} reload;

static void *reload_main(void *arg)
{
    struct reload *r = arg;

    r->rc = load(r->path, 0, r->verbose, &r->ncfg);
    if (r->rc == 0)
        r->rc = runtime_prepare(r->next, r->ncfg);
    atomic_store(&r->done, 1);
    pthread_kill(r->main, SIGUSR1);
    return NULL;
}

static void reload_start(struct runtime *rt, const char *path, int verbose)
{
    int rc;

    if (reload.running) {
        log_msg(LOG_CORE, COLLECTOR_LOG_WARNING, "SIGHUP: a reload is still under way");
        return;
    }
    log_msg(LOG_CORE, COLLECTOR_LOG_INFO, "SIGHUP: reloading %s", path);
    notify_reloading();
    memset(&reload, 0, sizeof(reload));
    reload.main = pthread_self();
    reload.path = path;
    reload.verbose = verbose;
    rc = runtime_next_new(rt, &reload.next);
    if (rc == 0)
        rc = -pthread_create(&reload.thread, NULL, reload_main, &reload);
    if (rc < 0) {
        runtime_next_free(reload.next);
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "reload failed (%s): keeping the running "
                "configuration", strerror(-rc));
        notify_send("READY=1\nSTATUS=running");
        return;
    }
    reload.running = 1;
}

/* A stop during a reload: a worker already done is joined and its work
 * freed; one still loading is left to end with the process. */
static void reload_abandon(int sig)
{
    if (!reload.running)
        return;
    log_msg(LOG_CORE, COLLECTOR_LOG_WARNING,
            "%s during a reload: the new configuration is abandoned",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (!atomic_load(&reload.done))
        return;
    pthread_join(reload.thread, NULL);
    reload.running = 0;
    runtime_next_free(reload.next);
    config_free(reload.ncfg);
    reload.next = NULL;
    reload.ncfg = NULL;
}

/* The worker is done: switch to its config, or keep the running one. */
static void reload_finish(struct runtime *rt, struct daemon_cfg **cfg, int verbose)
{
    if (!reload.running || !atomic_load(&reload.done))
        return;
    pthread_join(reload.thread, NULL);
    reload.running = 0;
    if (reload.rc < 0) {
        runtime_next_free(reload.next);
        config_free(reload.ncfg);
        log_set_level(verbose ? COLLECTOR_LOG_DEBUG : (*cfg)->log_level);
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR,
                "reload failed: keeping the running configuration");
    } else {
        runtime_switch(rt, reload.next); /* runs from the new config now */
        config_free(*cfg);
        *cfg = reload.ncfg;
    }
    reload.next = NULL;
    reload.ncfg = NULL;
    notify_send("READY=1\nSTATUS=running");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {.name = "config", .has_arg = required_argument, .val = 'c'},
        {.name = "check", .has_arg = no_argument, .val = 'C'},
        {.name = "once", .has_arg = no_argument, .val = 'o'},
        {.name = "foreground", .has_arg = no_argument, .val = 'f'},
        {.name = "verbose", .has_arg = no_argument, .val = 'v'},
        {.name = "version", .has_arg = no_argument, .val = 'V'},
        {.name = "help", .has_arg = no_argument, .val = 'h'},
        {.name = "describe", .has_arg = required_argument, .val = 'D'},
        {.name = "man", .has_arg = no_argument, .val = 'M'},
        {.name = NULL},
    };
    char default_path[PATH_MAX];
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
     * a few small allocations per poll do not need them, and seldom meet on
     * the one lock (the unit also turns off the per-thread caches, tcache,
     * that would skip it). One arena, not two: the second held 40-130 kB of
     * holes of its own (make bench, RssAnon). */
    mallopt(M_ARENA_MAX, 1);

    /* Signals are taken synchronously by the main thread; every thread the
     * runtime starts inherits this mask. SIGHUP waits from the start (its
     * default would end the process). SIGTERM and SIGINT keep their default
     * while the config loads, so they end a load that waits on something;
     * they are blocked before any thread starts. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    signal(SIGPIPE, SIG_IGN);

    run_flags = check ? COLLECTOR_RUN_CHECK : once ? COLLECTOR_RUN_ONCE : 0;
    if (load(path, run_flags, verbose, &cfg) < 0)
        return EX_CONFIG;
    if (runtime_create(cfg, run_flags, &rt) < 0) {
        config_free(cfg);
        return EX_CONFIG;
    }
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
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
        int sig;

        if (watchdog_ms > 0) {
            /* Feed it at half its period, and only while no poll and no
             * record is stuck for longer than the period itself. */
            struct timespec wait = {(time_t)(watchdog_ms / 2000),
                                    (long)(watchdog_ms / 2 % 1000) * 1000000L};
            sig = sigtimedwait(&sigs, &si, &wait);
            if (sig < 0) {
                if (errno == EAGAIN && runtime_healthy(rt, watchdog_ms))
                    notify_send("WATCHDOG=1");
                continue;
            }
        } else {
            /* No watchdog: nothing to do until a signal comes (the source
             * threads sleep until their own next poll). */
            sig = sigwaitinfo(&sigs, &si);
            if (sig < 0)
                continue; /* EINTR */
        }
        if (sig == SIGHUP) {
            reload_start(rt, path, verbose);
            continue;
        }
        if (sig == SIGUSR1) {
            reload_finish(rt, &cfg, verbose);
            continue;
        }
        reload_abandon(sig);
        log_msg(LOG_CORE, COLLECTOR_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    notify_send("STOPPING=1");
    runtime_destroy(rt);
    /* A worker still loading is abandoned: it touches nothing of the
     * runtime or of `cfg`, and it ends with the process. */
    config_free(cfg);
    log_msg(LOG_CORE, COLLECTOR_LOG_INFO, "stopped");
    return status;
}

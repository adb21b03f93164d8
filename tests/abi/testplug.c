/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plugins for the daemon and ABI tests, one source built many ways:
 *   -DTP_COUNTER   source: emits {n, trail=""}; settings slow_ms (blocks, but
 *                  wakes on the stop fd), fail_after (polls that succeed)
 *   -DTP_TRAIL     calculator: appends its instance name to "trail"
 *   -DTP_FILESINK  sink: appends "source n trail" lines to `file`, buffered
 *                  until flush(); again = N answers -EAGAIN to the first N writes,
 *                  fail = true makes every write after those fail,
 *                  busy_every = N to every Nth write (a window full a moment),
 *                  latency = true appends the ms from the record's time to its write;
 *                  it declares a settings table: password is a SECRET, and
 *                  create_ms = N makes create() take N ms (a config load that waits),
 *                  fail_start = true makes start() fail
 *                  refuse = true takes every write and refuses them at flush()
 *                  (-EREMOTEIO, as a server that answers 404 does)
 *   -DTP_SWITCH    source (ABI 1.2) with commands charge, discharge, balancer
 *                  on a simulated switch: emits charge_switch, discharge_switch,
 *                  balancer_switch, charging_enabled, discharging_enabled.
 *                  `file` logs each command the "device" receives
 *                  ("NAME VALUE applied|kept"), and is replayed at create so
 *                  the device keeps its state across a daemon restart;
 *                  behaviour = "confirm" (default) | "keep" (acknowledges,
 *                  keeps the old state: not confirmed) | "refuse" (command()
 *                  fails) | "silent" (never reports an outcome); gate = PATH: command() waits (≤ 20 s) until PATH
 *                  exists; flip_at = N: at poll N the `flip` switch (default
 *                  "charge") changes by itself (the phone app, a protection);
 *                  fail_after as for TP_COUNTER
 *   -DTP_EVIL      also a constructor that creates $TP_EVIL_MARK (trust tests)
 * and broken ones: TP_MAJOR/TP_MINOR override the ABI numbers, TP_SHORT
 * shrinks struct_size, TP_NULL returns NULL, TP_NO_ENTRY exports nothing. */
#include "config.h" /* first, as everywhere: a reconfigure with other flags rebuilds it */

#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <collector/plugin.h>

#ifndef TP_NAME
#error TP_NAME must be defined
#endif
#define TP_STR2(x) #x
#define TP_STR(x) TP_STR2(x)

#ifdef TP_EVIL
/* What a hostile plugin does first: its constructor runs as soon as the
 * file is mapped, before any ABI check. It leaves a mark the test looks for. */
__attribute__((constructor)) static void tp_evil(void)
{
    const char *mark = getenv("TP_EVIL_MARK");
    FILE *fp = mark ? fopen(mark, "w") : NULL;
    if (fp != NULL)
        fclose(fp);
}
#endif

struct tp {
    const struct collector_host_api *api;
    collector_host *host;
    long long n;
    long long slow_ms;
    long long fail_after;
    long long again; /* sink: answer -EAGAIN this many times first */
    long long busy_every, writes; /* sink: -EAGAIN to every busy_every-th write */
    int latency;                  /* sink: append the record's age at write, ms */
    int refuse;                   /* sink: drop what was written at flush, -EREMOTEIO */
    int fail;
    int fail_start; /* sink: start() fails (-EIO) */
    int sw[3];               /* TP_SWITCH: charge, discharge, balancer */
    char behaviour[16], flip[16];
    char *gate;
    long long flip_at, polls;
    FILE *out;
    char *path;
    char *buf;
    size_t buflen;
};

#ifdef TP_SWITCH
static const char *const tp_switches[] = {"charge", "discharge", "balancer"};

static int tp_index(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(tp_switches[i], name) == 0)
            return i;
    return -1;
}

static void tp_apply(struct tp *t, const char *name, const char *value)
{
    int i = tp_index(name);
    if (i >= 0)
        t->sw[i] = strcmp(value, "on") == 0;
}
#endif

static int tp_create(const struct collector_host_api *api, collector_host *host,
                     const collector_settings *s, void **state_out)
{
    struct tp *t = calloc(1, sizeof(*t));
    int64_t v;
    const char *file;

    if (t == NULL)
        return -ENOMEM;
    t->api = api;
    t->host = host;
    t->fail_after = -1;
    if (api->setting_int(s, "slow_ms", &v) == 0)
        t->slow_ms = v;
    if (api->setting_int(s, "fail_after", &v) == 0)
        t->fail_after = v;
    if (api->setting_int(s, "again", &v) == 0)
        t->again = v;
    if (api->setting_int(s, "busy_every", &v) == 0)
        t->busy_every = v;
    if (api->setting_int(s, "create_ms", &v) == 0 && v > 0) {
        struct timespec ts = {(time_t)(v / 1000), (long)(v % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    api->setting_bool(s, "fail", &t->fail);
    api->setting_bool(s, "fail_start", &t->fail_start);
    api->setting_bool(s, "refuse", &t->refuse);
#ifdef TP_SWITCH
    {
        const char *b = "confirm", *g = NULL, *f = "charge";
        t->sw[0] = t->sw[1] = t->sw[2] = 1;
        api->setting_string(s, "behaviour", &b);
        api->setting_string(s, "flip", &f);
        snprintf(t->behaviour, sizeof(t->behaviour), "%s", b);
        snprintf(t->flip, sizeof(t->flip), "%s", f);
        if (api->setting_string(s, "gate", &g) == 0)
            t->gate = strdup(g);
        if (api->setting_int(s, "flip_at", &v) == 0)
            t->flip_at = v;
    }
#endif
    api->setting_bool(s, "latency", &t->latency);
#ifdef TP_SWITCH
    if (api->setting_string(s, "file", &file) == 0) {
        /* the device's memory: replay what it applied */
        FILE *fp = fopen(file, "r");
        char name[32], value[8], result[16];
        t->path = strdup(file);
        while (fp != NULL && fscanf(fp, "%31s %7s %15s", name, value, result) == 3)
            if (strcmp(result, "applied") == 0)
                tp_apply(t, name, value);
        if (fp != NULL)
            fclose(fp);
    }
#else
    if (api->setting_string(s, "file", &file) == 0) {
        /* lines are buffered here and go to the file on flush() */
        t->out = open_memstream(&t->buf, &t->buflen);
        t->path = strdup(file);
    }
#endif
    *state_out = t;
    return 0;
}

static void tp_destroy(void *state)
{
    struct tp *t = state;
#ifdef TP_FILESINK
    if (t->out != NULL)
        fclose(t->out);
    free(t->buf);
#endif
    free(t->path);
#ifdef TP_SWITCH
    free(t->gate);
#endif
    free(t);
}

#ifdef TP_COUNTER
static int tp_poll(void *state)
{
    struct tp *t = state;
    collector_record *rec;
    int rc;

    if (t->slow_ms > 0) {
        struct pollfd p = {t->api->stop_fd(t->host), POLLIN, 0};
        poll(&p, 1, (int)t->slow_ms); /* a blocking "connect" that honours stop */
        if (t->api->is_stopping(t->host))
            return -ECANCELED;
    }
    if (t->fail_after >= 0 && t->n >= t->fail_after)
        return -EIO;
    rc = t->api->record_new(t->host, &rec);
    if (rc < 0)
        return rc;
    t->api->set_int(rec, "n", ++t->n);
    t->api->set_string(rec, "trail", "");
    return t->api->emit(t->host, rec);
}
#endif

#ifdef TP_SWITCH
static int tp_poll(void *state)
{
    struct tp *t = state;
    collector_record *rec;
    int rc;

    if (t->fail_after >= 0 && t->n >= t->fail_after)
        return -EIO; /* the BMS went away: its last record grows stale */
    if (t->flip_at > 0 && ++t->polls == t->flip_at && tp_index(t->flip) >= 0)
        t->sw[tp_index(t->flip)] ^= 1; /* by itself: no command */
    rc = t->api->record_new(t->host, &rec);
    if (rc < 0)
        return rc;
    t->api->set_int(rec, "n", ++t->n);
    t->api->set_string(rec, "trail", "");
    t->api->set_bool(rec, "charge_switch", t->sw[0]);
    t->api->set_bool(rec, "discharge_switch", t->sw[1]);
    t->api->set_bool(rec, "balancer_switch", t->sw[2]);
    t->api->set_bool(rec, "charging_enabled", t->sw[0]);
    t->api->set_bool(rec, "discharging_enabled", t->sw[1]);
    return t->api->emit(t->host, rec);
}

static int tp_command(void *state, const struct collector_command *cmd)
{
    struct tp *t = state;
    int i = tp_index(cmd->name), keep = strcmp(t->behaviour, "keep") == 0;
    char detail[128];
    FILE *fp;

    if (strcmp(t->behaviour, "refuse") == 0)
        return -EOPNOTSUPP;
    if (strcmp(t->behaviour, "silent") == 0)
        return 0; /* the host's time limit ends it */
    for (int w = 0; t->gate != NULL && access(t->gate, F_OK) != 0 && w < 200; w++) {
        struct pollfd p = {t->api->stop_fd(t->host), POLLIN, 0};
        poll(&p, 1, 100); /* a slow device: the next command waits its turn */
    }
    if (i < 0)
        return -EINVAL;
    fp = t->path ? fopen(t->path, "a") : NULL;
    if (fp != NULL) {
        fprintf(fp, "%s %s %s\n", cmd->name, cmd->value, keep ? "kept" : "applied");
        fclose(fp);
    }
    if (!keep)
        tp_apply(t, cmd->name, cmd->value);
    snprintf(detail, sizeof(detail), "the device reports %s_switch %s", cmd->name,
             t->sw[i] ? "on" : "off");
    t->api->command_done(t->host, cmd->id,
                         (t->sw[i] != 0) == (strcmp(cmd->value, "on") == 0)
                             ? COLLECTOR_OUTCOME_CONFIRMED
                             : COLLECTOR_OUTCOME_NOT_CONFIRMED,
                         detail);
    return 0;
}

static const struct collector_command_def tp_commands[] = {
    {"charge", COLLECTOR_SETTING_BOOL, "the simulated charge switch"},
    {"discharge", COLLECTOR_SETTING_BOOL, "the simulated discharge switch"},
    {"balancer", COLLECTOR_SETTING_BOOL, "the simulated balancer"},
    {NULL, 0, NULL},
};
#endif

#ifdef TP_TRAIL
static int tp_process(void *state, collector_record *rec)
{
    struct tp *t = state;
    const char *trail = "";
    char buf[512];

    t->api->get_string(rec, "trail", &trail);
    snprintf(buf, sizeof(buf), "%s%s%s", trail, trail[0] ? "," : "",
             t->api->instance_name(t->host));
    return t->api->set_string(rec, "trail", buf);
}
#endif

#ifdef TP_FILESINK
static int tp_write(void *state, const collector_record *rec)
{
    struct tp *t = state;
    int64_t n = -1;
    const char *trail = "";

    if (t->again > 0) {
        t->again--;
        return -EAGAIN;
    }
    if (t->fail)
        return -EIO;
    if (t->busy_every > 0 && ++t->writes % t->busy_every == 0)
        return -EAGAIN;
#ifdef COLLECTOR_RECORD_EVENT
    /* ABI 1.2: a command's outcome arrives as an event */
    if (t->api->struct_size >= COLLECTOR_API_HAS(record_kind) &&
        t->api->record_kind(rec) == COLLECTOR_RECORD_EVENT) {
        const char *c = "", *v = "", *o = "";
        t->api->get_string(rec, "command", &c);
        t->api->get_string(rec, "requested", &v);
        t->api->get_string(rec, "outcome", &o);
        t->api->get_string(rec, "trail", &trail); /* the calculators it went through */
        fprintf(t->out, "%s event %s %s %s [%s]\n", t->api->record_source(rec), c, v, o, trail);
        return 0;
    }
#endif
    t->api->get_int(rec, "n", &n);
    t->api->get_string(rec, "trail", &trail);
    if (t->latency)
        fprintf(t->out, "%s %lld %s %lld\n", t->api->record_source(rec), (long long)n, trail,
                (long long)((t->api->time_ns(t->host, COLLECTOR_CLOCK_REALTIME) -
                             t->api->record_time_ns(rec)) / 1000000));
    else
        fprintf(t->out, "%s %lld %s\n", t->api->record_source(rec), (long long)n, trail);
    return 0;
}

#if COLLECTOR_ABI_MINOR >= 1 /* a sink built against the frozen 1.0 header has no start() */
static int tp_start(void *state)
{
    const struct tp *t = state;

    return t->fail_start ? -EIO : 0;
}
#endif

static int tp_flush(void *state)
{
    struct tp *t = state;
    FILE *fp;

    if (t->out == NULL)
        return 0;
    fflush(t->out);
    if (t->buflen == 0)
        return 0;
    if (t->refuse) {
        rewind(t->out); /* dropped, as a server refusing the batch */
        return -EREMOTEIO;
    }
    fp = fopen(t->path, "a");
    if (fp == NULL)
        return -errno;
    fwrite(t->buf, 1, t->buflen, fp);
    fclose(fp);
    /* start a new buffer */
    fclose(t->out);
    free(t->buf);
    t->buf = NULL;
    t->buflen = 0;
    t->out = open_memstream(&t->buf, &t->buflen);
    return 0;
}
#endif

static const char *const tp_settings[] = {"slow_ms", "fail_after", "file", "fail", "again",
                                          "busy_every", "latency", "refuse", "password", "create_ms",
                                          "fail_start", "behaviour", "gate", "flip_at", "flip",
                                          NULL};
#if defined(TP_FILESINK) && COLLECTOR_ABI_MINOR >= 1
static const struct collector_setting_def tp_defs[] = {
    {.name = "slow_ms", .type = COLLECTOR_SETTING_INT},
    {.name = "fail_after", .type = COLLECTOR_SETTING_INT},
    {.name = "file", .type = COLLECTOR_SETTING_STRING},
    {.name = "fail", .type = COLLECTOR_SETTING_BOOL},
    {.name = "again", .type = COLLECTOR_SETTING_INT},
    {.name = "busy_every", .type = COLLECTOR_SETTING_INT},
    {.name = "latency", .type = COLLECTOR_SETTING_BOOL},
    {.name = "refuse", .type = COLLECTOR_SETTING_BOOL},
    {.name = "password", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_SECRET},
    {.name = "create_ms", .type = COLLECTOR_SETTING_INT},
    {.name = "fail_start", .type = COLLECTOR_SETTING_BOOL},
    {.name = NULL},
};
#endif

static const struct collector_plugin tp_plugin = {
#ifdef TP_MAJOR
    .abi_major = TP_MAJOR,
#else
    .abi_major = COLLECTOR_ABI_MAJOR,
#endif
#ifdef TP_MINOR
    .abi_minor = TP_MINOR,
#else
    .abi_minor = COLLECTOR_ABI_MINOR,
#endif
#ifdef TP_SHORT
    .struct_size = 12,
#else
    .struct_size = (uint32_t)sizeof(struct collector_plugin),
#endif
    .name = TP_STR(TP_NAME),
    .version = "test",
    .settings = tp_settings,
    .create = tp_create,
    .destroy = tp_destroy,
#if defined(TP_SWITCH)
    .kind = COLLECTOR_KIND_SOURCE,
    .poll = tp_poll,
    .commands = tp_commands,
    .command = tp_command,
#elif defined(TP_COUNTER)
    .kind = COLLECTOR_KIND_SOURCE,
    .poll = tp_poll,
#elif defined(TP_TRAIL)
    .kind = COLLECTOR_KIND_CALCULATOR,
    .process = tp_process,
#ifdef COLLECTOR_PLUGIN_EVENTS
    .flags = COLLECTOR_PLUGIN_EVENTS,
#endif
#elif defined(TP_FILESINK)
    .kind = COLLECTOR_KIND_SINK,
#if COLLECTOR_ABI_MINOR >= 1
    .setting_defs = tp_defs,
    .start = tp_start,
#endif
#ifdef COLLECTOR_PLUGIN_EVENTS
    .flags = COLLECTOR_PLUGIN_EVENTS,
#endif
    .write = tp_write,
    .flush = tp_flush,
#endif
};

#ifndef TP_NO_ENTRY
COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
#ifdef TP_NULL
    return tp_plugin.kind ? NULL : NULL; /* a plugin that forgot its descriptor */
#else
    return &tp_plugin;
#endif
}
#else
/* Something else exported, so the file is a valid shared object. */
COLLECTOR_EXPORT int not_a_collector_plugin(void);
COLLECTOR_EXPORT int not_a_collector_plugin(void)
{
    return tp_plugin.kind == 0;
}
#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "testhost.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "core/fresh.h"
#include "core/hostapi.h"
#include "core/loader.h"
#include "core/record.h"
#include "core/setdefs.h"
#include "core/settings.h"

struct testhost {
    struct loaded_plugin *plugin;
    struct collector_host host;
    config_t cfg;
    int cfg_ready;
    void *state;
    int created, started;
    collector_record **records;
    size_t nrecords, caprecords;
    const collector_record *current; /* the record inside process(), or NULL */
    struct fresh_book *book; /* records seen, as the pipeline notes them */
    char *log;
    size_t loglen, logcap;
    char state_dir[256];
    int own_state_dir;
    pthread_mutex_t outcome_lock; /* command_done records into outcomes */
    size_t noutcomes;
    struct {
        uint64_t id;
        uint32_t outcome;
        char detail[512];
    } outcomes[TESTHOST_MAX_OUTCOMES];
};

/* The host's table with command_done recording: one for the process, so a
 * pointer from testhost_api() outlives the testhost it came from. */
static struct collector_host_api recording_api;
static pthread_once_t recording_once = PTHREAD_ONCE_INIT;

static void record_command_done(collector_host *host, uint64_t id, uint32_t outcome,
                                const char *detail);

static void recording_init(void)
{
    recording_api = *hostapi_table();
    recording_api.command_done = record_command_done;
}

static struct testhost *testhost_of(collector_host *host)
{
    return (struct testhost *)(void *)((char *)host - offsetof(struct testhost, host));
}

static void record_command_done(collector_host *host, uint64_t id, uint32_t outcome,
                                const char *detail)
{
    struct testhost *t = testhost_of(host);

    pthread_mutex_lock(&t->outcome_lock);
    if (t->noutcomes < TESTHOST_MAX_OUTCOMES) {
        t->outcomes[t->noutcomes].id = id;
        t->outcomes[t->noutcomes].outcome = outcome;
        snprintf(t->outcomes[t->noutcomes].detail, sizeof(t->outcomes[0].detail), "%s",
                 detail ? detail : "");
        t->noutcomes++;
    }
    pthread_mutex_unlock(&t->outcome_lock);
}

static char last_log[4096];

static void append_log(struct testhost *t, int level, const char *message)
{
    char line[2200];
    int n = snprintf(line, sizeof(line), "%s %s\n", level == COLLECTOR_LOG_ERROR ? "ERROR"
                                                    : level == COLLECTOR_LOG_WARNING ? "WARNING"
                                                    : level == COLLECTOR_LOG_DEBUG   ? "DEBUG"
                                                                                     : "INFO",
                     message);
    size_t len;

    if (n < 0)
        return;
    len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (t->loglen + len + 1 > t->logcap) {
        size_t cap = (t->logcap ? t->logcap * 2 : 4096) + len;
        char *grown = realloc(t->log, cap);
        if (grown == NULL)
            return;
        t->log = grown;
        t->logcap = cap;
    }
    memcpy(t->log + t->loglen, line, len);
    t->loglen += len;
    t->log[t->loglen] = '\0';
}

static void on_log(void *ctx, int level, const char *message)
{
    append_log(ctx, level, message);
}

static int on_emit(void *ctx, struct collector_host *host, collector_record *rec)
{
    struct testhost *t = ctx;
    (void)host;

    /* as the pipeline does: a record a calculator makes carries the
     * interval of the record it was processing */
    if (t->current != NULL)
        record_set_interval_ms(rec, record_interval_ms(t->current));
    (void)fresh_book_note(t->book, rec);
    if (t->nrecords == t->caprecords) {
        size_t cap = t->caprecords ? t->caprecords * 2 : 16;
        collector_record **grown = realloc(t->records, cap * sizeof(*grown));
        if (grown == NULL) {
            record_free(rec);
            return -ENOMEM;
        }
        t->records = grown;
        t->caprecords = cap;
    }
    t->records[t->nrecords++] = rec;
    return 0;
}

static void fail_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof(last_log), fmt, ap);
    va_end(ap);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int testhost_open_ex(const char *name, const char *instance, int64_t interval_ms,
                     const char *settings_text, struct testhost **out)
{
    return testhost_open_flags(name, instance, interval_ms, settings_text, 0, out);
}

int testhost_open_flags(const char *name, const char *instance, int64_t interval_ms,
                        const char *settings_text, unsigned flags, struct testhost **out)
{
    struct testhost *t;
    const char *path = getenv("COLLECTOR_PLUGIN_PATH");
    const char *state = getenv("COLLECTOR_STATE_DIR");
    char file[4096], err[9300];
    char *text = NULL;
    config_setting_t *group;
    int rc;

    *out = NULL;
    last_log[0] = '\0';
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->host.stop_pipe[0] = t->host.stop_pipe[1] = -1;
    pthread_once(&recording_once, recording_init);
    pthread_mutex_init(&t->outcome_lock, NULL);

    rc = loader_find(name, path ? path : ".", file, sizeof(file));
    if (rc < 0) {
        fail_log("plugin %s not found in COLLECTOR_PLUGIN_PATH=%s", name, path ? path : "");
        goto fail;
    }
    rc = loader_open(file, 0, &t->plugin, err, sizeof(err));
    if (rc < 0) {
        fail_log("%s", err);
        goto fail;
    }

    config_init(&t->cfg);
    t->cfg_ready = 1;
    if (asprintf(&text, "instance = {\n%s\n};\n", settings_text ? settings_text : "") < 0) {
        text = NULL;
        rc = -ENOMEM;
        goto fail;
    }
    if (config_read_string(&t->cfg, text) != CONFIG_TRUE) {
        fail_log("settings line %d: %s", config_error_line(&t->cfg) - 1,
                 config_error_text(&t->cfg));
        rc = -EINVAL;
        goto fail;
    }
    group = config_lookup(&t->cfg, "instance");
    rc = setdefs_apply(group, &t->plugin->desc, instance ? instance : name, err, sizeof(err));
    if (rc < 0) {
        fail_log("%s", err);
        goto fail;
    }

    if (state != NULL && *state != '\0') {
        snprintf(t->state_dir, sizeof(t->state_dir), "%s", state);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(t->state_dir, sizeof(t->state_dir), "%s/testhost-XXXXXX", tmp ? tmp : "/tmp");
        if (mkdtemp(t->state_dir) == NULL) {
            rc = -errno;
            fail_log("mkdtemp: %s", strerror(errno));
            goto fail;
        }
        t->own_state_dir = 1;
    }

    rc = host_init(&t->host, instance ? instance : name, interval_ms, t->state_dir);
    if (rc < 0)
        goto fail;
    rc = fresh_book_new(&t->book);
    if (rc < 0)
        goto fail;
    t->host.book = t->book;
    t->host.fallback_interval_ms = TESTHOST_COLLECTOR_INTERVAL_MS;
    t->host.emit = on_emit;
    t->host.emit_ctx = t;
    t->host.log_hook = on_log;
    t->host.log_ctx = t;
    t->host.run_flags = (flags & TESTHOST_NO_START) ? COLLECTOR_RUN_CHECK : 0;

    rc = t->plugin->desc.create(&recording_api, &t->host, settings_wrap(group), &t->state);
    if (rc != 0) {
        fail_log("%s", t->log ? t->log : "create failed");
        if (rc > 0)
            rc = -EINVAL;
        goto fail;
    }
    t->created = 1;
    if (!(flags & TESTHOST_NO_START) && (rc = testhost_start(t)) != 0) {
        fail_log("%s", t->log ? t->log : "start failed");
        goto fail;
    }
    free(text);
    *out = t;
    return 0;
fail:
    free(text);
    testhost_close(t);
    return rc < 0 ? rc : -EINVAL;
}

int testhost_open(const char *name, const char *settings_text, struct testhost **out)
{
    return testhost_open_ex(name, name, 30000, settings_text, out);
}

int testhost_start(struct testhost *t)
{
    int rc = 0;

    if (t->started)
        return 0;
    if (t->plugin->desc.start != NULL)
        rc = t->plugin->desc.start(t->state);
    if (rc == 0)
        t->started = 1;
    return rc;
}

void testhost_stop(struct testhost *t)
{
    if (t->started && t->plugin->desc.stop != NULL)
        t->plugin->desc.stop(t->state);
    t->started = 0;
}

void testhost_close(struct testhost *t)
{
    if (t == NULL)
        return;
    if (t->created)
        testhost_stop(t);
    if (t->created && t->plugin->desc.destroy)
        t->plugin->desc.destroy(t->state);
    testhost_clear_records(t);
    free(t->records);
    host_fini(&t->host);
    fresh_book_free(t->book);
    if (t->cfg_ready)
        config_destroy(&t->cfg);
    loader_close(t->plugin);
    if (t->own_state_dir)
        nftw(t->state_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t->log);
    pthread_mutex_destroy(&t->outcome_lock);
    free(t);
}

/* One table for every testhost: command_done records into the testhost of
 * the host handle it is given, so a test may keep `api` across
 * testhost_close and pass NULL. */
const struct collector_host_api *testhost_api(const struct testhost *t)
{
    (void)t;
    pthread_once(&recording_once, recording_init);
    return &recording_api;
}

collector_host *testhost_handle(struct testhost *t)
{
    return &t->host;
}

int testhost_poll(struct testhost *t)
{
    return t->plugin->desc.poll ? t->plugin->desc.poll(t->state) : -ENOTSUP;
}

int testhost_process(struct testhost *t, collector_record *rec)
{
    int rc;

    if (t->plugin->desc.process == NULL)
        return -ENOTSUP;
    (void)fresh_book_note(t->book, rec);
    if (!loader_takes_kind(t->plugin, record_kind(rec)))
        return 0; /* as the pipeline does: not given to this plugin */
    t->current = rec;
    rc = t->plugin->desc.process(t->state, rec);
    t->current = NULL;
    return rc;
}

int testhost_vet_command(struct testhost *t, const struct collector_command *cmd, char *reason,
                         size_t size)
{
    if (t->plugin->desc.abi_minor < 2 || t->plugin->desc.vet_command == NULL)
        return -ENOTSUP;
    return t->plugin->desc.vet_command(t->state, cmd, reason, size);
}

int testhost_write(struct testhost *t, const collector_record *rec)
{
    if (t->plugin->desc.write == NULL)
        return -ENOTSUP;
    (void)fresh_book_note(t->book, rec);
    if (!loader_takes_kind(t->plugin, record_kind(rec)))
        return 0; /* as the pipeline does: not given to this plugin */
    return t->plugin->desc.write(t->state, rec);
}

int testhost_flush(struct testhost *t)
{
    return t->plugin->desc.flush ? t->plugin->desc.flush(t->state) : 0;
}

size_t testhost_record_count(const struct testhost *t)
{
    return t->nrecords;
}

const collector_record *testhost_record(const struct testhost *t, size_t i)
{
    return i < t->nrecords ? t->records[i] : NULL;
}

void testhost_clear_records(struct testhost *t)
{
    for (size_t i = 0; i < t->nrecords; i++)
        record_free(t->records[i]);
    t->nrecords = 0;
}

collector_record *testhost_record_new(struct testhost *t)
{
    collector_record *rec = NULL;

    if (hostapi_table()->record_new(&t->host, &rec) < 0)
        return NULL;
    return rec;
}

void testhost_record_free(collector_record *rec)
{
    record_free(rec);
}

const char *testhost_log(const struct testhost *t)
{
    return t->log ? t->log : "";
}

const char *testhost_last_log(void)
{
    return last_log;
}

void testhost_request_stop(struct testhost *t)
{
    host_request_stop(&t->host);
}

int testhost_command(struct testhost *t, const struct collector_command *cmd)
{
    if (t->plugin->desc.struct_size < offsetof(struct collector_plugin, command) +
                                          sizeof(t->plugin->desc.command) ||
        t->plugin->desc.command == NULL)
        return -ENOTSUP;
    return t->plugin->desc.command(t->state, cmd);
}

size_t testhost_outcome_count(struct testhost *t)
{
    size_t n;

    pthread_mutex_lock(&t->outcome_lock);
    n = t->noutcomes;
    pthread_mutex_unlock(&t->outcome_lock);
    return n;
}

int testhost_outcome(struct testhost *t, size_t i, uint64_t *id, uint32_t *outcome,
                     const char **detail)
{
    int rc = -ENOENT;

    pthread_mutex_lock(&t->outcome_lock);
    if (i < t->noutcomes) {
        *id = t->outcomes[i].id;
        *outcome = t->outcomes[i].outcome;
        *detail = t->outcomes[i].detail;
        rc = 0;
    }
    pthread_mutex_unlock(&t->outcome_lock);
    return rc;
}

int testhost_command_to(struct testhost *t, uint64_t id, const char *name, const char *value)
{
    struct collector_command cmd = {
        .struct_size = sizeof(cmd), .id = id, .target = t->host.name, .name = name,
        .value = value, .origin = "cli",
    };
    return testhost_command(t, &cmd);
}

int testhost_outcome_is(struct testhost *t, size_t i, uint64_t id, uint32_t outcome,
                        const char *detail_has)
{
    uint64_t got_id = 0;
    uint32_t got = 0;
    const char *detail = "";
    int rc = testhost_outcome(t, i, &got_id, &got, &detail);

    if (rc == 0 && got_id == id && got == outcome && strstr(detail, detail_has) != NULL)
        return 1;
    fprintf(stderr, "# outcome %zu: %s id %llu, %u \"%s\"; want id %llu, %u, with \"%s\"\n%s", i,
            rc < 0 ? "none;" : "", (unsigned long long)got_id, got, detail,
            (unsigned long long)id, outcome, detail_has, testhost_log(t));
    return 0;
}

int testhost_record_bool(const struct testhost *t, size_t i, const char *name)
{
    int v;

    if (i >= t->nrecords || hostapi_table()->get_bool(t->records[i], name, &v) < 0)
        return -1;
    return v;
}

int testhost_file_has_line(const char *path, const char *line)
{
    char buf[512];
    FILE *fp = fopen(path, "r");
    int found = 0;

    if (fp == NULL)
        return 0;
    while (!found && fgets(buf, sizeof(buf), fp) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        found = strcmp(buf, line) == 0;
    }
    fclose(fp);
    return found;
}

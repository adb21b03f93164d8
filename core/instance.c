/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/instance.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/record.h"
#include "core/fingerprint.h"
#include "core/setdefs.h"
#include "core/settings.h"

#define INTERVAL_FLOOR_MS 1000

struct instance *instance_of(struct collector_host *host)
{
    return (struct instance *)(void *)((char *)host - offsetof(struct instance, host));
}

/* The shortest interval a source may have: what the plugin declares, else
 * the host's floor. COLLECTOR_INTERVAL_FLOOR_MS lowers the host's floor for
 * test suites that poll simulated devices fast; never set it in production. */
static int64_t interval_floor_ms(const struct loaded_plugin *lp)
{
    const char *env = getenv("COLLECTOR_INTERVAL_FLOOR_MS");
    int64_t floor = INTERVAL_FLOOR_MS;

    if (env != NULL && *env != '\0') {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (*end == '\0' && v > 0 && v < floor)
            floor = v;
    }
    if (lp->desc.min_interval_ms > 0 && (int64_t)lp->desc.min_interval_ms < floor)
        floor = lp->desc.min_interval_ms;
    return floor;
}

static char *make_fingerprint(const struct instance *in, const config_setting_t *group)
{
    char *settings = fingerprint_group(group), *fp = NULL;

    if (settings != NULL &&
        asprintf(&fp, "%s|%u|%lld|%s", in->plugin, (unsigned)in->kind, (long long)in->interval_ms,
                 settings) < 0)
        fp = NULL;
    free(settings);
    return fp;
}

/* A secret written into a file others may read: say so, once per instance
 * (the SECRET flag decides what is a secret, not the word "password"). */
static void warn_readable_secret(const struct instance_cfg *ic, const struct loaded_plugin *lp)
{
    const config_setting_t *m = NULL;
    const char *file;
    struct stat st;

    if (!setdefs_literal_secret(ic->group, lp->desc.setting_defs, &m))
        return;
    file = config_setting_source_file(m);
    if (file == NULL || stat(file, &st) != 0 || !(st.st_mode & S_IROTH))
        return;
    log_msg(LOG_CORE, COLLECTOR_LOG_WARNING,
            "%s:%u: %s: %s is a secret, and %s is readable by other users: chmod o-r %s (or "
            "give it through a file or ${VARIABLE})",
            file, config_setting_source_line(m), ic->name, config_setting_name(m), file, file);
}

/* The commands the instance allows: `control = ("charge", "balancer");`,
 * each one the plugin offers (ABI 1.2 `commands`). Sources only; default none. */
static int read_control(const struct instance_cfg *ic, struct instance *in)
{
    const config_setting_t *m = config_setting_get_member(ic->group, "control");
    const struct collector_command_def *defs = NULL;
    unsigned line;
    int n;

    if (m == NULL)
        return 0;
    line = config_setting_source_line(m);
    if (in->kind != COLLECTOR_KIND_SOURCE) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s: control: only sources take commands",
                ic->file, line, ic->name);
        return -EINVAL;
    }
    if (config_setting_type(m) != CONFIG_TYPE_LIST && config_setting_type(m) != CONFIG_TYPE_ARRAY) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR,
                "%s:%u: %s: control: want a list of command names, e.g. (\"charge\", \"balancer\")",
                ic->file, line, ic->name);
        return -EINVAL;
    }
    if (in->lp->desc.abi_minor >= 2 && in->lp->desc.command != NULL)
        defs = in->lp->desc.commands;
    n = config_setting_length(m);
    in->control = calloc(n > 0 ? (size_t)n : 1, sizeof(*in->control));
    if (in->control == NULL)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        const char *name = config_setting_get_string_elem(m, i);
        const struct collector_command_def *d = defs;
        char known[512] = "";
        size_t k = 0;

        for (; d != NULL && d->name != NULL; d++) {
            if (name != NULL && strcmp(d->name, name) == 0)
                break;
            k += (size_t)snprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0, "%s%s",
                                  k ? ", " : "", d->name);
        }
        if (name == NULL || d == NULL || d->name == NULL) {
            log_msg(LOG_CORE, COLLECTOR_LOG_ERROR,
                    "%s:%u: %s: control: \"%s\": plugin %s has no such command (it offers: %s)",
                    ic->file, line, ic->name, name ? name : "(not a string)", ic->plugin,
                    defs ? known : "none");
            return -EINVAL;
        }
        in->control[in->ncontrol] = strdup(name);
        if (in->control[in->ncontrol] == NULL)
            return -ENOMEM;
        in->ncontrol++;
    }
    return 0;
}

int instance_open(const struct daemon_cfg *cfg, const struct instance_cfg *ic,
                  struct host_claims *claims, uint32_t run_flags, struct instance **out)
{
    struct instance *in = calloc(1, sizeof(*in));
    char file[PATH_MAX], err[LOG_ERR_MAX];
    int rc;

    if (in == NULL)
        return -ENOMEM;
    snprintf(in->name, sizeof(in->name), "%s", ic->name);
    snprintf(in->plugin, sizeof(in->plugin), "%s", ic->plugin);
    in->kind = ic->kind;
    in->interval_ms = ic->kind == COLLECTOR_KIND_SOURCE ? ic->interval_ms : 0;
    in->line = ic->line;
    in->host.stop_pipe[0] = in->host.stop_pipe[1] = -1;
    pthread_mutex_init(&in->lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&in->tick, &ca);
        pthread_condattr_destroy(&ca);
    }
    in->file = strdup(ic->file);
    if (in->file == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = loader_find(ic->plugin, cfg->plugin_path, file, sizeof(file));
    if (rc < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s:%u: plugin \"%s\": no %s.so in %s", ic->file,
                ic->line, ic->plugin, ic->plugin, cfg->plugin_path);
        goto fail;
    }
    rc = loader_open(file, ic->kind, &in->lp, err, sizeof(err));
    if (rc < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s", ic->file, ic->line, err);
        goto fail;
    }
    if (in->kind == COLLECTOR_KIND_SOURCE && in->interval_ms < interval_floor_ms(in->lp)) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR,
                "%s:%u: %s: interval: %.3g s is below the floor of %.3g s for plugin %s",
                ic->file, ic->line, ic->name, (double)in->interval_ms / 1000.0,
                (double)interval_floor_ms(in->lp) / 1000.0, ic->plugin);
        rc = -EINVAL;
        goto fail;
    }
    /* Sinks are created after every source and calculator (config order):
     * by then api->producers() knows all that make records. */
    if (claims != NULL && (in->kind == COLLECTOR_KIND_SOURCE ||
                           (in->kind == COLLECTOR_KIND_CALCULATOR &&
                            (in->lp->desc.flags & COLLECTOR_PLUGIN_EMITS))) &&
        (rc = host_claims_add_producer(claims, ic->name)) < 0)
        goto fail;
    warn_readable_secret(ic, in->lp);
    rc = setdefs_apply(ic->group, &in->lp->desc, ic->name, err, sizeof(err));
    if (rc < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s", err);
        goto fail;
    }
    rc = read_control(ic, in);
    if (rc < 0)
        goto fail;
    in->fingerprint = make_fingerprint(in, ic->group);
    if (in->fingerprint == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = host_init(&in->host, ic->name, in->interval_ms, cfg->state_dir);
    if (rc < 0)
        goto fail;
    in->host.run_flags = run_flags;
    in->host.fallback_interval_ms = cfg->interval_ms;
    in->host.claims = claims;
    rc = in->lp->desc.create(hostapi_table(), &in->host, settings_wrap(ic->group), &in->state);
    in->host.claims = NULL; /* claims are for create() only */
    if (rc != 0) {
        if (in->host.setting_errors == 0) /* else its own line named the setting */
            log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s: plugin %s refused to start: %s",
                    ic->file, ic->line, ic->name, ic->plugin,
                    rc < 0 ? strerror(-rc) : "see above");
        rc = rc < 0 ? rc : -EINVAL;
        goto fail;
    }
    in->created = 1;
    *out = in;
    return 0;
fail:
    instance_close(in);
    return rc;
}

int instance_start(struct instance *in)
{
    int rc;

    if (in->started)
        return 0;
    rc = host_stop_open(&in->host);
    if (rc < 0)
        return rc;
    if (in->lp->desc.start != NULL) {
        rc = in->lp->desc.start(in->state);
        if (rc != 0) {
            log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s: plugin %s could not start: %s",
                    in->file, in->line, in->name, in->plugin,
                    rc < 0 ? strerror(-rc) : "see above");
            return rc < 0 ? rc : -EIO;
        }
    }
    in->started = 1;
    return 0;
}

void instance_stop(struct instance *in)
{
    if (in == NULL || !in->started)
        return;
    if (in->lp->desc.stop != NULL)
        in->lp->desc.stop(in->state);
    in->started = 0;
}

int instance_can_retry(const struct instance *in)
{
    return in->lp != NULL && in->lp->desc.abi_minor >= 1;
}

void instance_close(struct instance *in)
{
    if (in == NULL)
        return;
    if (in->created)
        in->lp->desc.destroy(in->state);
    for (size_t i = 0; i < in->q.len; i++)
        record_free(in->q.v[(in->q.head + i) % in->q.cap]);
    free(in->q.v);
    host_fini(&in->host);
    loader_close(in->lp);
    pthread_cond_destroy(&in->tick);
    pthread_mutex_destroy(&in->lock);
    for (size_t i = 0; i < in->ncontrol; i++)
        free(in->control[i]);
    free(in->control);
    free(in->fingerprint);
    free(in->file);
    free(in);
}

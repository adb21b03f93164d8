/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/conf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <collector/plugin.h>

#include "core/expand.h"
#include "core/log.h"
#include "core/names.h"

#define CORE "collectord"

static const struct {
    const char *list;
    uint32_t kind;
} lists[] = {
    {"sources", COLLECTOR_KIND_SOURCE},
    {"calculators", COLLECTOR_KIND_CALCULATOR},
    {"sinks", COLLECTOR_KIND_SINK},
};

static void cfg_error(const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_error(const char *file, unsigned line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s", file, line, msg);
}

/* Seconds from a string such as "${JK_BMS_POLL_INTERVAL:-30}": the seed's
 * variable, else the default. */
static int interval_from_env(const char *s, double *v)
{
    char text[256], missing[128], *end;

    if (expand_env(s, text, sizeof(text), missing, sizeof(missing)) < 0 || text[0] == '\0')
        return -EINVAL;
    *v = strtod(text, &end);
    return end != text && *end == '\0' ? 0 : -EINVAL;
}

/* An interval in seconds (int, float, or "${ENV:-default}") -> ms; -EINVAL
 * when not positive. */
static int read_interval(const config_setting_t *s, int64_t *ms)
{
    double v;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        v = (double)config_setting_get_int64(s);
        break;
    case CONFIG_TYPE_FLOAT:
        v = config_setting_get_float(s);
        break;
    case CONFIG_TYPE_STRING:
        if (interval_from_env(config_setting_get_string(s), &v) < 0)
            return -EINVAL;
        break;
    default:
        return -EINVAL;
    }
    if (!(v > 0.0) || v > 86400.0 * 7)
        return -EINVAL;
    *ms = (int64_t)llround(v * 1000.0);
    return *ms > 0 ? 0 : -EINVAL;
}

static int read_collector(struct daemon_cfg *c)
{
    const config_setting_t *g = config_lookup(&c->cfg, "collector");
    const char *file = c->path;
    const config_setting_t *m;
    const char *s;
    const char *env = getenv("COLLECTOR_PLUGIN_PATH");
    const char *plugin_dir = NULL;
    int n, has_socket = 0;

    c->interval_ms = 30000;
    c->flush_timeout_ms = 10000;
    c->log_level = COLLECTOR_LOG_INFO;
    if (g != NULL && config_setting_type(g) != CONFIG_TYPE_GROUP) {
        cfg_error(file, config_setting_source_line(g), "collector: must be a group { ... }");
        return -EINVAL;
    }
    for (unsigned i = 0; g != NULL && i < (unsigned)config_setting_length(g); i++) {
        const char *key;
        m = config_setting_get_elem(g, i);
        key = config_setting_name(m);
        if (strcmp(key, "interval") == 0) {
            if (read_interval(m, &c->interval_ms) < 0) {
                cfg_error(file, config_setting_source_line(m),
                          "collector.interval: want a positive number of seconds");
                return -EINVAL;
            }
        } else if (strcmp(key, "flush_timeout") == 0) {
            if (read_interval(m, &c->flush_timeout_ms) < 0) {
                cfg_error(file, config_setting_source_line(m),
                          "collector.flush_timeout: want a positive number of seconds");
                return -EINVAL;
            }
        } else if (strcmp(key, "log_level") == 0) {
            s = config_setting_get_string(m);
            if (s == NULL || log_level_parse(s, &c->log_level) < 0) {
                cfg_error(file, config_setting_source_line(m),
                          "collector.log_level: want \"error\", \"warning\", \"info\" or "
                          "\"debug\"");
                return -EINVAL;
            }
        } else if (strcmp(key, "plugin_dir") == 0 || strcmp(key, "state_dir") == 0) {
            s = config_setting_get_string(m);
            if (s == NULL || *s == '\0') {
                cfg_error(file, config_setting_source_line(m), "collector.%s: want a path", key);
                return -EINVAL;
            }
            if (key[0] == 'p')
                plugin_dir = s;
            else
                snprintf(c->state_dir, sizeof(c->state_dir), "%s", s);
        } else if (strcmp(key, "control_socket") == 0) {
            s = config_setting_get_string(m);
            if (s == NULL || (*s != '\0' && *s != '/') ||
                strlen(s) >= sizeof(c->control_socket)) {
                cfg_error(file, config_setting_source_line(m),
                          "collector.control_socket: want an absolute path of at most %zu "
                          "bytes, or \"\" for none",
                          sizeof(c->control_socket) - 1);
                return -EINVAL;
            }
            snprintf(c->control_socket, sizeof(c->control_socket), "%s", s);
            has_socket = 1;
        } else {
            cfg_error(file, config_setting_source_line(m),
                      "collector.%s: unknown setting (known: interval, flush_timeout, log_level, "
                      "plugin_dir, state_dir, control_socket)",
                      key);
            return -EINVAL;
        }
    }
    n = snprintf(c->plugin_path, sizeof(c->plugin_path), "%s%s%s%s%s", env ? env : "",
                 env && *env ? ":" : "", plugin_dir ? plugin_dir : "", plugin_dir ? ":" : "",
                 COLLECTOR_PLUGIN_DIR);
    if (n < 0 || (size_t)n >= sizeof(c->plugin_path)) {
        cfg_error(file, 0, "plugin path too long");
        return -EINVAL;
    }
    if (!has_socket) {
        /* COLLECTOR_CONTROL_SOCKET (also read by `collectord ctl`), else the built-in path;
         * set and empty: none (the test suite runs many daemons side by side) */
        const char *cs = getenv("COLLECTOR_CONTROL_SOCKET");
        snprintf(c->control_socket, sizeof(c->control_socket), "%s",
                 cs != NULL && (*cs == '\0' || (*cs == '/' && strlen(cs) < sizeof(c->control_socket)))
                     ? cs
                     : COLLECTOR_CONTROL_SOCKET_DEFAULT);
        c->control_socket_default = 1;
    }
    if (c->state_dir[0] == '\0') {
        const char *st = getenv("COLLECTOR_STATE_DIR");
        snprintf(c->state_dir, sizeof(c->state_dir), "%s", st && *st ? st : COLLECTOR_STATE_DIR);
    }
    return 0;
}

static int read_entry(struct daemon_cfg *c, config_setting_t *e, uint32_t kind,
                      const char *list, struct instance_cfg *out)
{
    const char *file = c->path;
    unsigned line = config_setting_source_line(e);
    const char *plugin = NULL, *name = NULL;
    const config_setting_t *m;
    int enabled = 1;

    memset(out, 0, sizeof(*out));
    if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
        cfg_error(file, line, "%s: each entry must be a group { plugin = \"...\"; ... }", list);
        return -EINVAL;
    }
    if (config_setting_lookup_string(e, "plugin", &plugin) != CONFIG_TRUE) {
        cfg_error(file, line, "%s: entry without plugin = \"NAME\";", list);
        return -EINVAL;
    }
    if (!names_is_symbol(plugin)) {
        m = config_setting_get_member(e, "plugin");
        cfg_error(file, config_setting_source_line(m),
                  "plugin \"%s\": a plugin name is [a-z0-9_]+", plugin);
        return -EINVAL;
    }
    m = config_setting_get_member(e, "name");
    if (m != NULL) {
        name = config_setting_get_string(m);
        if (!names_is_instance(name)) {
            cfg_error(file, config_setting_source_line(m),
                      "name: want 1 to 63 characters of [A-Za-z0-9_.-]");
            return -EINVAL;
        }
    }
    m = config_setting_get_member(e, "enabled");
    if (m != NULL) {
        if (config_setting_type(m) != CONFIG_TYPE_BOOL) {
            cfg_error(file, config_setting_source_line(m), "enabled: want true or false");
            return -EINVAL;
        }
        enabled = config_setting_get_bool(m);
    }
    out->interval_ms = c->interval_ms;
    m = config_setting_get_member(e, "interval");
    if (m != NULL) {
        if (kind != COLLECTOR_KIND_SOURCE) {
            cfg_error(file, config_setting_source_line(m),
                      "interval: only sources have an interval");
            return -EINVAL;
        }
        if (read_interval(m, &out->interval_ms) < 0) {
            cfg_error(file, config_setting_source_line(m),
                      "interval: want a positive number of seconds, or \"${VARIABLE:-default}\"");
            return -EINVAL;
        }
    }
    snprintf(out->plugin, sizeof(out->plugin), "%s", plugin);
    snprintf(out->name, sizeof(out->name), "%s", name ? name : plugin);
    out->kind = kind;
    out->enabled = enabled;
    out->group = e;
    out->file = file;
    out->line = line;
    return 0;
}

/* The kind of a non-regular file, for the error line. */
static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a device"
         : S_ISBLK(mode) ? "a device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* libconfig 1.5 has no include hook and its scanner exit()s on a directory
 * and blocks on a FIFO: before parsing, every @include (recursively) must
 * name a regular file. Relative names are taken from `dir`, as libconfig
 * does with the include directory we give it. */
static int check_includes(const char *path, const char *dir, int depth)
{
    char line[4096];
    unsigned lineno = 0;
    FILE *fp;
    int rc = 0;

    if (depth > 10) {
        cfg_error(path, 0, "@include nested more than 10 deep");
        return -ELOOP;
    }
    fp = fopen(path, "re");
    if (fp == NULL)
        return 0; /* the parser says why */
    while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
        const char *p = line + strspn(line, " \t"), *q;
        char inc[4096];
        struct stat st;
        lineno++;
        if (strncmp(p, "@include", 8) != 0)
            continue;
        p += 8;
        p += strspn(p, " \t");
        if (*p != '"' || (q = strchr(p + 1, '"')) == NULL)
            continue; /* the parser reports the syntax */
        if ((size_t)snprintf(inc, sizeof(inc), "%s%s%.*s", p[1] == '/' ? "" : dir,
                             p[1] == '/' ? "" : "/", (int)(q - p - 1), p + 1) >= sizeof(inc)) {
            cfg_error(path, lineno, "@include: path too long");
            rc = -ENAMETOOLONG;
        } else if (stat(inc, &st) != 0) {
            cfg_error(path, lineno, "@include \"%.*s\": %s", (int)(q - p - 1), p + 1,
                      strerror(errno));
            rc = -ENOENT;
        } else if (!S_ISREG(st.st_mode)) {
            cfg_error(path, lineno, "@include \"%.*s\": %s, not a regular file",
                      (int)(q - p - 1), p + 1, file_kind(st.st_mode));
            rc = -EINVAL;
        } else {
            rc = check_includes(inc, dir, depth + 1);
        }
    }
    fclose(fp);
    return rc;
}

int config_load(const char *path, struct daemon_cfg **out)
{
    char dir[4096];
    struct daemon_cfg *c = calloc(1, sizeof(*c));
    size_t total = 0;
    FILE *fp;
    int rc = -EINVAL;

    if (c == NULL)
        return -ENOMEM;
    config_init(&c->cfg);
    snprintf(c->path, sizeof(c->path), "%s", path);
    {
        struct stat st;
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
            log_msg(CORE, COLLECTOR_LOG_ERROR, "%s: %s, not a regular file", path,
                    file_kind(st.st_mode));
            goto fail;
        }
    }
    fp = fopen(path, "re");
    if (fp == NULL) {
        rc = -errno;
        log_msg(CORE, COLLECTOR_LOG_ERROR, "%s: cannot read the config file: %s", path,
                strerror(errno));
        goto fail;
    }
    fclose(fp);
    {
        const char *slash = strrchr(path, '/');
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        if (dir[0] == '\0')
            snprintf(dir, sizeof(dir), "/");
    }
    if (check_includes(path, dir, 0) < 0)
        goto fail;
    config_set_include_dir(&c->cfg, dir);
    /* config_read_file records the file name on every setting, so plugin
     * errors can name file:line. */
    if (config_read_file(&c->cfg, path) != CONFIG_TRUE) {
        const char *f = config_error_file(&c->cfg);
        cfg_error(f ? f : path, (unsigned)config_error_line(&c->cfg), "%s",
                  config_error_text(&c->cfg));
        goto fail;
    }
    if (read_collector(c) < 0)
        goto fail;

    for (size_t l = 0; l < 3; l++) {
        const config_setting_t *list = config_lookup(&c->cfg, lists[l].list);
        if (list == NULL)
            continue;
        if (config_setting_type(list) != CONFIG_TYPE_LIST &&
            !(config_setting_type(list) == CONFIG_TYPE_ARRAY && config_setting_length(list) == 0)) {
            cfg_error(path, config_setting_source_line(list),
                      "%s: must be a list ( { ... }, { ... } )", lists[l].list);
            goto fail;
        }
        total += (size_t)config_setting_length(list);
    }
    {
        const config_setting_t *root = config_root_setting(&c->cfg);
        for (unsigned i = 0; i < (unsigned)config_setting_length(root); i++) {
            const config_setting_t *m = config_setting_get_elem(root, i);
            const char *k = config_setting_name(m);
            if (strcmp(k, "collector") && strcmp(k, "sources") && strcmp(k, "calculators") &&
                strcmp(k, "sinks")) {
                cfg_error(path, config_setting_source_line(m),
                          "%s: unknown section (known: collector, sources, calculators, sinks)",
                          k);
                goto fail;
            }
        }
    }
    c->inst = calloc(total ? total : 1, sizeof(*c->inst));
    if (c->inst == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (size_t l = 0; l < 3; l++) {
        const config_setting_t *list = config_lookup(&c->cfg, lists[l].list);
        for (unsigned i = 0; list != NULL && i < (unsigned)config_setting_length(list); i++) {
            struct instance_cfg *ic = &c->inst[c->ninst];
            if (read_entry(c, config_setting_get_elem(list, i), lists[l].kind, lists[l].list,
                           ic) < 0)
                goto fail;
            for (size_t j = 0; j < c->ninst; j++) {
                if (strcmp(c->inst[j].name, ic->name) == 0) {
                    cfg_error(path, ic->line,
                              "two instances named \"%s\" (the other is at line %u): give "
                              "each a unique name = \"...\";",
                              ic->name, c->inst[j].line);
                    goto fail;
                }
            }
            c->ninst++;
        }
    }
    *out = c;
    return 0;
fail:
    config_free(c);
    return rc;
}

void config_free(struct daemon_cfg *cfg)
{
    if (cfg == NULL)
        return;
    config_destroy(&cfg->cfg);
    free(cfg->inst);
    free(cfg);
}

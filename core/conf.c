/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/conf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "core/envfile.h"
#include "core/expand.h"
#include "core/hostdefs.h"
#include "core/log.h"
#include "core/names.h"
#include "core/setdefs.h"
#include "core/settings.h"
#include "plugins/libsafeopen/safe_open.h"

/* Settings (and list elements) in all files together: libconfig looks a
 * new member up among its siblings, so its parse is quadratic in this. */
#define CONF_ITEMS_MAX 4096

static const struct {
    const char *list;
    uint32_t kind;
} lists[] = {
    {.list = "sources", .kind = COLLECTOR_KIND_SOURCE},
    {.list = "calculators", .kind = COLLECTOR_KIND_CALCULATOR},
    {.list = "sinks", .kind = COLLECTOR_KIND_SINK},
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
    log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s:%u: %s", file, line, msg);
}

/*
 * Includes. libconfig 1.5 has no include hook: its scanner fopen()s the
 * name itself, so a FIFO blocks it, a directory makes flex exit(2), and a
 * checker that reads the name differently from libconfig (its escapes) can
 * be steered past. So the host reads every file itself (safe_open: no
 * wait, regular files only, CONF_* limits), decodes each @include name
 * with libconfig's escapes, and hands libconfig one buffer with the
 * included text in place of each @include line. A line map puts every
 * setting's own file and line back afterwards.
 */
struct line_src {
    unsigned file; /* index into daemon_cfg.files */
    unsigned line;
};

struct build {
    struct daemon_cfg *c;
    char *buf;
    size_t len, cap;
    struct line_src *map; /* map[i]: where line i + 1 of buf was written */
    size_t nlines, map_cap;
    size_t items;         /* '=', ':' and ',' outside strings and comments */
    size_t total;         /* bytes read, every inclusion counted */
    const char *dir;      /* relative includes are taken from here */
};

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
    size_t n = *cap ? *cap : 64;
    void *q;

    if (want <= *cap)
        return 0;
    while (n < want)
        n *= 2;
    q = realloc(*p, n * elem);
    if (q == NULL)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static int put_char(struct build *b, char ch, unsigned file, unsigned line)
{
    if (grow((void **)&b->buf, &b->cap, b->len + 2, 1) < 0)
        return -ENOMEM;
    b->buf[b->len++] = ch;
    b->buf[b->len] = '\0';
    if (ch != '\n')
        return 0;
    if (grow((void **)&b->map, &b->map_cap, b->nlines + 1, sizeof(*b->map)) < 0)
        return -ENOMEM;
    b->map[b->nlines].file = file;
    b->map[b->nlines].line = line;
    b->nlines++;
    return 0;
}

/* The whole of one file, at most CONF_FILE_MAX bytes, no NUL byte. `name`:
 * as an @include wrote it, at `from`:`from_line` (NULL: the main file). */
static int slurp(const char *path, const char *name, const char *from, unsigned from_line,
                 char **out, size_t *len_out)
{
    char err[LOG_ERR_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = safe_read_all(path, 0, CONF_FILE_MAX, &text, &len, err, sizeof(err));

    if (rc == -EFBIG) {
        cfg_error(path, 0, "larger than %d bytes: not a configuration file", CONF_FILE_MAX);
        return rc;
    }
    if (rc < 0) {
        size_t n = strlen(path);
        if (from != NULL) /* "<path>: <reason>" -> '@include "<name>": <reason>' */
            cfg_error(from, from_line, "@include \"%s\": %s", name,
                      strncmp(err, path, n) == 0 && err[n] == ':' ? err + n + 2 : err);
        else
            log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "cannot read the config file %s", err);
        return rc == -EISDIR ? -EINVAL : rc;
    }
    if (memchr(text, '\0', len) != NULL) {
        cfg_error(path, 0, "holds a NUL byte: not a configuration file");
        free(text);
        return -EINVAL;
    }
    *out = text;
    *len_out = len;
    return 0;
}

/* The name between the quotes of an @include, with libconfig's escapes
 * (\\ \" \f \n \r \t \xHH) decoded as its scanner decodes them. `*p` points
 * after the opening quote and ends after the closing one. -EINVAL for an
 * unterminated name, an unknown escape or a control character. */
static int include_name(const char **p, const char *end, char *out, size_t size)
{
    const char *s = *p;
    size_t n = 0;

    while (s < end && *s != '"' && *s != '\n') {
        int ch = (unsigned char)*s++;
        if (ch == '\\') {
            char e = s < end ? *s++ : '\0';
            char hex[3];
            switch (e) {
            case '\\':
            case '"':
                ch = e;
                break;
            case 'f':
                ch = '\f';
                break;
            case 'n':
                ch = '\n';
                break;
            case 'r':
                ch = '\r';
                break;
            case 't':
                ch = '\t';
                break;
            case 'x': /* exactly two hex digits, as libconfig's \\x[0-9A-Fa-f]{2} */
                if (end - s < 2 || !isxdigit((unsigned char)s[0]) ||
                    !isxdigit((unsigned char)s[1]))
                    return -EINVAL;
                hex[0] = s[0];
                hex[1] = s[1];
                hex[2] = '\0';
                ch = (int)strtol(hex, NULL, 16);
                s += 2;
                break;
            default:
                return -EINVAL;
            }
        }
        if (ch < 0x20 || ch == 0x7f || n + 1 >= size)
            return -EINVAL;
        out[n++] = (char)ch;
    }
    if (s >= end || *s != '"' || n == 0)
        return -EINVAL;
    out[n] = '\0';
    *p = s + 1;
    return 0;
}

static int add_file(struct daemon_cfg *c, const char *path, unsigned *idx)
{
    char **v = realloc(c->files, (c->nfiles + 1) * sizeof(*v));

    if (v == NULL)
        return -ENOMEM;
    c->files = v;
    v[c->nfiles] = strdup(path);
    if (v[c->nfiles] == NULL)
        return -ENOMEM;
    *idx = (unsigned)c->nfiles++;
    return 0;
}

static int inline_file(struct build *b, const char *path, const char *name, const char *from,
                       unsigned from_line, int depth);

/* An @include line at `*p` (the line's start): 0 with *p past it when the
 * line is none, 1 when it was one and its file is inlined, or an error. */
static int try_include(struct build *b, const char **p, const char *end, const char *file,
                       unsigned line, int depth)
{
    const char *s = *p;
    char name[PATH_MAX], path[PATH_MAX];
    int rc;

    s += strspn(s, " \t");
    if ((size_t)(end - s) < 9 || strncmp(s, "@include", 8) != 0 || (s[8] != ' ' && s[8] != '\t'))
        return 0;
    s += 8;
    s += strspn(s, " \t");
    if (s >= end || *s != '"') {
        cfg_error(file, line, "@include: want @include \"FILE\"");
        return -EINVAL;
    }
    s++;
    if (include_name(&s, end, name, sizeof(name)) < 0) {
        cfg_error(file, line, "@include: want a file name in double quotes (escapes \\\\ \\\" "
                  "\\f \\n \\r \\t \\xHH, no control characters)");
        return -EINVAL;
    }
    s += strspn(s, " \t\r");
    if (s < end && *s != '\n' && *s != '#' && !(s + 1 < end && s[0] == '/' && s[1] == '/')) {
        cfg_error(file, line, "@include \"%s\": nothing but a comment may follow it", name);
        return -EINVAL;
    }
    if (depth >= CONF_INCLUDE_DEPTH) {
        cfg_error(file, line, "@include nested more than %d deep", CONF_INCLUDE_DEPTH);
        return -ELOOP;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : b->dir,
                         name[0] == '/' ? "" : "/", name) >= sizeof(path)) {
        cfg_error(file, line, "@include: path too long");
        return -ENAMETOOLONG;
    }
    rc = inline_file(b, path, name, file, line, depth + 1);
    if (rc < 0)
        return rc;
    while (s < end && *s != '\n')
        s++;
    *p = s < end ? s + 1 : s; /* the included text ended with its own newline */
    return 1;
}

/* Copy one file into the buffer, @include lines replaced by their files.
 * A small scanner follows libconfig's states (code, string, comments) so
 * that it sees @include where libconfig would, counts settings, and refuses
 * an overlong string before libconfig meets it. */
static int inline_file(struct build *b, const char *path, const char *name, const char *from,
                       unsigned from_line, int depth)
{
    enum { CODE, STRING, LINE_COMMENT, BLOCK_COMMENT } state = CODE;
    char *text = NULL;
    size_t len = 0, slen = 0;
    unsigned idx, line = 1, sline = 0;
    const char *p, *end, *file;
    int rc = slurp(path, name, from, from_line, &text, &len);

    if (rc < 0)
        return rc;
    b->total += len;
    if (b->total > CONF_TOTAL_MAX) {
        cfg_error(from ? from : path, from_line,
                  "the configuration and its includes exceed %d bytes: refused", CONF_TOTAL_MAX);
        rc = -EFBIG;
        goto done;
    }
    rc = add_file(b->c, path, &idx);
    if (rc < 0)
        goto done;
    file = b->c->files[idx];
    p = text;
    end = text + len;
    while (p < end) {
        if (state == CODE && (p == text || p[-1] == '\n')) {
            rc = try_include(b, &p, end, file, line, depth);
            if (rc < 0)
                goto done;
            if (rc == 1) {
                line++;
                continue;
            }
        }
        switch (state) {
        case CODE:
            if (*p == '"') {
                state = STRING;
                slen = 0;
                sline = line;
            } else if (*p == '#' || (*p == '/' && p + 1 < end && p[1] == '/')) {
                state = LINE_COMMENT;
            } else if (*p == '/' && p + 1 < end && p[1] == '*') {
                state = BLOCK_COMMENT;
                if ((rc = put_char(b, *p++, idx, line)) < 0)
                    goto done;
            } else if ((*p == '=' || *p == ':' || *p == ',') && ++b->items > CONF_ITEMS_MAX) {
                cfg_error(file, line, "more than %d settings: not a configuration file",
                          CONF_ITEMS_MAX);
                rc = -EFBIG;
                goto done;
            }
            break;
        case STRING:
            if (*p == '"') {
                state = CODE;
            } else {
                if (*p == '\\' && p + 1 < end && p[1] != '\n') {
                    if ((rc = put_char(b, *p++, idx, line)) < 0)
                        goto done;
                }
                if (++slen > CONF_STRING_MAX) {
                    cfg_error(file, sline, "a string longer than %d bytes: refused",
                              CONF_STRING_MAX);
                    rc = -EFBIG;
                    goto done;
                }
            }
            break;
        case LINE_COMMENT:
            if (*p == '\n')
                state = CODE;
            break;
        case BLOCK_COMMENT:
            if (*p == '*' && p + 1 < end && p[1] == '/') {
                if ((rc = put_char(b, *p++, idx, line)) < 0)
                    goto done;
                state = CODE;
            }
            break;
        }
        if ((rc = put_char(b, *p, idx, line)) < 0)
            goto done;
        if (*p++ == '\n')
            line++;
    }
    if (len > 0 && end[-1] != '\n' && (rc = put_char(b, '\n', idx, line)) < 0)
        goto done;
    rc = 0;
done:
    free(text);
    return rc;
}

/* Give every setting its own file and line back (libconfig saw one buffer). */
static void place(const struct build *b, config_setting_t *s)
{
    if (s->line >= 1 && s->line <= b->nlines) {
        const struct line_src *src = &b->map[s->line - 1];
        s->file = b->c->files[src->file];
        s->line = src->line;
    } else {
        s->file = b->c->files[0];
    }
    if (config_setting_is_aggregate(s))
        for (int i = 0; i < config_setting_length(s); i++)
            place(b, config_setting_get_elem(s, (unsigned)i));
}

static int parse(struct daemon_cfg *c, const char *path)
{
    struct build b = {.c = c};
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int rc;

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (dir[0] == '\0')
        snprintf(dir, sizeof(dir), "/");
    b.dir = dir;
    rc = inline_file(&b, path, path, NULL, 0, 0);
    if (rc < 0)
        goto done;
    if (config_read_string(&c->cfg, b.buf ? b.buf : "") != CONFIG_TRUE) {
        int line = config_error_line(&c->cfg);
        const struct line_src *src =
            line >= 1 && (size_t)line <= b.nlines ? &b.map[line - 1] : NULL;
        cfg_error(src ? c->files[src->file] : path, src ? src->line : (unsigned)line, "%s",
                  config_error_text(&c->cfg));
        rc = -EINVAL;
        goto done;
    }
    place(&b, config_root_setting(&c->cfg));
done:
    free(b.buf);
    free(b.map);
    return rc;
}

/* Seconds (a checked DOUBLE) -> ms. */
static int64_t seconds_ms(const config_setting_t *g, const char *key, int64_t dflt)
{
    double v;

    if (settings_get_double(settings_wrap(g), key, &v) < 0)
        return dflt;
    return (int64_t)llround(v * 1000.0);
}

/* collector.env_file: eamoon's .env, of which only the documented names are
 * taken (core/envfile.h). A missing file is said and skipped, as the
 * unit's EnvironmentFile=- did; anything else wrong with it is an error. */
static int read_env_file(const char *file, const config_setting_t *m)
{
    const char *path = config_setting_get_string(m);
    char err[1024];
    int rc;

    if (path == NULL || path[0] != '/') {
        cfg_error(file, config_setting_source_line(m), "collector.env_file: want an absolute path");
        return -EINVAL;
    }
    rc = envfile_import(path, err, sizeof(err));
    if (rc == -ENOENT) {
        log_msg(LOG_CORE, COLLECTOR_LOG_WARNING, "%s:%u: collector.env_file %s: no such file (skipped)",
                file, config_setting_source_line(m), path);
        rc = 0;
    } else if (rc < 0) {
        cfg_error(file, config_setting_source_line(m), "collector.env_file: %s", err);
    }
    return rc;
}

static int read_collector(struct daemon_cfg *c)
{
    static const struct setdefs_table table = {.defs = hostdefs_collector, .owner = "collector"};
    config_setting_t *root = config_root_setting(&c->cfg);
    config_setting_t *g = config_setting_get_member(root, "collector");
    const char *env = getenv("COLLECTOR_PLUGIN_PATH");
    const char *plugin_dir = NULL, *state_dir = NULL, *level = NULL, *cs = NULL;
    config_setting_t *m;
    char err[LOG_ERR_MAX];
    int n;

    if (g == NULL) {
        g = config_setting_add(root, "collector", CONFIG_TYPE_GROUP);
        if (g == NULL)
            return -ENOMEM;
        g->file = c->files[0]; /* where its defaults are said to come from */
    }
    /* First: the variables env_file imports serve ${VAR} in every setting. */
    if ((m = config_setting_get_member(g, "env_file")) != NULL) {
        const char *where = config_setting_source_file(m);
        if (read_env_file(where != NULL ? where : c->path, m) < 0)
            return -EINVAL;
    }
    if (setdefs_check(g, &table, "collector", err, sizeof(err)) < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s", err);
        return -EINVAL;
    }
    c->interval_ms = seconds_ms(g, "interval", 30000);
    c->flush_timeout_ms = seconds_ms(g, "flush_timeout", 10000);
    settings_get_string(settings_wrap(g), "log_level", &level);
    if (level == NULL || log_level_parse(level, &c->log_level) < 0)
        c->log_level = COLLECTOR_LOG_INFO;
    settings_get_string(settings_wrap(g), "plugin_dir", &plugin_dir);
    settings_get_string(settings_wrap(g), "state_dir", &state_dir);
    n = snprintf(c->plugin_path, sizeof(c->plugin_path), "%s%s%s%s%s", env ? env : "",
                 env && *env ? ":" : "", plugin_dir ? plugin_dir : "", plugin_dir ? ":" : "",
                 COLLECTOR_PLUGIN_DIR);
    if (n < 0 || (size_t)n >= sizeof(c->plugin_path)) {
        cfg_error(c->path, config_setting_source_line(g), "collector: plugin path too long");
        return -EINVAL;
    }
    if (settings_get_string(settings_wrap(g), "control_socket", &cs) == 0) {
        if ((*cs != '\0' && *cs != '/') || strlen(cs) >= sizeof(c->control_socket)) {
            cfg_error(c->path, config_setting_source_line(g),
                      "collector.control_socket: want an absolute path of at most %zu bytes, "
                      "or \"\" for none",
                      sizeof(c->control_socket) - 1);
            return -EINVAL;
        }
        snprintf(c->control_socket, sizeof(c->control_socket), "%s", cs);
    } else {
        /* COLLECTOR_CONTROL_SOCKET (also read by `collectord ctl`), else the built-in path;
         * set and empty: none (the test suite runs many daemons side by side) */
        cs = getenv("COLLECTOR_CONTROL_SOCKET");
        snprintf(c->control_socket, sizeof(c->control_socket), "%s",
                 cs != NULL && (*cs == '\0' || (*cs == '/' && strlen(cs) < sizeof(c->control_socket)))
                     ? cs
                     : COLLECTOR_CONTROL_SOCKET_DEFAULT);
        c->control_socket_default = 1;
    }
    if (state_dir == NULL) { /* hostdefs: the default is not in the table */
        const char *st = getenv("COLLECTOR_STATE_DIR");
        state_dir = st && *st ? st : COLLECTOR_STATE_DIR;
    }
    if ((size_t)snprintf(c->state_dir, sizeof(c->state_dir), "%s", state_dir) >=
        sizeof(c->state_dir)) {
        cfg_error(c->path, config_setting_source_line(g), "collector.state_dir: too long");
        return -EINVAL;
    }
    return 0;
}

static int read_entry(struct daemon_cfg *c, config_setting_t *e, uint32_t kind,
                      const char *list, struct instance_cfg *out)
{
    static const struct setdefs_table table = {
        .defs = hostdefs_entry, .owner = "an entry", .others_ok = 1};
    const char *file = config_setting_source_file(e);
    unsigned line = config_setting_source_line(e);
    const char *plugin = NULL, *name = NULL;
    char err[LOG_ERR_MAX];
    int enabled = 1;
    double seconds;

    memset(out, 0, sizeof(*out));
    if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
        cfg_error(file, line, "%s: each entry must be a group { plugin = \"...\"; ... }", list);
        return -EINVAL;
    }
    /* The label of its errors: the name if it has one, else the plugin. */
    if (config_setting_lookup_string(e, "name", &name) != CONFIG_TRUE &&
        config_setting_lookup_string(e, "plugin", &name) != CONFIG_TRUE)
        name = list;
    if (setdefs_check(e, &table, names_is_instance(name) ? name : list, err, sizeof(err)) < 0) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%s", err);
        return -EINVAL;
    }
    name = NULL;
    settings_get_string(settings_wrap(e), "plugin", &plugin);
    settings_get_string(settings_wrap(e), "name", &name);
    settings_get_bool(settings_wrap(e), "enabled", &enabled);
    if (plugin == NULL || !names_is_symbol(plugin)) {
        cfg_error(file, config_setting_source_line(config_setting_get_member(e, "plugin")),
                  "plugin \"%s\": a plugin name is [a-z0-9_]+", plugin ? plugin : "");
        return -EINVAL;
    }
    if (name != NULL && !names_is_instance(name)) {
        cfg_error(file, config_setting_source_line(config_setting_get_member(e, "name")),
                  "name: want 1 to %d characters of [A-Za-z0-9_.-]", NAMES_MAX);
        return -EINVAL;
    }
    out->interval_ms = c->interval_ms;
    if (settings_get_double(settings_wrap(e), "interval", &seconds) == 0) {
        if (kind != COLLECTOR_KIND_SOURCE) {
            cfg_error(file, config_setting_source_line(config_setting_get_member(e, "interval")),
                      "interval: only sources have an interval");
            return -EINVAL;
        }
        out->interval_ms = (int64_t)llround(seconds * 1000.0);
    }
    snprintf(out->plugin, sizeof(out->plugin), "%s", plugin);
    snprintf(out->name, sizeof(out->name), "%s", name ? name : plugin);
    out->kind = kind;
    out->enabled = enabled;
    out->group = e;
    out->file = file ? file : c->path;
    out->line = line;
    return 0;
}

int config_load(const char *path, struct daemon_cfg **out)
{
    struct daemon_cfg *c = calloc(1, sizeof(*c));
    size_t total = 0;
    int rc = -EINVAL;

    if (c == NULL)
        return -ENOMEM;
    config_init(&c->cfg);
    if ((size_t)snprintf(c->path, sizeof(c->path), "%s", path) >= sizeof(c->path)) {
        log_msg(LOG_CORE, COLLECTOR_LOG_ERROR, "%.64s...: config path too long", path);
        goto fail;
    }
    rc = parse(c, path);
    if (rc < 0)
        goto fail;
    rc = -EINVAL;
    if (read_collector(c) < 0)
        goto fail;

    for (size_t l = 0; l < 3; l++) {
        const config_setting_t *list = config_lookup(&c->cfg, lists[l].list);
        if (list == NULL)
            continue;
        if (config_setting_type(list) != CONFIG_TYPE_LIST &&
            !(config_setting_type(list) == CONFIG_TYPE_ARRAY && config_setting_length(list) == 0)) {
            cfg_error(config_setting_source_file(list), config_setting_source_line(list),
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
                cfg_error(config_setting_source_file(m), config_setting_source_line(m),
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
                    cfg_error(ic->file, ic->line,
                              "two instances named \"%s\" (the other is at %s:%u): give "
                              "each a unique name = \"...\";",
                              ic->name, c->inst[j].file, c->inst[j].line);
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
    for (size_t i = 0; i < cfg->nfiles; i++)
        free(cfg->files[i]);
    free(cfg->files);
    free(cfg->inst);
    free(cfg);
}

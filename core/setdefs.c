/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/setdefs.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/expand.h"

#define TEXT_MAX 4096

static const char *const host_keys[] = {"plugin", "name", "enabled", "interval", "control",
                                        NULL};

static int is_host_key(const char *key)
{
    for (const char *const *k = host_keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case COLLECTOR_SETTING_STRING:
        return "string";
    case COLLECTOR_SETTING_INT:
        return "integer";
    case COLLECTOR_SETTING_DOUBLE:
        return "number";
    case COLLECTOR_SETTING_BOOL:
        return "boolean";
    case COLLECTOR_SETTING_LIST:
        return "list";
    default:
        return "unknown";
    }
}

struct where {
    const char *instance;
    char *err;
    size_t err_size;
};

static int fail(const struct where *w, const config_setting_t *at, const char *key,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(const struct where *w, const config_setting_t *at, const char *key,
                const char *fmt, ...)
{
    char msg[1024];
    const char *file = at ? config_setting_source_file(at) : NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(w->err, w->err_size, "%s:%u: %s: %s%s%s", file ? file : "(config)",
             at ? config_setting_source_line(at) : 0, w->instance, key ? key : "",
             key ? ": " : "", msg);
    return -EINVAL;
}

static const struct collector_setting_def *find_def(const struct collector_setting_def *defs,
                                                    const char *name)
{
    for (; defs != NULL && defs->name != NULL; defs++)
        if (strcmp(defs->name, name) == 0)
            return defs;
    return NULL;
}

/* "a, b, c" from a NULL-terminated list or a table's names. */
static void join(char *out, size_t size, const char *const *list,
                 const struct collector_setting_def *defs)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0;; i++) {
        const char *s = list ? list[i] : defs[i].name;
        int w;
        if (s == NULL)
            break;
        w = snprintf(out + used, size - used, "%s%s", used ? ", " : "", s);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

/* Expand ${VAR} in one string scalar, in place. */
static int expand_scalar(const struct where *w, config_setting_t *m, const char *key,
                         int secret)
{
    char out[TEXT_MAX], missing[128];
    const char *in = config_setting_get_string(m);
    int rc = expand_env(in ? in : "", out, sizeof(out), missing, sizeof(missing));

    if (rc == -ENOENT)
        return fail(w, m, key, "environment variable %s is not set (write \"${%s:-default}\" "
                    "to give a default)", missing, missing);
    if (rc == -EINVAL)
        return fail(w, m, key, "bad variable reference %s (want ${NAME} or ${NAME:-default})",
                    secret ? "(hidden)" : missing);
    if (rc < 0)
        return fail(w, m, key, "too long after expanding variables");
    if (rc > 0 && config_setting_set_string(m, out) != CONFIG_TRUE)
        return fail(w, m, key, "out of memory");
    return 0;
}

/* Expand every string scalar below an aggregate. */
static int expand_tree(const struct where *w, config_setting_t *m, const char *key, int secret)
{
    if (config_setting_type(m) == CONFIG_TYPE_STRING)
        return expand_scalar(w, m, key, secret);
    if (!config_setting_is_aggregate(m))
        return 0;
    for (int i = 0; i < config_setting_length(m); i++) {
        int rc = expand_tree(w, config_setting_get_elem(m, (unsigned)i), key, secret);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Replace member `m` of `g` with a new scalar of `type`; keeps its place in
 * the file for error messages. Returns the new setting or NULL. */
static config_setting_t *retype(config_setting_t *g, config_setting_t *m, int type)
{
    char name[128];
    unsigned line = m->line;
    const char *file = m->file;
    config_setting_t *n;

    snprintf(name, sizeof(name), "%s", config_setting_name(m));
    if (config_setting_remove(g, name) != CONFIG_TRUE)
        return NULL;
    n = config_setting_add(g, name, type);
    if (n != NULL) {
        n->line = line;
        n->file = file;
    }
    return n;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 0);
    if (end == s || *end != '\0' || errno != 0)
        return -EINVAL;
    *out = (int64_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0)
        *out = 1;
    else if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0)
        *out = 0;
    else
        return -EINVAL;
    return 0;
}

static void fmt_num(char *out, size_t size, double v, uint32_t type)
{
    if (type == COLLECTOR_SETTING_INT)
        snprintf(out, size, "%" PRId64, (int64_t)v);
    else
        snprintf(out, size, "%g", v);
}

static int check_range(const struct where *w, const config_setting_t *m,
                       const struct collector_setting_def *d, double v)
{
    char lo[32], hi[32];

    fmt_num(lo, sizeof(lo), d->min, d->type);
    fmt_num(hi, sizeof(hi), d->max, d->type);
    if (((d->flags & COLLECTOR_SETTING_MIN) && v < d->min) ||
        ((d->flags & COLLECTOR_SETTING_MAX) && v > d->max)) {
        const char *unit = d->unit ? d->unit : "";
        if ((d->flags & COLLECTOR_SETTING_MIN) && (d->flags & COLLECTOR_SETTING_MAX))
            return fail(w, m, d->name, "out of range: want %s to %s%s%s", lo, hi,
                        *unit ? " " : "", unit);
        if (d->flags & COLLECTOR_SETTING_MIN)
            return fail(w, m, d->name, "too small: want at least %s%s%s", lo, *unit ? " " : "",
                        unit);
        return fail(w, m, d->name, "too large: want at most %s%s%s", hi, *unit ? " " : "",
                    unit);
    }
    return 0;
}

static int check_string(const struct where *w, const config_setting_t *m,
                        const struct collector_setting_def *d)
{
    const char *s = config_setting_get_string(m);
    size_t n = s ? strlen(s) : 0;
    int secret = (d->flags & COLLECTOR_SETTING_SECRET) != 0;

    if (s == NULL)
        return fail(w, m, d->name, "want a string");
    if (d->allowed != NULL) {
        int ok = 0;
        char list[512];
        for (const char *const *a = d->allowed; *a && !ok; a++)
            ok = strcmp(*a, s) == 0;
        if (!ok) {
            join(list, sizeof(list), d->allowed, NULL);
            if (secret)
                return fail(w, m, d->name, "not an allowed value (want one of: %s)", list);
            return fail(w, m, d->name, "\"%s\" is not one of: %s", s, list);
        }
    }
    if ((d->flags & COLLECTOR_SETTING_MIN) && (double)n < d->min)
        return fail(w, m, d->name, "too short: want at least %g character(s)", d->min);
    if ((d->flags & COLLECTOR_SETTING_MAX) && (double)n > d->max)
        return fail(w, m, d->name, "too long: want at most %g character(s)", d->max);
    if ((d->flags & COLLECTOR_SETTING_PATH) && n > 0 && s[0] != '/')
        return fail(w, m, d->name, "want an absolute path (starting with /)");
    return 0;
}

/* A string given for a number or a boolean (after ${VAR} expansion): store
 * it with its real type. Returns the setting, or NULL with `*rc` set. */
static config_setting_t *typed_from_text(const struct where *w, config_setting_t *g,
                                         config_setting_t *m,
                                         const struct collector_setting_def *d, int *rc)
{
    const char *text = config_setting_get_string(m);
    config_setting_t *n = NULL;
    int64_t i;
    double f;
    int b, ok = 0;

    if (d->type == COLLECTOR_SETTING_INT && parse_int(text, &i) == 0)
        ok = (n = retype(g, m, CONFIG_TYPE_INT64)) && config_setting_set_int64(n, i);
    else if (d->type == COLLECTOR_SETTING_DOUBLE && parse_double(text, &f) == 0)
        ok = (n = retype(g, m, CONFIG_TYPE_FLOAT)) && config_setting_set_float(n, f);
    else if (d->type == COLLECTOR_SETTING_BOOL && parse_bool(text, &b) == 0)
        ok = (n = retype(g, m, CONFIG_TYPE_BOOL)) && config_setting_set_bool(n, b);
    else {
        *rc = fail(w, m, d->name, "want %s",
                   d->type == COLLECTOR_SETTING_INT      ? "an integer"
                   : d->type == COLLECTOR_SETTING_DOUBLE ? "a number"
                                                         : "true or false");
        return NULL;
    }
    if (!ok) {
        *rc = fail(w, m, d->name, "out of memory");
        return NULL;
    }
    return n;
}

/* Check one present member against its definition; may retype it. */
static int check_member(const struct where *w, config_setting_t *g, config_setting_t *m,
                        const struct collector_setting_def *d)
{
    int secret = (d->flags & COLLECTOR_SETTING_SECRET) != 0;
    int t = config_setting_type(m);
    int rc = 0;

    if (d->type == COLLECTOR_SETTING_LIST) {
        if (!config_setting_is_aggregate(m))
            return fail(w, m, d->name, "want a list ( ... ) or array [ ... ]");
        return expand_tree(w, m, d->name, secret);
    }
    if (t == CONFIG_TYPE_STRING) {
        rc = expand_scalar(w, m, d->name, secret);
        if (rc < 0)
            return rc;
        if (d->type != COLLECTOR_SETTING_STRING) {
            m = typed_from_text(w, g, m, d, &rc);
            if (m == NULL)
                return rc;
            t = config_setting_type(m);
        }
    }
    switch (d->type) {
    case COLLECTOR_SETTING_STRING:
        if (t != CONFIG_TYPE_STRING)
            return fail(w, m, d->name, "want a string in double quotes");
        return check_string(w, m, d);
    case COLLECTOR_SETTING_INT:
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return fail(w, m, d->name, "want an integer");
        return check_range(w, m, d, (double)config_setting_get_int64(m));
    case COLLECTOR_SETTING_DOUBLE: {
        double v;
        if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
            v = (double)config_setting_get_int64(m);
        else if (t == CONFIG_TYPE_FLOAT)
            v = config_setting_get_float(m);
        else
            return fail(w, m, d->name, "want a number");
        if (!isfinite(v))
            return fail(w, m, d->name, "want a finite number");
        return check_range(w, m, d, v);
    }
    case COLLECTOR_SETTING_BOOL:
        return t == CONFIG_TYPE_BOOL ? 0 : fail(w, m, d->name, "want true or false");
    default:
        return fail(w, m, d->name, "the plugin declares an unknown setting type %u", d->type);
    }
}

/* Add the declared default of an absent setting. */
static int add_default(const struct where *w, config_setting_t *g,
                       const struct collector_setting_def *d)
{
    static const int types[] = {0, CONFIG_TYPE_STRING, CONFIG_TYPE_INT64, CONFIG_TYPE_FLOAT,
                                CONFIG_TYPE_BOOL};
    config_setting_t *n;
    int ok = 0;

    if (d->type < COLLECTOR_SETTING_STRING || d->type > COLLECTOR_SETTING_BOOL)
        return fail(w, g, d->name, "the plugin declares a default for a %s", type_name(d->type));
    n = config_setting_add(g, d->name, types[d->type]);
    if (n == NULL)
        return fail(w, g, d->name, "cannot add the default");
    n->line = g->line;
    n->file = g->file;
    switch (d->type) {
    case COLLECTOR_SETTING_STRING: {
        /* A default may name the environment too: "${DB_PATH:-inverter.db}". */
        char text[TEXT_MAX], missing[128];
        int rc = expand_env(d->default_value, text, sizeof(text), missing, sizeof(missing));
        if (rc == -ENOENT)
            return fail(w, g, d->name, "environment variable %s is not set (and the setting "
                        "is not either)", missing);
        ok = rc >= 0 && config_setting_set_string(n, rc > 0 ? text : d->default_value) ==
                            CONFIG_TRUE;
        break;
    }
    case COLLECTOR_SETTING_INT: {
        int64_t v;
        ok = parse_int(d->default_value, &v) == 0 && config_setting_set_int64(n, v) == CONFIG_TRUE;
        break;
    }
    case COLLECTOR_SETTING_DOUBLE: {
        double v;
        ok = parse_double(d->default_value, &v) == 0 &&
             config_setting_set_float(n, v) == CONFIG_TRUE;
        break;
    }
    default: {
        int v;
        ok = parse_bool(d->default_value, &v) == 0 && config_setting_set_bool(n, v) == CONFIG_TRUE;
        break;
    }
    }
    if (!ok)
        return fail(w, g, d->name, "the plugin declares a bad default \"%s\"", d->default_value);
    return 0;
}

int setdefs_apply(config_setting_t *g, const struct collector_plugin *desc, const char *instance,
                  char *err, size_t err_size)
{
    const struct collector_setting_def *defs = desc->setting_defs;
    struct where w = {instance, err, err_size};
    char list[1024];
    int rc;

    err[0] = '\0';
    if (g == NULL || config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail(&w, g, NULL, "settings must be a group { ... }");
    /* Present members: known, typed, in range. Walk by name: check_member
     * may move a member to the end of the group when it retypes it. */
    {
        int n = config_setting_length(g);
        char(*names)[128] = calloc(n > 0 ? (size_t)n : 1, sizeof(*names));
        if (names == NULL)
            return fail(&w, g, NULL, "out of memory");
        for (int i = 0; i < n; i++)
            snprintf(names[i], sizeof(names[i]), "%s",
                     config_setting_name(config_setting_get_elem(g, (unsigned)i)));
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            config_setting_t *m = config_setting_get_member(g, names[i]);
            const struct collector_setting_def *d;
            if (m == NULL || is_host_key(names[i]))
                continue;
            if (defs != NULL) {
                d = find_def(defs, names[i]);
                if (d == NULL) {
                    join(list, sizeof(list), NULL, defs);
                    rc = fail(&w, m, names[i], "unknown setting (plugin %s knows: %s)",
                              desc->name, list);
                } else {
                    rc = check_member(&w, g, m, d);
                }
            } else {
                int known = desc->settings == NULL;
                for (const char *const *k = desc->settings; k && *k && !known; k++)
                    known = strcmp(*k, names[i]) == 0;
                if (!known) {
                    join(list, sizeof(list), desc->settings, NULL);
                    rc = fail(&w, m, names[i], "unknown setting (plugin %s knows: %s)",
                              desc->name, list);
                } else {
                    rc = expand_tree(&w, m, names[i], 0);
                }
            }
        }
        free(names);
        if (rc < 0)
            return rc;
    }
    /* Absent members: required ones are an error, others get their default. */
    for (const struct collector_setting_def *d = defs; d != NULL && d->name != NULL; d++) {
        if (config_setting_get_member(g, d->name) != NULL)
            continue;
        if (d->flags & COLLECTOR_SETTING_REQUIRED)
            return fail(&w, g, NULL, "missing required setting \"%s\" (%s%s%s)", d->name,
                        type_name(d->type), d->description ? ": " : "",
                        d->description ? d->description : "");
        if (d->default_value != NULL && (rc = add_default(&w, g, d)) < 0)
            return rc;
    }
    return 0;
}

static void describe_range(char *out, size_t size, const struct collector_setting_def *d)
{
    char lo[32], hi[32];

    out[0] = '\0';
    fmt_num(lo, sizeof(lo), d->min, d->type == COLLECTOR_SETTING_STRING ? 1 : d->type);
    fmt_num(hi, sizeof(hi), d->max, d->type == COLLECTOR_SETTING_STRING ? 1 : d->type);
    if (d->type == COLLECTOR_SETTING_STRING) {
        if (d->flags & (COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX))
            snprintf(out, size, "%s%s%s characters", (d->flags & COLLECTOR_SETTING_MIN) ? lo : "0",
                     " to ", (d->flags & COLLECTOR_SETTING_MAX) ? hi : "any");
        if (d->allowed != NULL) {
            char list[512];
            join(list, sizeof(list), d->allowed, NULL);
            snprintf(out, size, "one of: %s", list);
        }
        return;
    }
    if ((d->flags & COLLECTOR_SETTING_MIN) && (d->flags & COLLECTOR_SETTING_MAX))
        snprintf(out, size, "%s to %s", lo, hi);
    else if (d->flags & COLLECTOR_SETTING_MIN)
        snprintf(out, size, "at least %s", lo);
    else if (d->flags & COLLECTOR_SETTING_MAX)
        snprintf(out, size, "at most %s", hi);
}

/* groff needs a backslash doubled and a leading dot or quote escaped. */
static void man_text(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

/* ABI 1.2: the commands a source offers; an instance allows them with
 * `control = (...)` (docs/control.md). */
static void describe_commands(FILE *out, const struct collector_plugin *desc, int man)
{
    const struct collector_command_def *c;

    if (desc->abi_minor < 2 || desc->commands == NULL || desc->commands[0].name == NULL)
        return;
    if (man)
        fputs(".PP\nCommands, each allowed only when the instance's\n.B control\nlists it:\n",
              out);
    else
        fputs("  commands (allowed one by one with control = (...)):\n", out);
    for (c = desc->commands; c->name != NULL; c++) {
        if (man) {
            fprintf(out, ".TP\n.BR %s \" (on or off)\"\n", c->name);
            man_text(out, c->description ? c->description : "");
            fputc('\n', out);
        } else {
            fprintf(out, "  %-18s on|off\n      %s\n", c->name,
                    c->description ? c->description : "");
        }
    }
}

void setdefs_describe(FILE *out, const struct collector_plugin *desc, int man)
{
    const struct collector_setting_def *d = desc->setting_defs;
    const char *kind = desc->kind == COLLECTOR_KIND_SOURCE       ? "source"
                       : desc->kind == COLLECTOR_KIND_CALCULATOR ? "calculator"
                                                                 : "sink";

    if (man) {
        fprintf(out, ".SS %s (%s)\n", desc->name, kind);
        man_text(out, desc->description ? desc->description : "");
        fputc('\n', out);
    } else {
        fprintf(out, "%s %s (%s): %s\n", desc->name, desc->version ? desc->version : "", kind,
                desc->description ? desc->description : "");
    }
    if (d == NULL) {
        fprintf(out, man ? ".PP\nThis plugin declares no settings table.\n"
                         : "  (no settings table: a plugin built for ABI 1.0)\n");
        describe_commands(out, desc, man);
        return;
    }
    for (; d->name != NULL; d++) {
        char range[600], dflt[300] = "";
        const char *flags[4];
        size_t nf = 0;

        describe_range(range, sizeof(range), d);
        if (d->flags & COLLECTOR_SETTING_REQUIRED)
            flags[nf++] = "required";
        if (d->flags & COLLECTOR_SETTING_SECRET)
            flags[nf++] = "secret";
        if (d->flags & COLLECTOR_SETTING_PATH)
            flags[nf++] = "path";
        if (d->default_value != NULL && !(d->flags & COLLECTOR_SETTING_SECRET))
            snprintf(dflt, sizeof(dflt), "%s%s%s", d->type == COLLECTOR_SETTING_STRING ? "\"" : "",
                     d->default_value, d->type == COLLECTOR_SETTING_STRING ? "\"" : "");
        if (strcmp(dflt, "\"\"") == 0)
            snprintf(dflt, sizeof(dflt), "empty");
        if (man) {
            fprintf(out, ".TP\n.BR %s \" (%s", d->name, type_name(d->type));
            if (d->unit)
                fprintf(out, ", %s", d->unit);
            for (size_t i = 0; i < nf; i++)
                fprintf(out, ", %s", flags[i]);
            fputs(")\"\n", out);
            man_text(out, d->description ? d->description : "");
            if (d->description && *d->description &&
                d->description[strlen(d->description) - 1] != '.')
                fputc('.', out);
            if (range[0]) {
                fputs(d->allowed ? " Values: " : " Range: ", out);
                man_text(out, d->allowed ? range + strlen("one of: ") : range);
                fputc('.', out);
            }
            if (dflt[0]) {
                fputs(" Default: ", out);
                man_text(out, dflt);
                fputc('.', out);
            }
            fputc('\n', out);
        } else {
            fprintf(out, "  %-18s %-8s", d->name, type_name(d->type));
            if (d->unit)
                fprintf(out, " [%s]", d->unit);
            for (size_t i = 0; i < nf; i++)
                fprintf(out, " %s", flags[i]);
            if (dflt[0])
                fprintf(out, " default %s", dflt);
            if (range[0])
                fprintf(out, " (%s)", range);
            fprintf(out, "\n      %s\n", d->description ? d->description : "");
        }
    }
    describe_commands(out, desc, man);
}

/* Append to a growing buffer; -ENOMEM on failure. */
struct buf {
    char *s;
    size_t len, cap;
};

static int buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int buf_add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -EINVAL;
        if (b->s != NULL && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        {
            size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
            char *s = realloc(b->s, cap);
            if (s == NULL)
                return -ENOMEM;
            b->s = s;
            b->cap = cap;
        }
    }
}

static int fingerprint(struct buf *b, const config_setting_t *s)
{
    const char *name = config_setting_name(s);
    int rc = buf_add(b, "%s:%d=", name ? name : "", config_setting_type(s));

    if (rc < 0)
        return rc;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return buf_add(b, "%lld;", (long long)config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return buf_add(b, "%a;", config_setting_get_float(s));
    case CONFIG_TYPE_BOOL:
        return buf_add(b, "%d;", config_setting_get_bool(s));
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string(s);
        return buf_add(b, "%zu'%s;", strlen(v ? v : ""), v ? v : "");
    }
    default:
        rc = buf_add(b, "{");
        for (int i = 0; rc == 0 && i < config_setting_length(s); i++)
            rc = fingerprint(b, config_setting_get_elem(s, (unsigned)i));
        return rc < 0 ? rc : buf_add(b, "}");
    }
}

char *setdefs_fingerprint(const config_setting_t *g)
{
    struct buf b = {NULL, 0, 0};

    if (fingerprint(&b, g) < 0) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

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
#include <sys/stat.h>

#include "core/expand.h"
#include "core/hostdefs.h"
#include "core/names.h"
#include "plugins/libsafeopen/safe_open.h"

/* The longest string a setting holds after ${VAR} expansion. */
#define TEXT_MAX 4096

const char *setdefs_type_name(uint32_t type)
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

void setdefs_join(char *out, size_t size, const char *const *list,
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

void setdefs_format_number(char *out, size_t size, double v, uint32_t type)
{
    if (type == COLLECTOR_SETTING_INT)
        snprintf(out, size, "%" PRId64, (int64_t)v);
    else
        snprintf(out, size, "%g", v);
}

/* " s (7 days)": a bound in seconds that is a whole number of days says so. */
static void bound_unit(char *out, size_t size, const char *unit, double v)
{
    if (unit == NULL || *unit == '\0')
        out[0] = '\0';
    else if (strcmp(unit, "s") == 0 && v >= 86400.0 && fmod(v, 86400.0) == 0.0)
        snprintf(out, size, " s (%g day%s)", v / 86400.0, v == 86400.0 ? "" : "s");
    else
        snprintf(out, size, " %s", unit);
}

static int check_range(const struct where *w, const config_setting_t *m,
                       const struct collector_setting_def *d, double v)
{
    char lo[32], hi[32], hi_unit[64], lo_unit[64];

    setdefs_format_number(lo, sizeof(lo), d->min, d->type);
    setdefs_format_number(hi, sizeof(hi), d->max, d->type);
    bound_unit(lo_unit, sizeof(lo_unit), d->unit, d->min);
    bound_unit(hi_unit, sizeof(hi_unit), d->unit, d->max);
    if (((d->flags & COLLECTOR_SETTING_MIN) && v < d->min) ||
        ((d->flags & COLLECTOR_SETTING_MAX) && v > d->max)) {
        if ((d->flags & COLLECTOR_SETTING_MIN) && (d->flags & COLLECTOR_SETTING_MAX))
            return fail(w, m, d->name, "out of range: want %s to %s%s", lo, hi, hi_unit);
        if (d->flags & COLLECTOR_SETTING_MIN)
            return fail(w, m, d->name, "too small: want at least %s%s", lo, lo_unit);
        return fail(w, m, d->name, "too large: want at most %s%s", hi, hi_unit);
    }
    return 0;
}

/* A PATH setting names a file the instance reads: when it exists it must be
 * a regular file (stat never waits; a FIFO, a device, a directory or a
 * socket is refused here, before any plugin opens it). DEVICE: a character
 * device is expected instead (a serial port). */
static int check_path(const struct where *w, const config_setting_t *m,
                      const struct collector_setting_def *d, const char *s)
{
    struct stat st;

    if (s[0] != '/')
        return fail(w, m, d->name, "want an absolute path (starting with /)");
    if (stat(s, &st) != 0)
        return 0; /* missing: the plugin says whether that matters */
    if (d->flags & COLLECTOR_SETTING_DEVICE) {
        if (!S_ISCHR(st.st_mode))
            return fail(w, m, d->name, "%s: %s, not a device", s, safe_open_kind(st.st_mode));
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return fail(w, m, d->name, "%s: %s, not a regular file", s, safe_open_kind(st.st_mode));
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
            setdefs_join(list, sizeof(list), d->allowed, NULL);
            if (secret)
                return fail(w, m, d->name, "not an allowed value (want one of: %s)", list);
            return fail(w, m, d->name, "\"%s\" is not one of: %s", s, list);
        }
    }
    if ((d->flags & COLLECTOR_SETTING_MIN) && (double)n < d->min)
        return fail(w, m, d->name, "too short: want at least %g character(s)", d->min);
    if ((d->flags & COLLECTOR_SETTING_MAX) && (double)n > d->max)
        return fail(w, m, d->name, "too long: want at most %g character(s)", d->max);
    if ((d->flags & COLLECTOR_SETTING_PATH) && n > 0)
        return check_path(w, m, d, s);
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
        return fail(w, g, d->name, "the plugin declares a default for a %s", setdefs_type_name(d->type));
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

int setdefs_check(config_setting_t *g, const struct setdefs_table *t, const char *instance,
                  char *err, size_t err_size)
{
    const struct collector_setting_def *defs = t->defs;
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
            if (m == NULL || (t->skip != NULL && t->skip(names[i])))
                continue;
            if (defs != NULL) {
                d = find_def(defs, names[i]);
                if (d != NULL) {
                    rc = check_member(&w, g, m, d);
                } else if (!t->others_ok) {
                    setdefs_join(list, sizeof(list), NULL, defs);
                    rc = fail(&w, m, names[i], "unknown setting (%s knows: %s)", t->owner, list);
                }
            } else {
                int known = t->names == NULL;
                for (const char *const *k = t->names; k && *k && !known; k++)
                    known = strcmp(*k, names[i]) == 0;
                if (!known) {
                    setdefs_join(list, sizeof(list), t->names, NULL);
                    rc = fail(&w, m, names[i], "unknown setting (%s knows: %s)", t->owner, list);
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
                        setdefs_type_name(d->type), d->description ? ": " : "",
                        d->description ? d->description : "");
        if (d->default_value != NULL && (rc = add_default(&w, g, d)) < 0)
            return rc;
    }
    return 0;
}

int setdefs_apply(config_setting_t *g, const struct collector_plugin *desc, const char *instance,
                  char *err, size_t err_size)
{
    char owner[sizeof("plugin ") + NAMES_MAX];
    struct setdefs_table t = {
        .defs = desc->setting_defs,
        .names = desc->settings,
        .owner = owner,
        .skip = hostdefs_is_entry_key,
    };

    snprintf(owner, sizeof(owner), "plugin %s", desc->name);
    return setdefs_check(g, &t, instance, err, err_size);
}

int setdefs_literal_secret(const config_setting_t *g, const struct collector_setting_def *defs,
                           const config_setting_t **where)
{
    for (; defs != NULL && defs->name != NULL; defs++) {
        const config_setting_t *m;
        const char *v;
        if (!(defs->flags & COLLECTOR_SETTING_SECRET) || defs->type != COLLECTOR_SETTING_STRING)
            continue;
        m = config_setting_get_member(g, defs->name);
        v = m != NULL ? config_setting_get_string(m) : NULL;
        if (v != NULL && *v != '\0' && strstr(v, "${") == NULL) {
            *where = m;
            return 1;
        }
    }
    return 0;
}

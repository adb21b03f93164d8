/* SPDX-License-Identifier: GPL-2.0-or-later */
/* influxdb: every record as one InfluxDB line-protocol point, written over
 * HTTP(S) with libcurl to the 1.x write API (/write?db=...) or the 2.x one
 * (/api/v2/write?org=...&bucket=..., "Authorization: Token ..."). The same
 * lines reach VictoriaMetrics, QuestDB and Telegraf's InfluxDB listener.
 *
 * A point: measurement `measurement` (default "battery"); tags battery (the
 * source instance), address (the record's device), model (bms_model) and the
 * configured extra `tags`; fields every number and boolean of the record,
 * each element of an array as <name without its final s>_NN (cells ->
 * cell_01 ... cell_16), strings only when named in `fields`; the record's
 * time in `precision`.
 *
 * create() validates and allocates; start() starts the sender thread
 * (influx_send.c), which does all network I/O; write() only formats a line
 * and queues it, or says -EAGAIN so the host keeps the record. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/influxdb/influx_send.h"
#include "plugins/influxdb/line_protocol.h"
#include "plugins/libsafeopen/safe_open.h"

#define SECRET_MAX 4096
#define FIXED_TAGS 3 /* battery, address, model */

struct influx {
    const struct collector_host_api *api;
    collector_host *host;
    struct influx_sender *sender;
    char *measurement, *precision;
    char **extra; /* key, value, key, value ... */
    size_t nextra;
    char **string_fields;
    size_t nstring_fields;
    struct lp_tag *tags; /* FIXED_TAGS + nextra, filled per record */
    struct lp_buf line;  /* scratch for the point being formatted */
};

static const char *const precisions[] = {"ns", "us", "ms", "s", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "url", .type = COLLECTOR_SETTING_STRING, .default_value = "http://127.0.0.1:8086",
     .description = "the server: http://host:port or https://host:port (a path prefix is kept)"},
    {.name = "database", .type = COLLECTOR_SETTING_STRING,
     .description = "InfluxDB 1.x: the database to write to (or use bucket for 2.x)"},
    {.name = "username", .type = COLLECTOR_SETTING_STRING,
     .description = "InfluxDB 1.x: user for HTTP basic authentication"},
    {.name = "password", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_SECRET,
     .description = "InfluxDB 1.x: the user's password"},
    {.name = "password_file", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "InfluxDB 1.x: a file holding the password (one line)"},
    {.name = "retention_policy", .type = COLLECTOR_SETTING_STRING,
     .description = "InfluxDB 1.x: retention policy (default: the database's default)"},
    {.name = "org", .type = COLLECTOR_SETTING_STRING,
     .description = "InfluxDB 2.x: organisation (name or ID)"},
    {.name = "bucket", .type = COLLECTOR_SETTING_STRING,
     .description = "InfluxDB 2.x: the bucket to write to (or use database for 1.x)"},
    {.name = "token", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_SECRET,
     .description = "InfluxDB 2.x: API token with write permission on the bucket (no control "
                    "characters)"},
    {.name = "token_file", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "InfluxDB 2.x: a file holding the token (one line)"},
    {.name = "measurement", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "battery", .min = 1,
     .description = "measurement name of the points"},
    {.name = "tags", .type = COLLECTOR_SETTING_LIST,
     .description = "extra tags on every point: tags = [ \"site=home\", \"room=garage\" ];"},
    {.name = "precision", .type = COLLECTOR_SETTING_STRING, .default_value = "ms",
     .allowed = precisions,
     .description = "timestamp precision: ns, us, ms or s"},
    {.name = "fields", .type = COLLECTOR_SETTING_LIST,
     .description = "string metrics to write as string fields, e.g. [ \"errors\", \"protocol\" ]"},
    {.name = "batch_size", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "100", .min = 1,
     .max = 100000,
     .description = "points per write request"},
    {.name = "batch_bytes", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "1048576",
     .min = 1024, .max = 67108864, .unit = "B",
     .description = "bytes of line protocol per write request: two batches at most are kept, so "
                    "this bounds the sink's memory whatever batch_size says"},
    {.name = "flush_interval", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "5", .min = 0.05,
     .max = 3600, .unit = "s",
     .description = "the longest a point waits for its batch to fill"},
    {.name = "cafile", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "PEM file of the CA(s) that sign the server's certificate (https)"},
    {.name = "tls_verify", .type = COLLECTOR_SETTING_BOOL, .default_value = "true",
     .description = "check the server's certificate and name (https)"},
    {.name = "proxy", .type = COLLECTOR_SETTING_STRING,
     .description = "a proxy to reach the server through (http://host:port); none by default: "
                    "http_proxy and the like in the environment are never used"},
    {.name = "timeout", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "10", .min = 0.1,
     .max = 300, .unit = "s",
     .description = "the longest one write request may take; then it is retried"},
    {.name = NULL},
};

/* ---- create ---- */

/* 1 when `v` holds a control character (a header or URL could be forged). */
static int has_control(const char *v)
{
    for (; *v != '\0'; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 1;
    return 0;
}

/* An optional string setting: NULL when absent or "". */
static const char *opt(const struct collector_host_api *api, const collector_settings *s,
                       const char *key)
{
    const char *v = NULL;
    if (api->setting_string(s, key, &v) != 0 || v == NULL || v[0] == '\0')
        return NULL;
    return v;
}

/* A value that goes into an HTTP header (a token, a user name) holds no
 * control character: a CR or LF would start headers of its own. Said without
 * the value (a secret). */
static int no_control(const struct collector_host_api *api, collector_host *host,
                      const collector_settings *s, const char *key, const char *v)
{
    for (size_t i = 0; v != NULL && v[i] != '\0'; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c == 0x7f) {
            api->setting_error(host, s, key,
                               "has a control character (0x%02x at byte %zu): refused, never "
                               "sent",
                               c, i + 1);
            return -EINVAL;
        }
    }
    return 0;
}

/* The secret from `key` or from `file_key`, never both. NULL and 0 when
 * neither is set. */
static int secret(const struct collector_host_api *api, collector_host *host,
                  const collector_settings *s, const char *key, const char *file_key, char *buf,
                  size_t cap, const char **out)
{
    const char *v = opt(api, s, key), *file = opt(api, s, file_key);
    int rc;

    *out = v;
    if (v != NULL && file != NULL) {
        api->setting_error(host, s, file_key, "set %s or %s, not both", key, file_key);
        return -EINVAL;
    }
    if (file != NULL) {
        char why[PATH_MAX + 64];
        rc = safe_read_line(file, 0, buf, cap, why, sizeof(why));
        if (rc < 0) {
            api->setting_error(host, s, file_key, "%s", why);
            return rc;
        }
        *out = buf;
    }
    return no_control(api, host, s, file != NULL ? file_key : key, *out);
}

static char *dup_str(const char *p)
{
    return p != NULL ? strdup(p) : NULL;
}

/* A list setting of strings as copies; `check` refuses an element with a
 * message (NULL: fine). */
static int read_strings(struct influx *x, const collector_settings *s, const char *key,
                        const char *(*check)(const char *), char ***out, size_t *count)
{
    const struct collector_host_api *api = x->api;
    const collector_settings *list, *e;
    size_t n;

    if (api->setting_child(s, key, &list) != 0)
        return 0;
    n = api->setting_count(list);
    if ((*out = calloc(n + 1, sizeof(**out))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *v = NULL, *why = NULL;
        if (api->setting_element(list, i, &e) != 0 || api->setting_string(e, NULL, &v) != 0 ||
            (why = check(v)) != NULL) {
            api->setting_error(x->host, s, key, "element %zu: %s", i + 1,
                               why != NULL ? why : "want a string");
            return -EINVAL;
        }
        if (((*out)[i] = strdup(v)) == NULL)
            return -ENOMEM;
        *count = i + 1;
    }
    return 0;
}

static const char *check_tag(const char *v)
{
    static const char *const own[] = {"battery=", "address=", "model="};
    const char *eq = strchr(v, '=');

    if (eq == NULL || eq == v || eq[1] == '\0')
        return "want \"key=value\" with neither empty";
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (strncmp(v, own[i], strlen(own[i])) == 0)
            return "battery, address and model are the sink's own tags";
    return NULL;
}

static const char *check_field(const char *v)
{
    return v[0] != '\0' ? NULL : "want a metric name";
}

/* The write URL of the 1.x or the 2.x API, from the checked settings. */
static int write_url(const char *url, const char *db, const char *rp, const char *org,
                     const char *bucket, const char *precision, struct lp_buf *u)
{
    size_t n = strlen(url);

    while (n > 0 && url[n - 1] == '/')
        n--;
    lp_append(u, url, n);
    if (db != NULL) {
        /* 1.x spells the precisions n, u, ms, s */
        const char *p1 = strcmp(precision, "ns") == 0   ? "n"
                         : strcmp(precision, "us") == 0 ? "u"
                                                        : precision;
        lp_append(u, "/write?db=", 10);
        lp_url_escape(u, db);
        if (rp != NULL) {
            lp_append(u, "&rp=", 4);
            lp_url_escape(u, rp);
        }
        lp_append(u, "&precision=", 11);
        lp_url_escape(u, p1);
    } else {
        lp_append(u, "/api/v2/write?org=", 18);
        lp_url_escape(u, org);
        lp_append(u, "&bucket=", 8);
        lp_url_escape(u, bucket);
        lp_append(u, "&precision=", 11);
        lp_url_escape(u, precision);
    }
    return u->failed ? -ENOMEM : 0;
}

/* http(s)://authority[/path], with no credentials in the authority. */
static const char *check_url(const char *url)
{
    const char *rest;
    size_t auth;

    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return "want http://host:port or https://host:port";
    auth = strcspn(rest, "/?#");
    if (auth == 0)
        return "no host in the URL";
    if (memchr(rest, '@', auth) != NULL)
        return "no credentials in the URL: use username/password or token";
    if (rest[auth] == '?' || rest[auth] == '#')
        return "no query or fragment in the URL: the sink adds its own";
    return NULL;
}

static void influx_destroy(void *state)
{
    struct influx *x = state;

    if (x == NULL)
        return;
    sender_free(x->sender);
    for (size_t i = 0; x->extra != NULL && x->extra[i] != NULL; i++)
        free(x->extra[i]);
    free(x->extra);
    for (size_t i = 0; x->string_fields != NULL && x->string_fields[i] != NULL; i++)
        free(x->string_fields[i]);
    free(x->string_fields);
    free(x->tags);
    free(x->measurement);
    free(x->precision);
    lp_buf_free(&x->line);
    free(x);
}

/* The rules between settings; the host checked each one alone. */
static int check_api_choice(const struct collector_host_api *api, collector_host *host,
                            const collector_settings *s)
{
    const char *db = opt(api, s, "database"), *bucket = opt(api, s, "bucket");
    static const char *const only1[] = {"username", "password", "password_file",
                                        "retention_policy"};
    static const char *const only2[] = {"org", "token", "token_file"};

    if ((db == NULL) == (bucket == NULL)) {
        api->setting_error(host, s, db != NULL ? "bucket" : NULL,
                           "set database (InfluxDB 1.x) or bucket (2.x), exactly one of them");
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof(only1) / sizeof(only1[0]) && bucket != NULL; i++)
        if (opt(api, s, only1[i]) != NULL) {
            api->setting_error(host, s, only1[i], "belongs to the 1.x API (database), not bucket");
            return -EINVAL;
        }
    for (size_t i = 0; i < sizeof(only2) / sizeof(only2[0]) && db != NULL; i++)
        if (opt(api, s, only2[i]) != NULL) {
            api->setting_error(host, s, only2[i], "belongs to the 2.x API (bucket), not database");
            return -EINVAL;
        }
    if (bucket != NULL && opt(api, s, "org") == NULL) {
        api->setting_error(host, s, "bucket", "the 2.x API needs org too");
        return -EINVAL;
    }
    return 0;
}

static int influx_create(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *s, void **state_out)
{
    struct influx *x = calloc(1, sizeof(*x));
    struct influx_target t = {0};
    struct lp_buf url = {0};
    const char *base = NULL, *measurement = NULL, *precision = NULL, *why;
    char *pwbuf = NULL, *tokbuf = NULL;
    int64_t batch = 0, batch_bytes = 0;
    double flush_s = 0, timeout_s = 0;
    int rc = -ENOMEM;

    if (x == NULL)
        return -ENOMEM;
    x->api = api;
    x->host = host;
    pwbuf = calloc(1, SECRET_MAX);
    tokbuf = calloc(1, SECRET_MAX);
    if (pwbuf == NULL || tokbuf == NULL)
        goto fail;
    /* declared with defaults: the host filled them in */
    api->setting_string(s, "url", &base);
    api->setting_string(s, "measurement", &measurement);
    api->setting_string(s, "precision", &precision);
    api->setting_int(s, "batch_size", &batch);
    api->setting_int(s, "batch_bytes", &batch_bytes);
    api->setting_double(s, "flush_interval", &flush_s);
    api->setting_double(s, "timeout", &timeout_s);
    api->setting_bool(s, "tls_verify", &t.tls_verify);
    rc = -EINVAL;
    if ((why = check_url(base)) != NULL) {
        api->setting_error(host, s, "url", "%s", why); /* the URL may hold a password */
        goto fail;
    }
    if (measurement[0] == '#') {
        api->setting_error(host, s, "measurement", "a line starting with # is a comment");
        goto fail;
    }
    if (check_api_choice(api, host, s) < 0)
        goto fail;
    if (secret(api, host, s, "password", "password_file", pwbuf, SECRET_MAX, &t.password) < 0 ||
        secret(api, host, s, "token", "token_file", tokbuf, SECRET_MAX, &t.token) < 0)
        goto fail;
    t.username = opt(api, s, "username");
    if (no_control(api, host, s, "username", t.username) < 0)
        goto fail;
    if (t.password != NULL && t.username == NULL) {
        api->setting_error(host, s, "username", "a password needs a username");
        goto fail;
    }
    if ((rc = read_strings(x, s, "tags", check_tag, &x->extra, &x->nextra)) < 0 ||
        (rc = read_strings(x, s, "fields", check_field, &x->string_fields, &x->nstring_fields)) < 0)
        goto fail;
    for (size_t i = 0; i < x->nextra; i++)
        *strchr(x->extra[i], '=') = '\0'; /* key\0value */
    rc = -ENOMEM;
    x->measurement = dup_str(measurement);
    x->precision = dup_str(precision);
    x->tags = calloc(FIXED_TAGS + x->nextra, sizeof(*x->tags));
    if (x->measurement == NULL || x->precision == NULL || x->tags == NULL ||
        write_url(base, opt(api, s, "database"), opt(api, s, "retention_policy"),
                  opt(api, s, "org"), opt(api, s, "bucket"), precision, &url) < 0)
        goto fail;
    t.base_url = base;
    t.write_url = url.data;
    t.cafile = opt(api, s, "cafile");
    t.proxy = opt(api, s, "proxy");
    if (t.proxy != NULL && (strstr(t.proxy, "://") == NULL || has_control(t.proxy))) {
        api->setting_error(host, s, "proxy", "want scheme://host:port, without control characters");
        rc = -EINVAL;
        goto fail;
    }
    t.timeout_ms = (int64_t)(timeout_s * 1000);
    t.batch_size = (size_t)batch;
    t.batch_bytes = (size_t)batch_bytes;
    t.flush_interval_ms = (int64_t)(flush_s * 1000);
    rc = sender_new(api, host, &t, &x->sender);
    if (rc < 0)
        goto fail;
    *state_out = x;
    rc = 0;
    goto out;
fail:
    influx_destroy(x);
out:
    /* the secrets now live only in the sender */
    if (pwbuf != NULL)
        memset(pwbuf, 0, SECRET_MAX);
    if (tokbuf != NULL)
        memset(tokbuf, 0, SECRET_MAX);
    free(pwbuf);
    free(tokbuf);
    lp_buf_free(&url);
    return rc;
}

static int influx_start(void *state)
{
    struct influx *x = state;
    return sender_start(x->sender);
}

static void influx_stop(void *state)
{
    struct influx *x = state;
    sender_stop(x->sender);
}

/* ---- write: one record, one point ---- */

static int wanted_string(const struct influx *x, const char *name)
{
    for (size_t i = 0; i < x->nstring_fields; i++)
        if (strcmp(x->string_fields[i], name) == 0)
            return 1;
    return 0;
}

/* An array as <name without its final s>_NN: cells -> cell_01 ... */
static void array_fields(struct lp_buf *b, const char *name, const double *v, size_t n)
{
    size_t len = strlen(name);
    char key[96];

    if (len > 1 && name[len - 1] == 's')
        len--;
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%.*s_%02zu", (int)len, name, i + 1);
        lp_field_double(b, key, v[i]);
    }
}

static void metric_field(const struct influx *x, const collector_record *rec, const char *name,
                         uint32_t type, struct lp_buf *b)
{
    const struct collector_host_api *api = x->api;
    double d;
    int64_t i;
    int flag;
    const char *str;
    const double *v;
    size_t n;

    if (strcmp(name, "time") == 0) /* InfluxDB refuses a field named time */
        return;
    switch (type) {
    case COLLECTOR_METRIC_DOUBLE:
        if (api->get_double(rec, name, &d) == 0)
            lp_field_double(b, name, d);
        break;
    case COLLECTOR_METRIC_INT:
        if (api->get_int(rec, name, &i) == 0)
            lp_field_int(b, name, i);
        break;
    case COLLECTOR_METRIC_BOOL:
        if (api->get_bool(rec, name, &flag) == 0)
            lp_field_bool(b, name, flag);
        break;
    case COLLECTOR_METRIC_STRING:
        if (wanted_string(x, name) && api->get_string(rec, name, &str) == 0)
            lp_field_string(b, name, str);
        break;
    case COLLECTOR_METRIC_DOUBLES:
        if (api->get_doubles(rec, name, &v, &n) == 0)
            array_fields(b, name, v, n);
        break;
    default: /* a type this sink does not know */
        break;
    }
}

static int influx_write(void *state, const collector_record *rec)
{
    struct influx *x = state;
    const struct collector_host_api *api = x->api;
    const char *model = NULL;
    size_t ntags = 0;
    int64_t ts;
    int rc;

    api->get_string(rec, "bms_model", &model);
    x->tags[ntags++] = (struct lp_tag){"battery", api->record_source(rec)};
    x->tags[ntags++] = (struct lp_tag){"address", api->record_device(rec)};
    x->tags[ntags++] = (struct lp_tag){"model", model};
    for (size_t i = 0; i < x->nextra; i++) {
        const char *key = x->extra[i];
        x->tags[ntags++] = (struct lp_tag){key, key + strlen(key) + 1};
    }
    lp_buf_reset(&x->line);
    lp_begin(&x->line, x->measurement, x->tags, ntags);
    for (size_t i = 0; i < api->metric_count(rec); i++) {
        const char *name;
        uint32_t type;
        if (api->metric_at(rec, i, &name, &type) == 0)
            metric_field(x, rec, name, type, &x->line);
    }
    lp_scale_time(api->record_time_ns(rec), x->precision, &ts);
    rc = lp_end(&x->line, ts);
    if (rc == -ENODATA)
        return 0; /* nothing to write: no number in the record */
    if (rc < 0)
        return rc;
    return sender_push(x->sender, x->line.data, x->line.len, 1);
}

static int influx_flush(void *state)
{
    struct influx *x = state;
    return sender_flush(x->sender);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SINK,
    .name = "influxdb",
    .version = PACKAGE_VERSION,
    .description = "records as InfluxDB line protocol over HTTP(S) (1.x and 2.x write APIs)",
    .create = influx_create,
    .write = influx_write,
    .flush = influx_flush,
    .destroy = influx_destroy,
    .setting_defs = setting_defs,
    .start = influx_start,
    .stop = influx_stop,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/mqtt/mqtt_settings.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugins/libsafeopen/safe_open.h"

const struct collector_setting_def mqtt_setting_defs[] = {
    {.name = "host", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_MIN,
     .default_value = "127.0.0.1", .min = 1,
     .description = "broker host name or address"},
    {.name = "port", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "1883", .min = 1,
     .max = 65535,
     .description = "broker TCP port"},
    {.name = "client_id", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 190,
     .description = "MQTT client id, UTF-8 without control characters (default "
                    "collectord-<hostname>-<instance>; --once adds -once-<pid>)"},
    {.name = "username", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_MAX,
     .max = 127,
     .description = "user name for the broker (UTF-8, no control characters)"},
    {.name = "password", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_SECRET | COLLECTOR_SETTING_MAX, .max = 255,
     .description = "password for the broker (prefer password_file)"},
    {.name = "password_file", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "file holding the password (first line)"},
    {.name = "cafile", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "CA certificates (PEM) to verify the broker: turns TLS on"},
    {.name = "certfile", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "client certificate (PEM), with keyfile"},
    {.name = "keyfile", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_PATH,
     .description = "client private key (PEM), with certfile"},
    {.name = "qos", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "1", .max = 2,
     .description = "QoS of what the sink publishes (the last will: 1)"},
    {.name = "retain", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "retain state messages"},
    {.name = "topic_prefix", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 200,
     .description = "topics start here (default collectord/<hostname>); UTF-8, no # + or "
                    "leading $"},
    {.name = "keepalive", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "60", .min = 5,
     .max = 3600, .unit = "s",
     .description = "MQTT keep-alive"},
    {.name = "discovery", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "publish Home Assistant discovery"},
    {.name = "discovery_prefix", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "homeassistant",
     .min = 1, .max = 100,
     .description = "Home Assistant discovery prefix (UTF-8, no # + or leading $)"},
    {.name = "queue_size", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "100", .min = 1,
     .max = 1000000,
     .description = "messages handed to the broker and not yet acknowledged; the host keeps the "
                    "rest"},
    {.name = "queue_bytes", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "4194304",
     .min = 65536, .max = 268435456, .unit = "B",
     .description = "the bytes those messages may take (a broker that never acknowledges costs "
                    "no more)"},
    {.name = "max_age", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 86400, .unit = "s",
     .description = "a battery's record counts this long after its time, then it shows offline "
                    "(default: the host's rule, 3 x its source's interval)"},
    {.name = NULL},
};

/* A declared string, copied; "" when absent. */
static void get_str(const struct collector_host_api *api, const collector_settings *s,
                    const char *key, char *out, size_t cap)
{
    const char *v = NULL;

    out[0] = '\0';
    if (api->setting_string(s, key, &v) == 0 && v != NULL)
        snprintf(out, cap, "%s", v);
}

static int64_t get_int(const struct collector_host_api *api, const collector_settings *s,
                       const char *key)
{
    int64_t v = 0;
    api->setting_int(s, key, &v); /* declared with a default: always there */
    return v;
}

/* A TLS file named in the config must be readable now, not at the first connect. */
static int readable(const struct collector_host_api *api, collector_host *host,
                    const collector_settings *s, const char *key, const char *path)
{
    if (path[0] == '\0' || access(path, R_OK) == 0)
        return 1;
    api->setting_error(host, s, key, "%s: %s", path, strerror(errno));
    return 0;
}

/* Why `v` cannot go on the wire as an MQTT UTF-8 string (MQTT 5 1.5.4 / 3.1.1
 * 1.5.3): not UTF-8 (overlong forms and surrogates too), or a control
 * character, which the broker refuses or which forges a log line. NULL: fine. */
static const char *bad_utf8(const char *v)
{
    const unsigned char *p = (const unsigned char *)v;

    while (*p != '\0') {
        unsigned c = *p, need, cp;
        if (c < 0x20 || c == 0x7f)
            return "a control character";
        if (c < 0x80) {
            p++;
            continue;
        }
        need = c >= 0xf0 && c <= 0xf4   ? 3
               : c >= 0xe0 && c <= 0xef ? 2
               : c >= 0xc2 && c <= 0xdf ? 1
                                        : 0;
        if (need == 0)
            return "invalid UTF-8";
        cp = c & (0x3fu >> need);
        for (unsigned i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return "invalid UTF-8";
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return "invalid UTF-8";
        if (cp >= 0x80 && cp <= 0x9f)
            return "a control character";
        p += need + 1;
    }
    return NULL;
}

/* A name the sink sends: UTF-8 without control characters; a topic also
 * without wildcards and not under the broker's own $ topics. */
static int check_name(const struct collector_host_api *api, collector_host *host,
                      const collector_settings *s, const char *key, const char *v, int topic)
{
    const char *why = bad_utf8(v);

    if (why == NULL && topic && strpbrk(v, "#+") != NULL)
        why = "an MQTT wildcard (# +)";
    if (why == NULL && topic && v[0] == '$')
        why = "a leading $ (the broker's own topics)";
    if (why == NULL)
        return 0;
    api->setting_error(host, s, key, "%s has %s: refused", topic ? "a topic" : "the value", why);
    return -EINVAL;
}

int mqtt_settings_read(const struct collector_host_api *api, collector_host *host,
                       const collector_settings *s, struct mqtt_settings *out)
{
    char hostname[128] = "localhost", pfile[512], why[sizeof(pfile) + 64];
    double max_age = 0;

    memset(out, 0, sizeof(*out));
    gethostname(hostname, sizeof(hostname) - 1);
    get_str(api, s, "host", out->host, sizeof(out->host));
    out->port = (int)get_int(api, s, "port");
    get_str(api, s, "client_id", out->client_id, sizeof(out->client_id));
    if (out->client_id[0] == '\0')
        snprintf(out->client_id, sizeof(out->client_id), "collectord-%.60s-%.63s", hostname,
                 api->instance_name(host));
    get_str(api, s, "username", out->username, sizeof(out->username));
    get_str(api, s, "password", out->password, sizeof(out->password));
    get_str(api, s, "password_file", pfile, sizeof(pfile));
    get_str(api, s, "cafile", out->cafile, sizeof(out->cafile));
    get_str(api, s, "certfile", out->certfile, sizeof(out->certfile));
    get_str(api, s, "keyfile", out->keyfile, sizeof(out->keyfile));
    out->qos = (int)get_int(api, s, "qos");
    api->setting_bool(s, "retain", &out->retain);
    api->setting_bool(s, "discovery", &out->discovery);
    get_str(api, s, "topic_prefix", out->prefix, sizeof(out->prefix));
    if (out->prefix[0] == '\0')
        snprintf(out->prefix, sizeof(out->prefix), "collectord/%.120s", hostname);
    get_str(api, s, "discovery_prefix", out->discovery_prefix, sizeof(out->discovery_prefix));
    out->keepalive_s = (int)get_int(api, s, "keepalive");
    out->window = (unsigned)get_int(api, s, "queue_size");
    out->window_bytes = (size_t)get_int(api, s, "queue_bytes");
    if (api->setting_double(s, "max_age", &max_age) == 0)
        out->max_age_ms = (int64_t)(max_age * 1000.0);

    if ((out->certfile[0] == '\0') != (out->keyfile[0] == '\0')) {
        api->setting_error(host, s, out->certfile[0] ? "keyfile" : "certfile",
                           "certfile and keyfile go together");
        return -EINVAL;
    }
    if (out->password[0] && pfile[0]) {
        api->setting_error(host, s, "password_file", "give password or password_file, not both");
        return -EINVAL;
    }
    if ((out->password[0] || pfile[0]) && out->username[0] == '\0') {
        api->setting_error(host, s, "username", "a password needs a username");
        return -EINVAL;
    }
    if (check_name(api, host, s, "topic_prefix", out->prefix, 1) < 0 ||
        check_name(api, host, s, "discovery_prefix", out->discovery_prefix, 1) < 0 ||
        check_name(api, host, s, "client_id", out->client_id, 0) < 0 ||
        check_name(api, host, s, "username", out->username, 0) < 0)
        return -EINVAL;
    if (!readable(api, host, s, "cafile", out->cafile) ||
        !readable(api, host, s, "certfile", out->certfile) ||
        !readable(api, host, s, "keyfile", out->keyfile))
        return -EINVAL;
    if (pfile[0] &&
        safe_read_line(pfile, 0, out->password, sizeof(out->password), why, sizeof(why)) < 0) {
        api->setting_error(host, s, "password_file", "%s", why);
        return -EINVAL;
    }
    return 0;
}

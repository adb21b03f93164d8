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
     .description = "MQTT client id (default collectord-<hostname>-<instance>; --once adds "
                    "-once-<pid>)"},
    {.name = "username", .type = COLLECTOR_SETTING_STRING, .flags = COLLECTOR_SETTING_MAX,
     .max = 127,
     .description = "user name for the broker"},
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
     .description = "topics start here (default collectord/<hostname>)"},
    {.name = "keepalive", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "60", .min = 5,
     .max = 3600, .unit = "s",
     .description = "MQTT keep-alive"},
    {.name = "discovery", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "publish Home Assistant discovery"},
    {.name = "discovery_prefix", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "homeassistant",
     .min = 1, .max = 100,
     .description = "Home Assistant discovery prefix"},
    {.name = "queue_size", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "100", .min = 1,
     .max = 1000000,
     .description = "messages handed to the broker and not yet acknowledged; the host keeps the "
                    "rest"},
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

/* A FIFO or a device is refused (-EINVAL), never waited on. */
static int read_password_file(const char *path, char *out, size_t cap)
{
    char why[256];
    FILE *fp = NULL;
    size_t n;
    int rc = safe_fopen_read(path, 0, &fp, why, sizeof(why));

    if (rc < 0)
        return rc;
    n = fread(out, 1, cap - 1, fp);
    fclose(fp);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int mqtt_settings_read(const struct collector_host_api *api, collector_host *host,
                       const collector_settings *s, struct mqtt_settings *out)
{
    char hostname[128] = "localhost", pfile[512];
    double max_age = 0;
    int rc;

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
    if (strpbrk(out->prefix, "#+") != NULL) {
        api->setting_error(host, s, "topic_prefix", "no MQTT wildcards (# +) in a topic");
        return -EINVAL;
    }
    if (strpbrk(out->discovery_prefix, "#+") != NULL) {
        api->setting_error(host, s, "discovery_prefix", "no MQTT wildcards (# +) in a topic");
        return -EINVAL;
    }
    if (!readable(api, host, s, "cafile", out->cafile) ||
        !readable(api, host, s, "certfile", out->certfile) ||
        !readable(api, host, s, "keyfile", out->keyfile))
        return -EINVAL;
    if (pfile[0] && (rc = read_password_file(pfile, out->password, sizeof(out->password))) < 0) {
        api->setting_error(host, s, "password_file", "%s: %s", pfile,
                           rc == -EINVAL ? "not a regular file (a FIFO, device or socket)"
                                         : strerror(-rc));
        return -EINVAL;
    }
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mqtt sink's settings: the declared table (the host checks types,
 * ranges and paths and fills defaults) and the rules across fields that
 * only the sink knows. */
#ifndef COLLECTORD_MQTT_MQTT_SETTINGS_H
#define COLLECTORD_MQTT_MQTT_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

/* The declared settings, ended by a NULL name (a constant table: the
 * descriptor needs its address at compile time). */
extern const struct collector_setting_def mqtt_setting_defs[];

struct mqtt_settings {
    char host[256];
    int port;
    char client_id[200]; /* as configured, else "collectord-<hostname>-<instance>" */
    char username[128];  /* "" : none */
    char password[256];  /* from password or password_file; "" : none */
    char cafile[512], certfile[512], keyfile[512]; /* "" : none */
    int qos, retain, discovery;
    char prefix[256];           /* topic_prefix, else "collectord/<hostname>" */
    char discovery_prefix[128];
    int keepalive_s;
    unsigned window;  /* queue_size: messages handed over and not acknowledged */
    size_t window_bytes; /* queue_bytes: what they may take; 0: no bound */
    int64_t max_age_ms; /* 0: the host's freshness rule */
};

/* Read and check the instance's settings into *out; each problem is reported
 * once with api->setting_error. 0 or -EINVAL. Reads password_file and checks
 * that the TLS files are readable; opens nothing else. */
int mqtt_settings_read(const struct collector_host_api *api, collector_host *host,
                       const collector_settings *s, struct mqtt_settings *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the sink publishes for a record: the state JSON and Home Assistant
 * MQTT discovery configs. Pure: builds topics and payloads from a record,
 * no I/O and no Paho, so a test reads the payloads without a broker. */
#ifndef COLLECTORD_MQTT_DISCOVERY_H
#define COLLECTORD_MQTT_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

/* Messages to publish, in order. */
struct msg_batch {
    struct msg {
        char *topic;
        char *payload;
        int retain;
    } *v;
    size_t n, cap;
};

/* Append (topic and payload taken, also on failure; NULL ones give -ENOMEM). */
int msg_batch_add(struct msg_batch *b, char *topic, char *payload, int retain);
/* Free what is left (entries whose topic was set to NULL were taken). */
void msg_batch_free(struct msg_batch *b);

struct discovery_names {
    const char *prefix;           /* <prefix>/<source>/state, .../availability, <prefix>/status */
    const char *discovery_prefix; /* e.g. "homeassistant" */
    int64_t expire_after_s;       /* HA expire_after; 0: none */
    /* ABI 1.2: 1 when `source` allows `command` (charge, discharge,
     * balancer): its switch is announced as an HA switch with a command
     * topic <prefix>/<source>/<command>/set; NULL or 0: a binary_sensor. */
    int (*allowed)(void *ctx, const char *source, const char *command);
    void *allowed_ctx;
};

/* The record as JSON ("time", "source", "device", the metrics), or NULL when
 * out of memory; free() it. */
char *discovery_state_json(const struct collector_host_api *api, const collector_record *rec);
/* The identity of the device the record measures: a bank (a record with
 * members_total) by its source, else the record's device, else its source. */
const char *discovery_device_id(const struct collector_host_api *api,
                                const collector_record *rec);
/* A command's outcome event (ABI 1.2) as the JSON of the outcome topic
 * <prefix>/<source>/command, or NULL when out of memory; free() it. */
char *discovery_outcome_json(const struct collector_host_api *api, const collector_record *ev);

/* What a device's discovery covers already; all zero: nothing. */
struct discovery_seen {
    uint64_t entities; /* bit i: the i-th named entity */
    size_t cells, temps;
};

/* Retained discovery configs for every entity the record has that `seen`
 * does not cover yet (a metric such as time_to_full_s may come and go, a
 * pack may grow cells), appended to `out`; `seen` then covers them.
 * 0 or -ENOMEM (`seen` may then cover part of what `out` holds). */
int discovery_configs(const struct discovery_names *names, const struct collector_host_api *api,
                      const collector_record *rec, struct discovery_seen *seen,
                      struct msg_batch *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/mqtt/discovery.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "plugins/librecjson/record_json.h"

int msg_batch_add(struct msg_batch *b, char *topic, char *payload, int retain)
{
    if (topic == NULL || payload == NULL)
        goto fail;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct msg *v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL)
            goto fail;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (struct msg){topic, payload, retain};
    return 0;
fail:
    free(topic);
    free(payload);
    return -ENOMEM;
}

void msg_batch_free(struct msg_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].topic);
        free(b->v[i].payload);
    }
    free(b->v);
    memset(b, 0, sizeof(*b));
}

char *discovery_state_json(const struct collector_host_api *api, const collector_record *rec)
{
    json_t *o = json_object();
    char stamp[64];
    int64_t ns = api->record_time_ns(rec);
    /* rounded down, so a time before 1970 keeps a positive millisecond part;
     * time_t is 64-bit (configure sees to it), so every int64 ns fits */
    int64_t ms = ns / 1000000 - (ns % 1000000 < 0);
    time_t secs = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;
    char *out;

    if (o == NULL)
        return NULL;
    gmtime_r(&secs, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms - (int64_t)secs * 1000));
    json_object_set_new(o, "time", json_string(stamp));
    json_object_set_new(o, "source", json_string(api->record_source(rec)));
    if (api->record_device(rec)[0])
        json_object_set_new(o, "device", json_string(api->record_device(rec)));
    recjson_add_metrics(api, rec, o);
    out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return out;
}

char *discovery_outcome_json(const struct collector_host_api *api, const collector_record *ev)
{
    struct recjson_command c;
    json_t *o;
    char *out;

    recjson_command_read(api, ev, &c);
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "switch", c.command, "requested",
                  c.requested, "outcome", c.outcome, "origin", c.origin, "detail", c.detail, "id",
                  (json_int_t)c.id);
    if (o == NULL)
        return NULL;
    if (c.duration_ms > 0)
        json_object_set_new(o, "duration_s", json_real((double)c.duration_ms / 1000.0));
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

static int is_bank(const struct collector_host_api *api, const collector_record *rec)
{
    double v;
    return api->get_double(rec, "members_total", &v) == 0;
}

const char *discovery_device_id(const struct collector_host_api *api,
                                const collector_record *rec)
{
    if (!is_bank(api, rec) && api->record_device(rec)[0])
        return api->record_device(rec);
    return api->record_source(rec);
}

/* Home Assistant: which metrics become which entities. */
struct ha_entity {
    const char *metric;
    const char *component; /* sensor, binary_sensor */
    const char *name;
    const char *device_class; /* NULL: none */
    const char *unit;
    const char *state_class;
    int may_be_absent; /* the template says "unknown" when the record lacks it */
};

static const struct ha_entity ha_entities[] = {
    {"battery_voltage", "sensor", "Voltage", "voltage", "V", "measurement", 0},
    {"battery_current", "sensor", "Current", "current", "A", "measurement", 0},
    {"battery_power", "sensor", "Power", "power", "W", "measurement", 0},
    {"battery_soc", "sensor", "State of charge", "battery", "%", "measurement", 0},
    {"bms_soc", "sensor", "State of charge (BMS)", "battery", "%", "measurement", 0},
    {"temperature", "sensor", "Temperature", "temperature", "\u00b0C", "measurement", 0},
    {"mos_temperature", "sensor", "MOSFET temperature", "temperature", "\u00b0C", "measurement",
     0},
    {"bms_cell_min_v", "sensor", "Cell voltage min", "voltage", "V", "measurement", 0},
    {"bms_cell_max_v", "sensor", "Cell voltage max", "voltage", "V", "measurement", 0},
    {"bms_cell_delta_v", "sensor", "Cell voltage delta", "voltage", "V", "measurement", 0},
    {"capacity_remaining_ah", "sensor", "Capacity remaining", NULL, "Ah", "measurement", 0},
    {"cycle_count", "sensor", "Cycles", NULL, NULL, "total_increasing", 0},
    {"soh", "sensor", "State of health", NULL, "%", "measurement", 0},
    {"balancing", "binary_sensor", "Balancing", "running", NULL, NULL, 0},
    {"charging_enabled", "binary_sensor", "Charging MOSFET", "power", NULL, NULL, 0},
    {"discharging_enabled", "binary_sensor", "Discharging MOSFET", "power", NULL, NULL, 0},
    /* the BMS's switch flags (ABI 1.2 sources): an HA switch where the
     * source allows the command, else read-only */
    {"charge_switch", "binary_sensor", "Charge switch", NULL, NULL, NULL, 0},
    {"discharge_switch", "binary_sensor", "Discharge switch", NULL, NULL, NULL, 0},
    {"balancer_switch", "binary_sensor", "Balancer switch", NULL, NULL, NULL, 0},
    /* the energy, bank and alarms calculators (issue 16): the totals feed
     * HA's Energy dashboard as battery in and out */
    {"energy_charged_kwh", "sensor", "Energy charged", "energy", "kWh", "total_increasing", 0},
    {"energy_discharged_kwh", "sensor", "Energy discharged", "energy", "kWh", "total_increasing",
     0},
    {"energy_charged_today_kwh", "sensor", "Energy charged today", "energy", "kWh",
     "total_increasing", 0},
    {"energy_discharged_today_kwh", "sensor", "Energy discharged today", "energy", "kWh",
     "total_increasing", 0},
    {"time_to_full_s", "sensor", "Time to full", "duration", "s", "measurement", 1},
    {"time_to_empty_s", "sensor", "Time to empty", "duration", "s", "measurement", 1},
    {"alarm", "binary_sensor", "Alarm", "problem", NULL, NULL, 0},
    {"alarms", "sensor", "Active alarms", NULL, NULL, NULL, 0},
    {"members_online", "sensor", "Members online", NULL, NULL, "measurement", 0},
    {"members_total", "sensor", "Members", NULL, NULL, "measurement", 0},
    /* the charge_limits calculator: what the inverter is told, and why */
    {"charge_voltage_limit_v", "sensor", "Charge voltage limit", "voltage", "V", "measurement",
     0},
    {"discharge_voltage_limit_v", "sensor", "Discharge voltage limit", "voltage", "V",
     "measurement", 0},
    {"charge_current_limit_a", "sensor", "Charge current limit", "current", "A", "measurement",
     0},
    {"discharge_current_limit_a", "sensor", "Discharge current limit", "current", "A",
     "measurement", 0},
    {"charge_enable", "binary_sensor", "Charge allowed", NULL, NULL, NULL, 0},
    {"discharge_enable", "binary_sensor", "Discharge allowed", NULL, NULL, NULL, 0},
    {"force_charge", "binary_sensor", "Force charge", NULL, NULL, NULL, 0},
    {"charge_limit_reason", "sensor", "Charge limit reason", NULL, NULL, NULL, 0},
    {"discharge_limit_reason", "sensor", "Discharge limit reason", NULL, NULL, NULL, 0},
};

/* [A-Za-z0-9_-] only: HA's object ids must not contain '/' or ':'. */
static void sanitize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++)
        out[n++] = ((*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') ||
                    (*in >= '0' && *in <= '9') || *in == '-')
                       ? *in
                       : '_';
    out[n] = '\0';
}

/* Any type: get_double says -EINVAL for a metric of another type. */
static int has_metric(const struct collector_host_api *api, const collector_record *rec,
                      const char *metric)
{
    double unused;
    return api->get_double(rec, metric, &unused) != -ENOENT;
}

/* The device block: a battery by its BMS's identity, a bank by its name. */
static json_t *device_json(const struct collector_host_api *api, const collector_record *rec,
                           const char *node)
{
    json_t *dev = json_object(), *ids = json_array();
    const char *s;
    double members;

    json_array_append_new(ids, json_string(node));
    json_object_set_new(dev, "identifiers", ids);
    if (api->get_double(rec, "members_total", &members) == 0) {
        char model[64];
        snprintf(model, sizeof(model), "Bank of %.0f batteries", members);
        json_object_set_new(dev, "manufacturer", json_string("collectord"));
        json_object_set_new(dev, "name", json_string(api->record_source(rec)));
        json_object_set_new(dev, "model", json_string(model));
        return dev;
    }
    json_object_set_new(dev, "manufacturer", json_string("Jikong"));
    json_object_set_new(dev, "name", json_string(api->get_string(rec, "bms_name", &s) == 0
                                                     ? s
                                                     : api->record_source(rec)));
    if (api->get_string(rec, "bms_model", &s) == 0)
        json_object_set_new(dev, "model", json_string(s));
    if (api->get_string(rec, "bms_sw_version", &s) == 0)
        json_object_set_new(dev, "sw_version", json_string(s));
    if (api->get_string(rec, "bms_hw_version", &s) == 0)
        json_object_set_new(dev, "hw_version", json_string(s));
    return dev;
}

static int announce(const struct discovery_names *names, const struct collector_host_api *api,
                    const collector_record *rec, const char *node, const struct ha_entity *e,
                    const char *template, struct msg_batch *out)
{
    json_t *c = json_object(), *avail = json_array();
    char topic[512], uid[256], buf[300];

    snprintf(uid, sizeof(uid), "%s_%s", node, e->metric);
    snprintf(topic, sizeof(topic), "%s/%s/%s/%s/config", names->discovery_prefix, e->component,
             node, e->metric);
    snprintf(buf, sizeof(buf), "%s/%s/state", names->prefix, api->record_source(rec));
    json_object_set_new(c, "name", json_string(e->name));
    json_object_set_new(c, "unique_id", json_string(uid));
    json_object_set_new(c, "object_id", json_string(uid));
    json_object_set_new(c, "state_topic", json_string(buf));
    json_object_set_new(c, "value_template", json_string(template));
    if (e->device_class)
        json_object_set_new(c, "device_class", json_string(e->device_class));
    if (e->unit)
        json_object_set_new(c, "unit_of_measurement", json_string(e->unit));
    if (e->state_class)
        json_object_set_new(c, "state_class", json_string(e->state_class));
    if (strcmp(e->component, "binary_sensor") == 0) {
        json_object_set_new(c, "payload_on", json_true());
        json_object_set_new(c, "payload_off", json_false());
    } else if (strcmp(e->component, "switch") == 0) {
        /* the state is the BMS's read-back in the state JSON, never the request */
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "%.*s", (int)(strlen(e->metric) - strlen("_switch")),
                 e->metric);
        snprintf(buf, sizeof(buf), "%s/%s/%s/set", names->prefix, api->record_source(rec), cmd);
        json_object_set_new(c, "command_topic", json_string(buf));
        json_object_set_new(c, "payload_on", json_string("ON"));
        json_object_set_new(c, "payload_off", json_string("OFF"));
        json_object_set_new(c, "state_on", json_string("ON"));
        json_object_set_new(c, "state_off", json_string("OFF"));
        json_object_set_new(c, "optimistic", json_false());
    }
    /* a battery that stops reporting greys out after this long */
    if (names->expire_after_s > 0)
        json_object_set_new(c, "expire_after", json_integer(names->expire_after_s));
    /* online only while the daemon is up (last will) and this battery reports */
    snprintf(buf, sizeof(buf), "%s/status", names->prefix);
    json_array_append_new(avail, json_pack("{s:s}", "topic", buf));
    snprintf(buf, sizeof(buf), "%s/%s/availability", names->prefix, api->record_source(rec));
    json_array_append_new(avail, json_pack("{s:s}", "topic", buf));
    json_object_set_new(c, "availability", avail);
    json_object_set_new(c, "availability_mode", json_string("all"));
    json_object_set_new(c, "device", device_json(api, rec, node));
    {
        char *payload = json_dumps(c, JSON_COMPACT);
        json_decref(c);
        return msg_batch_add(out, strdup(topic), payload, 1);
    }
}

/* One entity per element of an array metric: "Cell 3" reads cells[2].
 * Elements before `from` are announced already. */
static int announce_array(const struct discovery_names *names,
                          const struct collector_host_api *api, const collector_record *rec,
                          const char *node, const char *array, size_t from,
                          const struct ha_entity *like, struct msg_batch *out, size_t *done)
{
    char name[64], metric[48], tmpl[96];
    const double *v;
    size_t count = 0;
    int rc = 0;

    if (api->get_doubles(rec, array, &v, &count) != 0)
        count = 0;
    for (size_t i = from; rc == 0 && i < count; i++) {
        struct ha_entity e = *like;
        snprintf(name, sizeof(name), "%s %zu", like->name, i + 1);
        snprintf(metric, sizeof(metric), "%s_%zu", like->metric, i + 1);
        snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s[%zu] }}", array, i);
        e.name = name;
        e.metric = metric;
        if ((rc = announce(names, api, rec, node, &e, tmpl, out)) == 0)
            *done = i + 1;
    }
    return rc;
}

static const struct ha_entity cell_entity = {"cell", "sensor", "Cell", "voltage", "V",
                                             "measurement", 0};
static const struct ha_entity temp_entity = {"temperature", "sensor", "Temperature",
                                             "temperature", "\u00b0C", "measurement", 0};

_Static_assert(sizeof(ha_entities) / sizeof(ha_entities[0]) <= 64,
               "discovery_seen.entities has a bit per entity");

int discovery_configs(const struct discovery_names *names, const struct collector_host_api *api,
                      const collector_record *rec, struct discovery_seen *seen,
                      struct msg_batch *out)
{
    char node[80], tmpl[160];
    int rc = 0;

    sanitize(discovery_device_id(api, rec), node, sizeof(node));
    for (size_t i = 0; rc == 0 && i < sizeof(ha_entities) / sizeof(ha_entities[0]); i++) {
        const struct ha_entity *e = &ha_entities[i];
        if ((seen->entities & (UINT64_C(1) << i)) || !has_metric(api, rec, e->metric))
            continue;
        if (names->allowed != NULL && strstr(e->metric, "_switch") != NULL) {
            char cmd[32];
            struct ha_entity sw = *e;
            snprintf(cmd, sizeof(cmd), "%.*s", (int)(strlen(e->metric) - strlen("_switch")),
                     e->metric);
            if (names->allowed(names->allowed_ctx, api->record_source(rec), cmd)) {
                sw.component = "switch";
                snprintf(tmpl, sizeof(tmpl), "{{ 'ON' if value_json.%s else 'OFF' }}",
                         e->metric);
                if ((rc = announce(names, api, rec, node, &sw, tmpl, out)) == 0)
                    seen->entities |= UINT64_C(1) << i;
                continue;
            }
        }
        if (e->may_be_absent)
            snprintf(tmpl, sizeof(tmpl),
                     "{{ value_json.%s if value_json.%s is defined else None }}", e->metric,
                     e->metric);
        else
            snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", e->metric);
        if ((rc = announce(names, api, rec, node, e, tmpl, out)) == 0)
            seen->entities |= UINT64_C(1) << i;
    }
    if (rc == 0)
        rc = announce_array(names, api, rec, node, "cells", seen->cells, &cell_entity, out,
                            &seen->cells);
    if (rc == 0)
        rc = announce_array(names, api, rec, node, "temperatures", seen->temps, &temp_entity,
                            out, &seen->temps);
    return rc;
}

/* mqtt: every record as JSON on <prefix>/<instance>/state, availability with
 * a last will, and Home Assistant MQTT discovery. libmosquitto's own thread
 * keeps the connection (reconnecting with backoff); records wait in a
 * bounded queue until the broker has them. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>

#include <collector/plugin.h>

#include "plugins/librecjson/record_json.h"

#define MAX_DEVICES 16

struct item {
    char *topic;
    char *payload;
    int retain;
    int mid;  /* message id once handed to libmosquitto, 0 before */
};

struct device {
    char id[64];      /* record_device, else the source instance */
    char source[64];  /* the source instance: its availability topic */
    size_t announced; /* cells covered by the discovery sent on this connection */
    int ntemps;
};

struct mq {
    const struct collector_host_api *api;
    collector_host *host;
    struct mosquitto *mosq;
    char prefix[256], discovery_prefix[128];
    int qos, retain, discovery;
    /* `lock` protects everything below: the queue is filled by write() on the
     * pipeline thread and emptied by libmosquitto's callbacks on its own. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct item *queue;
    size_t cap, head, len;
    unsigned long dropped, dropped_logged;
    int connected;
    int ever_connected;
    struct device dev[MAX_DEVICES];
    size_t ndev;
};

static const char *const settings[] = {
    "host",     "port",  "client_id", "username",    "password",         "password_file",
    "cafile",   "certfile", "keyfile", "qos",        "retain",           "topic_prefix",
    "keepalive", "discovery", "discovery_prefix", "queue_size", NULL,
};

static void item_free(struct item *it)
{
    free(it->topic);
    free(it->payload);
    memset(it, 0, sizeof(*it));
}

/* Hand every queued item not yet in flight to libmosquitto. Lock held. */
static void send_queued(struct mq *m)
{
    for (size_t i = 0; i < m->len && m->connected; i++) {
        struct item *it = &m->queue[(m->head + i) % m->cap];
        int mid = 0;
        if (it->mid != 0)
            continue;
        if (mosquitto_publish(m->mosq, &mid, it->topic, (int)strlen(it->payload), it->payload,
                              m->qos, it->retain) != MOSQ_ERR_SUCCESS)
            break; /* the link went: the on_connect callback sends again */
        it->mid = mid;
    }
}

/* Queue one message (taken: topic and payload). Lock held. */
static void enqueue(struct mq *m, char *topic, char *payload, int retain)
{
    if (m->len == m->cap) {
        item_free(&m->queue[m->head]); /* the oldest goes first */
        m->head = (m->head + 1) % m->cap;
        m->len--;
        m->dropped++;
    }
    m->queue[(m->head + m->len) % m->cap] = (struct item){topic, payload, retain, 0};
    m->len++;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mq *m = obj;
    char topic[300];

    if (rc != 0)
        return;
    snprintf(topic, sizeof(topic), "%s/status", m->prefix);
    mosquitto_publish(mosq, NULL, topic, 6, "online", 1, 1);
    pthread_mutex_lock(&m->lock);
    m->connected = 1;
    m->ever_connected = 1;
    /* What was in flight on the old connection is sent again (at least once);
     * discovery is announced again on a new connection. */
    for (size_t i = 0; i < m->len; i++)
        m->queue[(m->head + i) % m->cap].mid = 0;
    for (size_t i = 0; i < m->ndev; i++)
        m->dev[i].announced = 0;
    send_queued(m);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mq *m = obj;
    (void)mosq;
    (void)rc;
    pthread_mutex_lock(&m->lock);
    m->connected = 0;
    pthread_mutex_unlock(&m->lock);
}

/* The broker has it (QoS 1/2) or it left the socket (QoS 0): forget it. */
static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct mq *m = obj;
    (void)mosq;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->len; i++) {
        struct item *it = &m->queue[(m->head + i) % m->cap];
        if (it->mid == mid) {
            item_free(it);
            break;
        }
    }
    /* drop finished items from the front */
    while (m->len > 0 && m->queue[m->head].topic == NULL) {
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

/* ---- JSON ---- */

static char *state_json(const struct collector_host_api *api, const collector_record *rec)
{
    json_t *o = json_object();
    char stamp[64];
    int64_t ns = api->record_time_ns(rec);
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    char *out;

    gmtime_r(&secs, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ns / 1000000 % 1000));
    json_object_set_new(o, "time", json_string(stamp));
    json_object_set_new(o, "source", json_string(api->record_source(rec)));
    if (api->record_device(rec)[0])
        json_object_set_new(o, "device", json_string(api->record_device(rec)));
    recjson_add_metrics(api, rec, o);
    out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return out;
}

/* Home Assistant: which metrics become which entities. */
struct ha_entity {
    const char *metric;
    const char *component; /* sensor, binary_sensor */
    const char *name;
    const char *device_class; /* NULL: none */
    const char *unit;
    const char *state_class;
};

static const struct ha_entity ha_entities[] = {
    {"battery_voltage", "sensor", "Voltage", "voltage", "V", "measurement"},
    {"battery_current", "sensor", "Current", "current", "A", "measurement"},
    {"battery_power", "sensor", "Power", "power", "W", "measurement"},
    {"battery_soc", "sensor", "State of charge", "battery", "%", "measurement"},
    {"bms_soc", "sensor", "State of charge (BMS)", "battery", "%", "measurement"},
    {"temperature", "sensor", "Temperature", "temperature", "\u00b0C", "measurement"},
    {"mos_temperature", "sensor", "MOSFET temperature", "temperature", "\u00b0C", "measurement"},
    {"bms_cell_min_v", "sensor", "Cell voltage min", "voltage", "V", "measurement"},
    {"bms_cell_max_v", "sensor", "Cell voltage max", "voltage", "V", "measurement"},
    {"bms_cell_delta_v", "sensor", "Cell voltage delta", "voltage", "V", "measurement"},
    {"capacity_remaining_ah", "sensor", "Capacity remaining", NULL, "Ah", "measurement"},
    {"cycle_count", "sensor", "Cycles", NULL, NULL, "total_increasing"},
    {"soh", "sensor", "State of health", NULL, "%", "measurement"},
    {"balancing", "binary_sensor", "Balancing", "running", NULL, NULL},
    {"charging_enabled", "binary_sensor", "Charging MOSFET", "power", NULL, NULL},
    {"discharging_enabled", "binary_sensor", "Discharging MOSFET", "power", NULL, NULL},
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

static void announce(struct mq *m, const collector_record *rec, const char *node,
                     const char *name, const char *metric, const char *component,
                     const char *device_class, const char *unit, const char *state_class,
                     const char *template)
{
    const struct collector_host_api *api = m->api;
    json_t *c = json_object(), *dev = json_object(), *ids = json_array(), *avail = json_array();
    char topic[512], uid[256], state[300], buf[300];
    const char *s;
    char *payload;

    snprintf(uid, sizeof(uid), "%s_%s", node, metric);
    snprintf(topic, sizeof(topic), "%s/%s/%s/%s/config", m->discovery_prefix, component, node,
             metric);
    snprintf(state, sizeof(state), "%s/%s/state", m->prefix, api->record_source(rec));
    json_object_set_new(c, "name", json_string(name));
    json_object_set_new(c, "unique_id", json_string(uid));
    json_object_set_new(c, "object_id", json_string(uid));
    json_object_set_new(c, "state_topic", json_string(state));
    json_object_set_new(c, "value_template", json_string(template));
    if (device_class)
        json_object_set_new(c, "device_class", json_string(device_class));
    if (unit)
        json_object_set_new(c, "unit_of_measurement", json_string(unit));
    if (state_class)
        json_object_set_new(c, "state_class", json_string(state_class));
    if (strcmp(component, "binary_sensor") == 0) {
        json_object_set_new(c, "payload_on", json_true());
        json_object_set_new(c, "payload_off", json_false());
    }
    /* online only while the daemon is up (last will) and this battery reports */
    snprintf(buf, sizeof(buf), "%s/status", m->prefix);
    json_array_append_new(avail, json_pack("{s:s}", "topic", buf));
    snprintf(buf, sizeof(buf), "%s/%s/availability", m->prefix, api->record_source(rec));
    json_array_append_new(avail, json_pack("{s:s}", "topic", buf));
    json_object_set_new(c, "availability", avail);
    json_object_set_new(c, "availability_mode", json_string("all"));
    json_array_append_new(ids, json_string(node));
    json_object_set_new(dev, "identifiers", ids);
    json_object_set_new(dev, "manufacturer", json_string("Jikong"));
    json_object_set_new(dev, "name",
                        json_string(api->get_string(rec, "bms_name", &s) == 0
                                        ? s
                                        : api->record_source(rec)));
    if (api->get_string(rec, "bms_model", &s) == 0)
        json_object_set_new(dev, "model", json_string(s));
    if (api->get_string(rec, "bms_sw_version", &s) == 0)
        json_object_set_new(dev, "sw_version", json_string(s));
    if (api->get_string(rec, "bms_hw_version", &s) == 0)
        json_object_set_new(dev, "hw_version", json_string(s));
    json_object_set_new(c, "device", dev);
    payload = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    if (payload != NULL)
        enqueue(m, strdup(topic), payload, 1);
}

/* Discovery for a device, once per connection and again when it grows cells. Lock held. */
static void discover(struct mq *m, const collector_record *rec, struct device *d)
{
    const struct collector_host_api *api = m->api;
    const double *v;
    size_t ncells = 0, ntemps = 0;
    char node[80], name[64], metric[48], tmpl[96];

    api->get_doubles(rec, "cells", &v, &ncells);
    api->get_doubles(rec, "temperatures", &v, &ntemps);
    if (d->announced > 0 && ncells <= d->announced - 1)
        return;
    sanitize(d->id, node, sizeof(node));
    for (size_t i = 0; i < sizeof(ha_entities) / sizeof(ha_entities[0]); i++) {
        const struct ha_entity *e = &ha_entities[i];
        uint32_t type = 0;
        for (size_t k = 0; k < api->metric_count(rec); k++) {
            const char *n;
            uint32_t t;
            if (api->metric_at(rec, k, &n, &t) == 0 && strcmp(n, e->metric) == 0)
                type = t;
        }
        if (type == 0)
            continue;
        snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", e->metric);
        announce(m, rec, node, e->name, e->metric, e->component, e->device_class, e->unit,
                 e->state_class, tmpl);
    }
    for (size_t i = 0; i < ncells; i++) {
        snprintf(name, sizeof(name), "Cell %zu", i + 1);
        snprintf(metric, sizeof(metric), "cell_%zu", i + 1);
        snprintf(tmpl, sizeof(tmpl), "{{ value_json.cells[%zu] }}", i);
        announce(m, rec, node, name, metric, "sensor", "voltage", "V", "measurement", tmpl);
    }
    for (size_t i = 0; i < ntemps; i++) {
        snprintf(name, sizeof(name), "Temperature %zu", i + 1);
        snprintf(metric, sizeof(metric), "temperature_%zu", i + 1);
        snprintf(tmpl, sizeof(tmpl), "{{ value_json.temperatures[%zu] }}", i);
        announce(m, rec, node, name, metric, "sensor", "temperature", "\u00b0C", "measurement",
                 tmpl);
    }
    d->announced = ncells + 1;
}

/* ---- plugin ---- */

static int read_password_file(const char *path, char *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    size_t n;
    if (fp == NULL)
        return -errno;
    n = fread(out, 1, cap - 1, fp);
    fclose(fp);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return 0;
}

static void mq_destroy(void *state)
{
    struct mq *m = state;
    char topic[300];

    if (m == NULL)
        return;
    if (m->mosq != NULL) {
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->ndev && m->connected; i++) {
            /* this daemon goes: its batteries are offline */
            snprintf(topic, sizeof(topic), "%s/%s/availability", m->prefix, m->dev[i].source);
            mosquitto_publish(m->mosq, NULL, topic, 7, "offline", 1, 1);
        }
        pthread_mutex_unlock(&m->lock);
        snprintf(topic, sizeof(topic), "%s/status", m->prefix);
        mosquitto_publish(m->mosq, NULL, topic, 7, "offline", 1, 1);
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_stop(m->mosq, 0);
        mosquitto_destroy(m->mosq);
    }
    for (size_t i = 0; i < m->len; i++)
        item_free(&m->queue[(m->head + i) % m->cap]);
    if (m->dropped > 0)
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%lu record(s) were dropped while the broker was away", m->dropped);
    free(m->queue);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int mq_create(const struct collector_host_api *api, collector_host *host,
                     const collector_settings *s, void **state_out)
{
    struct mq *m = calloc(1, sizeof(*m));
    const char *h = "127.0.0.1", *client_id = NULL, *user = NULL, *pass = NULL, *pfile = NULL;
    const char *ca = NULL, *cert = NULL, *key = NULL, *prefix = NULL, *dprefix = "homeassistant";
    int64_t port = 1883, qos = 1, keepalive = 60, qsize = 1000;
    char host_name[128] = "localhost", idbuf[200], pwbuf[256], topic[300];
    int rc;

    if (m == NULL)
        return -ENOMEM;
    m->api = api;
    m->host = host;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    gethostname(host_name, sizeof(host_name) - 1);
    if (api->setting_string(s, "host", &h) == -EINVAL || api->setting_string(s, "client_id", &client_id) == -EINVAL ||
        api->setting_string(s, "username", &user) == -EINVAL || api->setting_string(s, "password", &pass) == -EINVAL ||
        api->setting_string(s, "password_file", &pfile) == -EINVAL || api->setting_string(s, "cafile", &ca) == -EINVAL ||
        api->setting_string(s, "certfile", &cert) == -EINVAL || api->setting_string(s, "keyfile", &key) == -EINVAL ||
        api->setting_string(s, "topic_prefix", &prefix) == -EINVAL ||
        api->setting_string(s, "discovery_prefix", &dprefix) == -EINVAL) {
        api->setting_error(host, s, NULL, "host, client_id, username, password, *file and "
                                          "*_prefix are strings");
        goto bad;
    }
    if (api->setting_int(s, "port", &port) == -EINVAL || port < 1 || port > 65535) {
        api->setting_error(host, s, "port", "want 1 to 65535");
        goto bad;
    }
    if (api->setting_int(s, "qos", &qos) == -EINVAL || qos < 0 || qos > 2) {
        api->setting_error(host, s, "qos", "want 0, 1 or 2");
        goto bad;
    }
    if (api->setting_int(s, "keepalive", &keepalive) == -EINVAL || keepalive < 5 || keepalive > 3600) {
        api->setting_error(host, s, "keepalive", "want 5 to 3600 seconds");
        goto bad;
    }
    if (api->setting_int(s, "queue_size", &qsize) == -EINVAL || qsize < 1 || qsize > 1000000) {
        api->setting_error(host, s, "queue_size", "want 1 to 1000000 messages");
        goto bad;
    }
    if (api->setting_bool(s, "retain", &m->retain) == -EINVAL ||
        api->setting_bool(s, "discovery", &m->discovery) == -EINVAL) {
        api->setting_error(host, s, NULL, "retain and discovery want true or false");
        goto bad;
    }
    if ((cert == NULL) != (key == NULL)) {
        api->setting_error(host, s, cert ? "keyfile" : "certfile",
                           "certfile and keyfile go together");
        goto bad;
    }
    if (pfile != NULL) {
        if (read_password_file(pfile, pwbuf, sizeof(pwbuf)) < 0) {
            api->setting_error(host, s, "password_file", "%s: cannot read", pfile);
            goto bad;
        }
        pass = pwbuf;
    }
    m->qos = (int)qos;
    m->cap = (size_t)qsize;
    m->queue = calloc(m->cap, sizeof(*m->queue));
    if (m->queue == NULL)
        goto bad;
    if (prefix != NULL)
        snprintf(m->prefix, sizeof(m->prefix), "%s", prefix);
    else
        snprintf(m->prefix, sizeof(m->prefix), "collectord/%s", host_name);
    snprintf(m->discovery_prefix, sizeof(m->discovery_prefix), "%s", dprefix);
    if (strchr(m->prefix, '#') || strchr(m->prefix, '+')) {
        api->setting_error(host, s, "topic_prefix", "no MQTT wildcards (# +) in a topic");
        goto bad;
    }
    snprintf(idbuf, sizeof(idbuf), "collectord-%s-%s", host_name, api->instance_name(host));
    mosquitto_lib_init();
    m->mosq = mosquitto_new(client_id ? client_id : idbuf, true, m);
    if (m->mosq == NULL)
        goto bad;
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
    mosquitto_max_inflight_messages_set(m->mosq, 100);
    snprintf(topic, sizeof(topic), "%s/status", m->prefix);
    mosquitto_will_set(m->mosq, topic, 7, "offline", 1, true); /* a dead daemon shows offline */
    if (user != NULL)
        mosquitto_username_pw_set(m->mosq, user, pass);
    if (ca != NULL && (rc = mosquitto_tls_set(m->mosq, ca, NULL, cert, key, NULL)) != MOSQ_ERR_SUCCESS) {
        api->setting_error(host, s, "cafile", "TLS setup failed: %s", mosquitto_strerror(rc));
        goto bad;
    }
    rc = mosquitto_connect_async(m->mosq, h, (int)port, (int)keepalive);
    if (rc != MOSQ_ERR_SUCCESS)
        api->log(host, COLLECTOR_LOG_WARNING,
                 "%s:%lld: cannot connect yet (%s): records are queued and sent when it answers",
                 h, (long long)port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if (mosquitto_loop_start(m->mosq) != MOSQ_ERR_SUCCESS)
        goto bad;
    *state_out = m;
    return 0;
bad:
    mq_destroy(m);
    return -EINVAL;
}

static int mq_write(void *state, const collector_record *rec)
{
    struct mq *m = state;
    const struct collector_host_api *api = m->api;
    const char *id = api->record_device(rec)[0] ? api->record_device(rec) : api->record_source(rec);
    char topic[300], *payload = state_json(api, rec);
    struct device *d = NULL;
    unsigned long dropped;

    if (payload == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->ndev; i++)
        if (strcmp(m->dev[i].id, id) == 0)
            d = &m->dev[i];
    if (d == NULL && m->ndev < MAX_DEVICES) {
        d = &m->dev[m->ndev++];
        memset(d, 0, sizeof(*d));
        snprintf(d->id, sizeof(d->id), "%s", id);
        snprintf(d->source, sizeof(d->source), "%s", api->record_source(rec));
    }
    if (m->discovery && d != NULL)
        discover(m, rec, d);
    snprintf(topic, sizeof(topic), "%s/%s/availability", m->prefix, api->record_source(rec));
    enqueue(m, strdup(topic), strdup("online"), 1);
    snprintf(topic, sizeof(topic), "%s/%s/state", m->prefix, api->record_source(rec));
    enqueue(m, strdup(topic), payload, m->retain);
    send_queued(m);
    dropped = m->dropped;
    pthread_mutex_unlock(&m->lock);
    if (dropped > m->dropped_logged &&
        (m->dropped_logged == 0 || dropped - m->dropped_logged >= 100)) {
        api->log(m->host, COLLECTOR_LOG_WARNING,
                 "broker away and the queue is full: %lu oldest message(s) dropped so far",
                 dropped);
        m->dropped_logged = dropped;
    }
    return 0;
}

/* Wait up to a second for the queue to be sent. */
static int mq_flush(void *state)
{
    struct mq *m = state;
    struct timespec ts;
    int rc;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_mutex_lock(&m->lock);
    send_queued(m);
    while (m->len > 0 && m->connected)
        if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) != 0)
            break;
    rc = m->len == 0 ? 0 : -EAGAIN;
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SINK,
    .name = "mqtt",
    .version = PACKAGE_VERSION,
    .description = "records as JSON over MQTT, with Home Assistant discovery",
    .settings = settings,
    .create = mq_create,
    .write = mq_write,
    .flush = mq_flush,
    .destroy = mq_destroy,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

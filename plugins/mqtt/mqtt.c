/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqtt: every record as JSON on <prefix>/<instance>/state, availability with
 * a last will, and Home Assistant MQTT discovery, over Eclipse Paho's
 * asynchronous C client. Records wait in a bounded queue until the broker has
 * them (QoS 1 and 2: until it acknowledged them), so a broker restart loses
 * nothing that fits in the queue.
 *
 * Paho ships two builds of one API: libpaho-mqtt3a without TLS and
 * libpaho-mqtt3as with OpenSSL. The sink loads the first unless a TLS file is
 * configured, so a daemon that talks to a broker on its own network does not
 * map OpenSSL (about 2 MB of resident pages on a small machine).
 *
 * Threads: Paho calls back on its own threads, and may do so holding its own
 * lock, so `lock` below is never held across a Paho call. One thread of this
 * sink makes every publish call; the callbacks only change the state of the
 * queue under `lock` and wake it. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <jansson.h>

#include <collector/plugin.h>

#include "plugins/librecjson/record_json.h"

#define MAX_DEVICES 16
#define MAX_INFLIGHT 100

/* ---- Paho, loaded by soname ---- */

struct paho {
    void *lib;
    __typeof__(MQTTAsync_createWithOptions) *create;
    __typeof__(MQTTAsync_setCallbacks) *set_callbacks;
    __typeof__(MQTTAsync_setConnected) *set_connected;
    __typeof__(MQTTAsync_connect) *connect;
    __typeof__(MQTTAsync_sendMessage) *send;
    __typeof__(MQTTAsync_disconnect) *disconnect;
    __typeof__(MQTTAsync_destroy) *destroy;
    __typeof__(MQTTAsync_strerror) *strerror;
    __typeof__(MQTTAsync_free) *free;
    __typeof__(MQTTAsync_freeMessage) *free_message;
};

static const struct {
    const char *name;
    size_t offset;
} paho_symbols[] = {
    {"MQTTAsync_createWithOptions", offsetof(struct paho, create)},
    {"MQTTAsync_setCallbacks", offsetof(struct paho, set_callbacks)},
    {"MQTTAsync_setConnected", offsetof(struct paho, set_connected)},
    {"MQTTAsync_connect", offsetof(struct paho, connect)},
    {"MQTTAsync_sendMessage", offsetof(struct paho, send)},
    {"MQTTAsync_disconnect", offsetof(struct paho, disconnect)},
    {"MQTTAsync_destroy", offsetof(struct paho, destroy)},
    {"MQTTAsync_strerror", offsetof(struct paho, strerror)},
    {"MQTTAsync_free", offsetof(struct paho, free)},
    {"MQTTAsync_freeMessage", offsetof(struct paho, free_message)},
};

#define PAHO_PLAIN "libpaho-mqtt3a.so.1"
#define PAHO_TLS "libpaho-mqtt3as.so.1"

/* The Paho build for `tls`, loaded once and never unloaded: its threads may
 * still be on their way out when MQTTAsync_destroy returns. NULL with `err`
 * filled when it is missing. */
static const struct paho *paho_load(int tls, char *err, size_t errlen)
{
    static struct paho loaded[2];
    static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
    struct paho *p = &loaded[tls ? 1 : 0];
    const char *soname = tls ? PAHO_TLS : PAHO_PLAIN;

    pthread_mutex_lock(&load_lock);
    if (p->lib == NULL) {
        struct paho fresh = {0};
        int ok = 1;
        fresh.lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (fresh.lib == NULL) {
            snprintf(err, errlen, "%s (Debian package libpaho-mqtt1.3)", dlerror());
            ok = 0;
        }
        for (size_t i = 0; ok && i < sizeof(paho_symbols) / sizeof(paho_symbols[0]); i++) {
            /* POSIX: a data pointer from dlsym converts to a function pointer */
            void *sym = dlsym(fresh.lib, paho_symbols[i].name);
            if (sym == NULL) {
                snprintf(err, errlen, "%s has no %s", soname, paho_symbols[i].name);
                ok = 0;
            } else {
                memcpy((char *)&fresh + paho_symbols[i].offset, &sym, sizeof(sym));
            }
        }
        if (ok)
            *p = fresh;
        else if (fresh.lib != NULL)
            dlclose(fresh.lib);
    }
    pthread_mutex_unlock(&load_lock);
    return p->lib != NULL ? p : NULL;
}

/* ---- the queue ---- */

enum { ITEM_QUEUED, ITEM_SENT };

struct item {
    char *topic; /* NULL: a finished slot, dropped when it reaches the front */
    char *payload;
    int retain;
    int state;
};

/* One publish handed to Paho: freed by its completion callback, or at the end
 * when Paho never answered for it. */
struct pending {
    struct pending *prev, *next;
    struct mq *m;
    uint64_t seq;
    unsigned gen; /* the connection it was sent on */
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
    const struct paho *paho;
    MQTTAsync client;
    char endpoint[300];
    char prefix[256], discovery_prefix[128];
    int qos, retain, discovery;
    pthread_t sender;
    int sender_started;
    atomic_int callbacks; /* Paho threads inside one of our callbacks */
    /* `lock` protects everything below. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct item *queue;
    size_t cap, head, len;
    uint64_t next_seq; /* the newest item's sequence number: see item_by_seq */
    struct pending pending; /* list head */
    unsigned inflight;      /* pending on the current connection */
    unsigned gen;           /* connections so far */
    unsigned long dropped, dropped_logged;
    int connected, online_due, stopping, said_unreachable, disconnect_done;
    unsigned markers_left; /* status markers Paho has not finished */
    char tls_error[128];    /* OpenSSL's reason for the last failed handshake */
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

static struct item *item_at(struct mq *m, size_t i)
{
    return &m->queue[(m->head + i) % m->cap];
}

/* Drop finished slots from the front. Lock held. */
static void compact(struct mq *m)
{
    while (m->len > 0 && m->queue[m->head].topic == NULL) {
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
}

/* Queue one message (taken: topic and payload) and wake the sender. Lock held. */
static void enqueue(struct mq *m, char *topic, char *payload, int retain)
{
    if (topic == NULL || payload == NULL) {
        free(topic);
        free(payload);
        m->dropped++;
        return;
    }
    if (m->len == m->cap) {
        item_free(&m->queue[m->head]); /* the oldest goes first */
        m->head = (m->head + 1) % m->cap;
        m->len--;
        m->dropped++;
        compact(m);
    }
    *item_at(m, m->len) = (struct item){topic, payload, retain, ITEM_QUEUED};
    m->len++;
    m->next_seq++;
    pthread_cond_broadcast(&m->changed);
}

/* Items get consecutive sequence numbers and leave the queue only from the
 * front, so the one at index i is number next_seq - len + 1 + i. */
static uint64_t seq_at(const struct mq *m, size_t i)
{
    return m->next_seq - m->len + 1 + i;
}

/* The item a completion names, or NULL when it is gone. Lock held. */
static struct item *item_by_seq(struct mq *m, uint64_t seq)
{
    uint64_t first = seq_at(m, 0);
    struct item *it;

    if (seq < first || seq > m->next_seq)
        return NULL;
    it = item_at(m, (size_t)(seq - first));
    return it->topic != NULL ? it : NULL;
}

static void pending_unlink(struct pending *p)
{
    p->prev->next = p->next;
    p->next->prev = p->prev;
}

/* Forget a publish: its completion came, or Paho never took it. Lock held. */
static void pending_drop(struct mq *m, struct pending *p)
{
    if (p->gen == m->gen && m->inflight > 0)
        m->inflight--;
    pending_unlink(p);
    free(p);
}

/* Paho calls back without its own lock held, so one of its threads may still
 * be inside a callback when MQTTAsync_destroy returns: mq_destroy waits for
 * this count to drop to zero before it frees the sink. */
static void cb_enter(struct mq *m)
{
    atomic_fetch_add(&m->callbacks, 1);
}

static void cb_leave(struct mq *m)
{
    atomic_fetch_sub(&m->callbacks, 1);
}

/* Paho finished a publish: delivered (`ok`) or not. */
static void complete(struct pending *p, int ok)
{
    struct mq *m = p->m;
    struct item *it;

    cb_enter(m);
    pthread_mutex_lock(&m->lock);
    if ((it = item_by_seq(m, p->seq)) != NULL) {
        if (ok)
            item_free(it);
        else if (p->gen == m->gen && it->state == ITEM_SENT)
            it->state = ITEM_QUEUED; /* sent again, at least once */
    }
    compact(m);
    pending_drop(m, p);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    cb_leave(m);
}

static void on_sent(void *ctx, MQTTAsync_successData *data)
{
    (void)data;
    complete(ctx, 1);
}

static void on_send_failed(void *ctx, MQTTAsync_failureData *data)
{
    (void)data;
    complete(ctx, 0);
}

static void on_connected(void *ctx, char *cause)
{
    struct mq *m = ctx;
    (void)cause;
    cb_enter(m);
    pthread_mutex_lock(&m->lock);
    m->connected = 1;
    m->gen++;
    m->inflight = 0;
    m->online_due = 1;
    /* What was in flight on the old connection is sent again (at least once);
     * discovery is announced again on a new connection. */
    for (size_t i = 0; i < m->len; i++)
        if (item_at(m, i)->topic != NULL)
            item_at(m, i)->state = ITEM_QUEUED;
    for (size_t i = 0; i < m->ndev; i++)
        m->dev[i].announced = 0;
    m->said_unreachable = 0;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    m->api->log(m->host, COLLECTOR_LOG_INFO, "connected to %s", m->endpoint);
    cb_leave(m);
}

static void on_connection_lost(void *ctx, char *cause)
{
    struct mq *m = ctx;
    cb_enter(m);
    pthread_mutex_lock(&m->lock);
    m->connected = 0;
    m->said_unreachable = 1; /* the failed reconnects that follow say nothing more */
    pthread_mutex_unlock(&m->lock);
    m->api->log(m->host, COLLECTOR_LOG_WARNING,
                "%s: connection lost (%s): records are queued until it is back", m->endpoint,
                cause != NULL ? cause : "closed");
    if (cause != NULL)
        m->paho->free(cause);
    cb_leave(m);
}

/* A connect failed; Paho goes on trying with backoff. Said once per outage. */
static void on_connect_failed(void *ctx, MQTTAsync_failureData *data)
{
    struct mq *m = ctx;
    char why[160];
    int say;

    cb_enter(m);
    pthread_mutex_lock(&m->lock);
    say = !m->said_unreachable;
    m->said_unreachable = 1;
    if (m->tls_error[0])
        snprintf(why, sizeof(why), "%s", m->tls_error);
    else
        snprintf(why, sizeof(why), "%s",
                 data != NULL && data->message != NULL ? data->message
                 : data != NULL                         ? m->paho->strerror(data->code)
                                                        : "no answer");
    m->tls_error[0] = '\0';
    pthread_mutex_unlock(&m->lock);
    if (say)
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%s: cannot connect yet (%s): records are queued and sent when it answers",
                    m->endpoint, why);
    cb_leave(m);
}

/* OpenSSL's error line, "...:error:<code>:<library>:<function>:<reason>:<file>:<line>:":
 * keep the reason for the connect failure that follows. */
static int on_tls_error(const char *str, size_t len, void *ctx)
{
    struct mq *m = ctx;
    char line[512];
    const char *reason = line;
    char *f, *end;

    cb_enter(m);
    snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), str);
    line[strcspn(line, "\r\n")] = '\0';
    if ((f = strstr(line, ":error:")) != NULL) {
        f += strlen(":error:");
        for (int i = 0; i < 3 && f != NULL; i++)
            f = (f = strchr(f, ':')) != NULL ? f + 1 : NULL;
        if (f != NULL && (end = strchr(f, ':')) != NULL) {
            *end = '\0';
            reason = f;
        }
    }
    pthread_mutex_lock(&m->lock);
    snprintf(m->tls_error, sizeof(m->tls_error), "TLS: %.100s", reason);
    pthread_mutex_unlock(&m->lock);
    cb_leave(m);
    return 0;
}

/* This sink subscribes to nothing; Paho wants the callback all the same. */
static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    struct mq *m = ctx;
    (void)topic_len;
    cb_enter(m);
    m->paho->free_message(&msg);
    m->paho->free(topic);
    cb_leave(m);
    return 1;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *data)
{
    struct mq *m = ctx;
    (void)data;
    cb_enter(m);
    pthread_mutex_lock(&m->lock);
    m->disconnect_done = 1;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    cb_leave(m);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *data)
{
    (void)data;
    on_disconnected(ctx, NULL);
}

/* A status marker is done (or failed): say_goodbye waits for these. */
static void marker_done(struct mq *m)
{
    cb_enter(m);
    pthread_mutex_lock(&m->lock);
    if (m->markers_left > 0)
        m->markers_left--;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    cb_leave(m);
}

static void on_marker_sent(void *ctx, MQTTAsync_successData *data)
{
    (void)data;
    marker_done(ctx);
}

static void on_marker_failed(void *ctx, MQTTAsync_failureData *data)
{
    (void)data;
    marker_done(ctx);
}

/* A retained status marker ("online", "offline"), outside the queue: a newer
 * connection sends it again. */
static void publish_marker(struct mq *m, const char *topic, const char *text)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

    msg.payload = (void *)(uintptr_t)text;
    msg.payloadlen = (int)strlen(text);
    msg.qos = 1;
    msg.retained = 1;
    ro.onSuccess = on_marker_sent;
    ro.onFailure = on_marker_failed;
    ro.context = m;
    pthread_mutex_lock(&m->lock);
    m->markers_left++;
    pthread_mutex_unlock(&m->lock);
    if (m->paho->send(m->client, topic, &msg, &ro) != MQTTASYNC_SUCCESS)
        marker_done(m);
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* The sender: the only thread that publishes queued items. */
static void *sender_main(void *arg)
{
    struct mq *m = arg;
    char status[300];

    snprintf(status, sizeof(status), "%s/status", m->prefix);
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        struct item *it = NULL;
        struct pending *p;
        size_t i;
        char *topic, *payload;
        MQTTAsync_message msg = MQTTAsync_message_initializer;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int retain, rc;

        if (m->connected && m->online_due) {
            m->online_due = 0;
            pthread_mutex_unlock(&m->lock);
            publish_marker(m, status, "online");
            pthread_mutex_lock(&m->lock);
            continue;
        }
        for (i = 0; m->connected && m->inflight < MAX_INFLIGHT && i < m->len; i++)
            if (item_at(m, i)->topic != NULL && item_at(m, i)->state == ITEM_QUEUED) {
                it = item_at(m, i);
                break;
            }
        if (it == NULL) {
            pthread_cond_wait(&m->changed, &m->lock);
            continue;
        }
        /* copies: the queue may drop the item while Paho takes it */
        topic = strdup(it->topic);
        payload = strdup(it->payload);
        p = calloc(1, sizeof(*p));
        if (topic == NULL || payload == NULL || p == NULL) {
            struct timespec ts;
            free(topic);
            free(payload);
            free(p);
            deadline_in(&ts, 1000);
            pthread_cond_timedwait(&m->changed, &m->lock, &ts);
            continue;
        }
        retain = it->retain;
        it->state = ITEM_SENT;
        *p = (struct pending){&m->pending, m->pending.next, m, seq_at(m, i), m->gen};
        m->pending.next->prev = p;
        m->pending.next = p;
        m->inflight++;
        pthread_mutex_unlock(&m->lock);

        msg.payload = payload;
        msg.payloadlen = (int)strlen(payload);
        msg.qos = m->qos;
        msg.retained = retain;
        ro.onSuccess = on_sent;
        ro.onFailure = on_send_failed;
        ro.context = p;
        rc = m->paho->send(m->client, topic, &msg, &ro);
        free(topic);
        free(payload);

        pthread_mutex_lock(&m->lock);
        if (rc != MQTTASYNC_SUCCESS) {
            /* not taken: no callback comes for it */
            struct item *back = item_by_seq(m, p->seq);
            struct timespec ts;
            if (back != NULL)
                back->state = ITEM_QUEUED;
            pending_drop(m, p);
            /* the link is going or Paho is full: try again in a while */
            deadline_in(&ts, 200);
            pthread_cond_timedwait(&m->changed, &m->lock, &ts);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
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

/* Say goodbye (offline markers, then DISCONNECT), in at most about 2 s: Paho
 * holds a DISCONNECT back while anything is in flight, so wait for the
 * markers first. */
static void say_goodbye(struct mq *m)
{
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
    char topic[300];
    struct timespec ts;
    int connected;

    pthread_mutex_lock(&m->lock);
    connected = m->connected;
    pthread_mutex_unlock(&m->lock);
    if (!connected)
        return;
    for (size_t i = 0; i < m->ndev; i++) {
        /* this daemon goes: its batteries are offline */
        snprintf(topic, sizeof(topic), "%s/%s/availability", m->prefix, m->dev[i].source);
        publish_marker(m, topic, "offline");
    }
    snprintf(topic, sizeof(topic), "%s/status", m->prefix);
    publish_marker(m, topic, "offline");
    deadline_in(&ts, 1000);
    pthread_mutex_lock(&m->lock);
    while (m->markers_left > 0 && m->connected)
        if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&m->lock);
    dopts.timeout = 1000; /* ms for whatever is still in flight */
    dopts.onSuccess = on_disconnected;
    dopts.onFailure = on_disconnect_failed;
    dopts.context = m;
    if (m->paho->disconnect(m->client, &dopts) != MQTTASYNC_SUCCESS)
        return;
    deadline_in(&ts, 1500);
    pthread_mutex_lock(&m->lock);
    while (!m->disconnect_done)
        if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&m->lock);
}

static void mq_destroy(void *state)
{
    struct mq *m = state;

    if (m == NULL)
        return;
    if (m->sender_started) {
        pthread_mutex_lock(&m->lock);
        m->stopping = 1;
        pthread_cond_broadcast(&m->changed);
        pthread_mutex_unlock(&m->lock);
        pthread_join(m->sender, NULL);
    }
    if (m->client != NULL) {
        say_goodbye(m);
        m->paho->destroy(&m->client); /* no callback starts after this */
        /* but one may still be finishing on a Paho thread */
        for (int i = 0; i < 2000 && atomic_load(&m->callbacks) > 0; i++)
            usleep(1000);
    }
    while (m->pending.next != &m->pending) /* Paho never answered for these */
        pending_drop(m, m->pending.next);
    {
        size_t unsent = 0;
        for (size_t i = 0; i < m->len; i++) {
            unsent += item_at(m, i)->topic != NULL;
            item_free(item_at(m, i));
        }
        if (unsent > 0)
            m->api->log(m->host, COLLECTOR_LOG_WARNING,
                        "%zu message(s) the broker never took are dropped at shutdown", unsent);
    }
    if (m->dropped > 0)
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%lu record(s) were dropped while the broker was away", m->dropped);
    free(m->queue);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* A TLS file named in the config must be readable now, not at the first connect. */
static int tls_file_ok(const struct collector_host_api *api, collector_host *host,
                       const collector_settings *s, const char *key, const char *path)
{
    if (path == NULL || access(path, R_OK) == 0)
        return 1;
    api->setting_error(host, s, key, "%s: %s", path, strerror(errno));
    return 0;
}

static int mq_create(const struct collector_host_api *api, collector_host *host,
                     const collector_settings *s, void **state_out)
{
    struct mq *m = calloc(1, sizeof(*m));
    const char *h = "127.0.0.1", *client_id = NULL, *user = NULL, *pass = NULL, *pfile = NULL;
    const char *ca = NULL, *cert = NULL, *key = NULL, *prefix = NULL, *dprefix = "homeassistant";
    int64_t port = 1883, qos = 1, keepalive = 60, qsize = 1000;
    char host_name[128] = "localhost", idbuf[200], pwbuf[256], topic[300], uri[320], err[512];
    MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    int tls, rc;

    if (m == NULL)
        return -ENOMEM;
    m->api = api;
    m->host = host;
    m->pending.next = m->pending.prev = &m->pending;
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
    if (!tls_file_ok(api, host, s, "cafile", ca) || !tls_file_ok(api, host, s, "certfile", cert) ||
        !tls_file_ok(api, host, s, "keyfile", key))
        goto bad;
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
    tls = ca != NULL || cert != NULL;
    m->paho = paho_load(tls, err, sizeof(err));
    if (m->paho == NULL) {
        api->setting_error(host, s, tls ? "cafile" : NULL, "cannot load MQTT client: %s", err);
        goto bad;
    }
    /* an IPv6 literal goes in brackets */
    snprintf(m->endpoint, sizeof(m->endpoint), strchr(h, ':') ? "[%s]:%lld" : "%s:%lld", h,
             (long long)port);
    snprintf(uri, sizeof(uri), "%s://%s", tls ? "ssl" : "tcp", m->endpoint);
    snprintf(idbuf, sizeof(idbuf), "collectord-%s-%s", host_name, api->instance_name(host));
    copts.sendWhileDisconnected = 0; /* the queue above holds what waits */
    rc = m->paho->create(&m->client, uri, client_id ? client_id : idbuf,
                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &copts);
    if (rc != MQTTASYNC_SUCCESS) {
        m->client = NULL;
        api->setting_error(host, s, "host", "%s: %s", uri, m->paho->strerror(rc));
        goto bad;
    }
    m->paho->set_callbacks(m->client, m, on_connection_lost, on_message, NULL);
    m->paho->set_connected(m->client, m, on_connected);
    if (pthread_create(&m->sender, NULL, sender_main, m) != 0)
        goto bad;
    m->sender_started = 1;

    snprintf(topic, sizeof(topic), "%s/status", m->prefix);
    will.topicName = topic; /* a dead daemon shows offline */
    will.message = "offline";
    will.retained = 1;
    will.qos = 1;
    conn.will = &will;
    conn.keepAliveInterval = (int)keepalive;
    conn.cleansession = 1;
    conn.maxInflight = MAX_INFLIGHT;
    conn.connectTimeout = 10;
    conn.automaticReconnect = 1;
    conn.minRetryInterval = 1;
    conn.maxRetryInterval = 30;
    conn.username = user;
    conn.password = pass;
    conn.onFailure = on_connect_failed;
    conn.context = m;
    if (tls) {
        ssl.trustStore = ca;
        ssl.keyStore = cert;
        ssl.privateKey = key;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1; /* the certificate must name the host */
        ssl.ssl_error_cb = on_tls_error;
        ssl.ssl_error_context = m;
        conn.ssl = &ssl;
    }
    rc = m->paho->connect(m->client, &conn);
    if (rc != MQTTASYNC_SUCCESS) {
        api->setting_error(host, s, "host", "%s: %s", uri, m->paho->strerror(rc));
        goto bad;
    }
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

    deadline_in(&ts, 1000);
    pthread_mutex_lock(&m->lock);
    pthread_cond_broadcast(&m->changed);
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
    .description = "records as JSON over MQTT (Eclipse Paho), with Home Assistant discovery",
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

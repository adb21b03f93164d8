/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqtt: every record as JSON on <prefix>/<instance>/state, availability of
 * the daemon (a last will) and of each battery (from its freshness), and
 * Home Assistant MQTT discovery, over Eclipse Paho's asynchronous C client.
 *
 * Lifecycle (ABI 1.1): create() reads the settings and allocates; start()
 * loads Paho, connects and starts the sender thread; stop() says goodbye,
 * disconnects and joins; destroy() frees. write() hands a record over only
 * while connected and while the in-flight window (window.h) has room, and
 * says -EAGAIN otherwise, so the host keeps the record and tries again;
 * flush() says -EAGAIN while publishes are unacknowledged. In a --once run
 * the sink uses a client id of its own and announces no availability, so it
 * never touches a running daemon's status.
 *
 * Threads: Paho calls back on its own threads, and may do so holding its own
 * lock, so `lock` below is never held across a Paho call. One thread of this
 * sink makes every publish call; the callbacks only change the window under
 * `lock` and wake it. Every callback comes in through the gate (gate.h). */
#include "config.h"

#include "plugins/mqtt/mqtt.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "plugins/mqtt/discovery.h"
#include "plugins/mqtt/gate.h"
#include "plugins/mqtt/window.h"
#include "plugins/libplugkit/sources.h"

/* Publishes Paho has at once. Paho copies each one, so this bounds the
 * start-up burst (discovery, then what waited for the connection): 100 held
 * about 150 kB more at the burst's peak, for no publish more per second to a
 * local broker (make bench); 20 at a 50 ms round trip still carry 400 a
 * second. */
#define MAX_INFLIGHT 20
#define FLUSH_WAIT_MS 200

/* One publish handed to Paho, its completion's context. Freed by the
 * completion, or at stop() when Paho never answered for it. */
struct pending {
    struct pending *prev, *next;
    struct gate *gate;
    uint64_t seq;
    unsigned gen; /* the connection it was sent on */
};

struct device { /* its discovery_device_id is its name in mq.ids */
    char source[64];    /* the source instance: its state and availability topics */
    struct discovery_seen seen; /* what discovery covers on this connection */
    int64_t offline_at_ms; /* monotonic ms its newest record stops being fresh */
    int64_t max_age_ms;    /* how long its records stay fresh (discovery's expire_after) */
    int is_online;
    int avail_sent; /* availability queued on this connection: -1 none, 0 offline, 1 online */
};

struct mq {
    const struct collector_host_api *api;
    collector_host *host;
    struct mqtt_settings cfg;
    int once; /* a --once run: own client id, no availability */
    const struct paho *paho;
    MQTTAsync client;
    struct gate *gate;
    char endpoint[300];
    pthread_t sender;
    int sender_started;
    /* `lock` protects everything below. */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct window win;
    struct pending pending; /* list head */
    unsigned inflight;      /* pending on the current connection */
    unsigned gen;           /* connections so far */
    int connected, online_due, stopping, said_unreachable, disconnect_done;
    int refused;         /* the broker's CONNACK refusal (4, 5) of the last try, else 0 */
    int64_t connected_ms; /* monotonic: when the current connection came up */
    char tls_error[128]; /* OpenSSL's reason for the last failed handshake */
    struct plugkit_sources ids;
    struct device dev[PLUGKIT_SOURCES_MAX]; /* dev[i] is ids' name i */
    int commands; /* ABI 1.2 host and a Paho that subscribes: <prefix>/+/+/set */
};

/* The clocks through the host, which checks the read and logs a failure. */
static int64_t mono_ms(const struct mq *m)
{
    return m->api->time_ns(m->host, COLLECTOR_CLOCK_MONOTONIC) / 1000000;
}

/* An absolute CLOCK_REALTIME deadline for pthread_cond_timedwait (a failed
 * clock read makes it long past). */
static void deadline_in(const struct mq *m, struct timespec *ts, long ms)
{
    int64_t ns = m->api->time_ns(m->host, COLLECTOR_CLOCK_REALTIME) + (int64_t)ms * 1000000;
    ts->tv_sec = (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

static char *topic_of(const struct mq *m, const char *source, const char *leaf)
{
    char topic[400];
    if (source != NULL)
        snprintf(topic, sizeof(topic), "%s/%s/%s", m->cfg.prefix, source, leaf);
    else
        snprintf(topic, sizeof(topic), "%s/%s", m->cfg.prefix, leaf);
    return strdup(topic);
}

static void pending_drop(struct mq *m, struct pending *p)
{
    if (p->gen == m->gen && m->inflight > 0)
        m->inflight--;
    p->prev->next = p->next;
    p->next->prev = p->prev;
    free(p);
}

/* ---- Paho's callbacks: each comes in through the gate ---- */

/* Paho finished a publish: delivered (`ok`) or not. */
static void complete(struct pending *p, int ok)
{
    struct mq *m = gate_enter(p->gate);

    if (m == NULL) /* stopping: stop() frees p */
        return;
    pthread_mutex_lock(&m->lock);
    window_done(&m->win, p->seq, p->gen, ok);
    pending_drop(m, p);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    gate_leave(m->gate);
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
    struct mq *m = gate_enter(ctx);
    (void)cause;
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->connected = 1;
    m->connected_ms = mono_ms(m);
    m->refused = 0;
    m->gen++;
    m->inflight = 0;
    m->online_due = !m->once;
    /* What was in flight on the old connection is sent again (at least once);
     * discovery and availability are announced again on a new connection. */
    window_resend_all(&m->win);
    for (size_t i = 0; i < m->ids.n; i++) {
        memset(&m->dev[i].seen, 0, sizeof(m->dev[i].seen));
        m->dev[i].avail_sent = -1;
    }
    m->said_unreachable = 0;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    m->api->log(m->host, COLLECTOR_LOG_INFO, "connected to %s", m->endpoint);
    if (m->commands) {
        /* a clean session forgets subscriptions: subscribe on every connect */
        char topic[400];
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int rc;
        snprintf(topic, sizeof(topic), "%s/+/+/set", m->cfg.prefix);
        rc = m->paho->subscribe(m->client, topic, 1, &ro);
        if (rc != MQTTASYNC_SUCCESS)
            m->api->log(m->host, COLLECTOR_LOG_ERROR, "%s: cannot subscribe to %s: %s",
                        m->endpoint, topic, m->paho->strerror(rc));
    }
    gate_leave(ctx);
}

/* A broker drops the older of two sessions with one client id: two daemons
 * (or a copy of this one) sharing it take turns, each connection short. */
#define SHORT_CONNECTION_MS 60000

static void on_connection_lost(void *ctx, char *cause)
{
    struct mq *m = gate_enter(ctx);
    int64_t lasted;
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->connected = 0;
    m->said_unreachable = 1; /* the failed reconnects that follow say nothing more */
    lasted = mono_ms(m) - m->connected_ms;
    pthread_mutex_unlock(&m->lock);
    m->api->log(m->host, COLLECTOR_LOG_WARNING,
                "%s: connection lost (%s) after %lld s: records wait until it is back%s%s%s",
                m->endpoint, cause != NULL ? cause : "closed", (long long)(lasted / 1000),
                lasted < SHORT_CONNECTION_MS
                    ? "; if this repeats, another client may be connected with the same "
                      "client_id \""
                    : "",
                lasted < SHORT_CONNECTION_MS ? m->cfg.client_id : "",
                lasted < SHORT_CONNECTION_MS ? "\" (the broker drops the older session)" : "");
    if (cause != NULL)
        m->paho->free(cause);
    gate_leave(ctx);
}

/* MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
static const char *connack_text(int code)
{
    static const char *const text[] = {
        "accepted", "unacceptable protocol version", "client identifier rejected",
        "server unavailable", "bad user name or password", "not authorized",
    };
    return code > 0 && code < 6 ? text[code] : NULL;
}

/* A connect failed; Paho goes on trying with backoff. A transient failure is
 * said once per outage; a refusal of the credentials is an error, said again
 * whenever it changes. */
static void on_connect_failed(void *ctx, MQTTAsync_failureData *data)
{
    struct mq *m = gate_enter(ctx);
    char why[160];
    int say, refused = 0;

    if (m == NULL)
        return;
    if (data != NULL && data->message != NULL && strstr(data->message, "CONNACK") != NULL &&
        (data->code == 4 || data->code == 5))
        refused = data->code;
    pthread_mutex_lock(&m->lock);
    if (refused) {
        say = m->refused != refused;
        m->refused = refused;
    } else {
        say = !m->said_unreachable;
        m->refused = 0;
    }
    m->said_unreachable = 1;
    if (m->tls_error[0])
        snprintf(why, sizeof(why), "%s", m->tls_error);
    else if (data != NULL && connack_text(data->code) != NULL && data->message != NULL &&
             strstr(data->message, "CONNACK") != NULL)
        snprintf(why, sizeof(why), "CONNACK %d: %s", data->code, connack_text(data->code));
    else
        snprintf(why, sizeof(why), "%s",
                 data != NULL && data->message != NULL ? data->message
                 : data != NULL                         ? m->paho->strerror(data->code)
                                                        : "no answer");
    m->tls_error[0] = '\0';
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    if (say && refused)
        m->api->log(m->host, COLLECTOR_LOG_ERROR,
                    "%s: the broker refused the connection: %s (CONNACK %d): check username "
                    "and password%s and the broker's acl; records are not kept",
                    m->endpoint, connack_text(refused), refused,
                    refused == 5 ? "" : "/password_file");
    else if (say)
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%s: cannot connect yet (%s): records wait until it answers", m->endpoint,
                    why);
    gate_leave(ctx);
}

/* OpenSSL's error line, "...:error:<code>:<library>:<function>:<reason>:<file>:<line>:":
 * keep the reason for the connect failure that follows. */
static int on_tls_error(const char *str, size_t len, void *ctx)
{
    struct mq *m = gate_enter(ctx);
    char line[512];
    const char *reason = line;
    char *f, *end;

    if (m == NULL)
        return 0;
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
    gate_leave(ctx);
    return 0;
}

/* A command from Home Assistant: <prefix>/<battery>/<switch>/set, payload
 * ON or OFF. Never one on a retained message: a retained OFF would switch
 * the pack off again at every reconnect. The host checks and queues it; the
 * outcome comes back as an event (mq_write). Paho's strings are freed with
 * its own functions, which the sink holds while Paho runs. */
static void take_command(struct mq *m, const char *topic, const MQTTAsync_message *msg)
{
    size_t plen = strlen(m->cfg.prefix);
    char battery[64], sw[32], value[8], payload[16];
    const char *rest, *slash, *end;
    struct collector_command cmd;
    uint64_t id = 0;
    int rc;

    if (strncmp(topic, m->cfg.prefix, plen) != 0 || topic[plen] != '/')
        return;
    rest = topic + plen + 1;
    slash = strchr(rest, '/');
    end = slash ? strchr(slash + 1, '/') : NULL;
    if (slash == NULL || end == NULL || strcmp(end, "/set") != 0 ||
        (size_t)(slash - rest) >= sizeof(battery) || slash == rest ||
        (size_t)(end - slash - 1) >= sizeof(sw) || end == slash + 1)
        return;
    snprintf(battery, sizeof(battery), "%.*s", (int)(slash - rest), rest);
    snprintf(sw, sizeof(sw), "%.*s", (int)(end - slash - 1), slash + 1);
    if (msg->retained) {
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%s: a retained command is ignored (it would act at every reconnect); "
                    "clear it: mosquitto_pub -r -n -t '%s'",
                    topic, topic);
        return;
    }
    snprintf(payload, sizeof(payload), "%.*s",
             msg->payloadlen > 0 && msg->payloadlen < (int)sizeof(payload) ? msg->payloadlen : 0,
             (const char *)msg->payload);
    if (strcasecmp(payload, "ON") == 0 || strcasecmp(payload, "OFF") == 0) {
        snprintf(value, sizeof(value), "%s", strcasecmp(payload, "ON") == 0 ? "on" : "off");
    } else {
        m->api->log(m->host, COLLECTOR_LOG_WARNING, "%s: want ON or OFF, not %d byte(s): ignored",
                    topic, msg->payloadlen);
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.struct_size = (uint32_t)sizeof(cmd);
    cmd.target = battery;
    cmd.name = sw;
    cmd.value = value;
    cmd.origin = "mqtt";
    rc = m->api->command_submit(m->host, &cmd, &id);
    if (rc < 0 && rc != -EPERM && rc != -ENOENT && rc != -EINVAL && rc != -EOPNOTSUPP &&
        rc != -EBUSY)
        m->api->log(m->host, COLLECTOR_LOG_WARNING, "%s: command not taken: %s", topic,
                    strerror(-rc));
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    struct mq *m = gate_enter(ctx);
    if (m == NULL)
        return 0; /* Paho keeps the message */
    /* a topic with no embedded NUL comes with topic_len 0 */
    if (m->commands && (topic_len == 0 || (size_t)topic_len == strlen(topic)))
        take_command(m, topic, msg);
    m->paho->free_message(&msg);
    m->paho->free(topic);
    gate_leave(ctx);
    return 1;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *data)
{
    struct mq *m = gate_enter(ctx);
    (void)data;
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->disconnect_done = 1;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    gate_leave(ctx);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *data)
{
    (void)data;
    on_disconnected(ctx, NULL);
}

/* ---- the sender ---- */

/* Availability of each battery as it is now, on this connection. Lock held. */
static void update_availability(struct mq *m, int64_t now, int64_t *next_check_ms)
{
    for (size_t i = 0; i < m->ids.n; i++) {
        struct device *d = &m->dev[i];
        if (d->is_online) {
            if (now > d->offline_at_ms)
                d->is_online = 0; /* its newest record is stale */
            else if (*next_check_ms == 0 || d->offline_at_ms < *next_check_ms)
                *next_check_ms = d->offline_at_ms + 1;
        }
        if (!m->once && m->connected && d->avail_sent != d->is_online) {
            char *topic = topic_of(m, d->source, "availability");
            if (window_add(&m->win, topic, strdup(d->is_online ? "online" : "offline"), 1, 0) == 0)
                d->avail_sent = d->is_online;
        }
    }
}

/* The only thread that publishes. */
static void *sender_main(void *arg)
{
    struct mq *m = arg;

    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        const struct window_item *it = NULL;
        struct pending *p;
        char *topic, *payload;
        MQTTAsync_message msg = MQTTAsync_message_initializer;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        int64_t next_check_ms = 0;
        uint64_t seq = 0;
        int retain, rc;

        if (m->connected && m->online_due) {
            m->online_due = 0;
            window_add(&m->win, topic_of(m, NULL, "status"), strdup("online"), 1, 0);
        }
        update_availability(m, mono_ms(m), &next_check_ms);
        if (m->connected && m->inflight < MAX_INFLIGHT)
            it = window_next(&m->win, m->gen, &seq);
        if (it == NULL) {
            struct timespec ts;
            int64_t wait_ms = next_check_ms ? next_check_ms - mono_ms(m) : 1000;
            deadline_in(m, &ts, wait_ms < 1 ? 1 : wait_ms > 1000 ? 1000 : (long)wait_ms);
            pthread_cond_timedwait(&m->changed, &m->lock, &ts);
            continue;
        }
        /* copies: the window may move while Paho takes them */
        topic = strdup(it->topic);
        payload = strdup(it->payload);
        retain = it->retain;
        p = calloc(1, sizeof(*p));
        if (topic == NULL || payload == NULL || p == NULL) {
            struct timespec ts;
            free(topic);
            free(payload);
            free(p);
            window_unsend(&m->win, seq);
            deadline_in(m, &ts, 1000);
            pthread_cond_timedwait(&m->changed, &m->lock, &ts);
            continue;
        }
        *p = (struct pending){&m->pending, m->pending.next, m->gate, seq, m->gen};
        m->pending.next->prev = p;
        m->pending.next = p;
        m->inflight++;
        pthread_mutex_unlock(&m->lock);

        msg.payload = payload;
        msg.payloadlen = (int)strlen(payload);
        msg.qos = m->cfg.qos;
        msg.retained = retain;
        ro.onSuccess = on_sent;
        ro.onFailure = on_send_failed;
        ro.context = p;
        rc = m->paho->send(m->client, topic, &msg, &ro);
        free(topic);
        free(payload);

        pthread_mutex_lock(&m->lock);
        if (rc != MQTTASYNC_SUCCESS) {
            /* not taken: no callback comes for it; the link is going or
             * Paho is full: try again in a while */
            struct timespec ts;
            window_unsend(&m->win, seq);
            pending_drop(m, p);
            deadline_in(m, &ts, 200);
            pthread_cond_timedwait(&m->changed, &m->lock, &ts);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- the plugin ---- */

size_t mqtt_queue_bytes(void *state)
{
    struct mq *m = state;
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->win.bytes;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int mqtt_new(const struct collector_host_api *api, collector_host *host,
             const struct mqtt_settings *cfg, void **state_out)
{
    struct mq *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return -ENOMEM;
    if (window_init(&m->win, cfg->window) < 0) {
        free(m);
        return -ENOMEM;
    }
    window_limit_bytes(&m->win, cfg->window_bytes);
    m->api = api;
    m->host = host;
    m->cfg = *cfg;
    m->once = (api->run_flags(host) & COLLECTOR_RUN_ONCE) != 0;
    m->commands = !m->once;
    m->pending.next = m->pending.prev = &m->pending;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->changed, NULL);
    /* an IPv6 literal goes in brackets */
    snprintf(m->endpoint, sizeof(m->endpoint), strchr(cfg->host, ':') ? "[%s]:%d" : "%s:%d",
             cfg->host, cfg->port);
    *state_out = m;
    return 0;
}

static int mq_create(const struct collector_host_api *api, collector_host *host,
                     const collector_settings *s, void **state_out)
{
    struct mqtt_settings cfg;
    int rc = mqtt_settings_read(api, host, s, &cfg);

    if (rc == 0)
        rc = mqtt_new(api, host, &cfg, state_out);
    memset(cfg.password, 0, sizeof(cfg.password));
    return rc;
}

static int is_tls(const struct mqtt_settings *cfg)
{
    return cfg->cafile[0] || cfg->certfile[0];
}

/* Say goodbye (offline markers, then DISCONNECT), in at most about 2.5 s:
 * Paho holds a DISCONNECT back while anything is in flight, so wait for the
 * markers first. A --once run says nothing: it never said hello. */
static void say_goodbye(struct mq *m)
{
    MQTTAsync_disconnectOptions dopts = MQTTAsync_disconnectOptions_initializer;
    struct timespec ts;

    pthread_mutex_lock(&m->lock);
    if (m->connected && !m->once) {
        for (size_t i = 0; i < m->ids.n; i++) /* this daemon goes: its batteries too */
            window_add(&m->win, topic_of(m, m->dev[i].source, "availability"),
                       strdup("offline"), 1, 0);
        window_add(&m->win, topic_of(m, NULL, "status"), strdup("offline"), 1, 0);
        pthread_cond_broadcast(&m->changed);
        deadline_in(m, &ts, 1000);
        while (window_pending(&m->win) > 0 && m->connected)
            if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) != 0)
                break;
    }
    m->stopping = 1;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    if (m->sender_started) {
        pthread_join(m->sender, NULL);
        m->sender_started = 0;
    }
    dopts.timeout = 1000; /* ms for whatever is still in flight */
    dopts.onSuccess = on_disconnected;
    dopts.onFailure = on_disconnect_failed;
    dopts.context = m->gate;
    if (m->paho->disconnect(m->client, &dopts) != MQTTASYNC_SUCCESS)
        return;
    deadline_in(m, &ts, 1500);
    pthread_mutex_lock(&m->lock);
    while (!m->disconnect_done)
        if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) != 0)
            break;
    pthread_mutex_unlock(&m->lock);
}

static void mq_stop(void *state)
{
    struct mq *m = state;
    size_t lost_msgs, lost_records;

    if (m->paho == NULL) /* not started */
        return;
    if (m->client != NULL) {
        say_goodbye(m);
        m->paho->destroy(&m->client); /* no callback starts after this */
        m->client = NULL;
    }
    if (m->sender_started) { /* start() failed half way */
        pthread_mutex_lock(&m->lock);
        m->stopping = 1;
        pthread_cond_broadcast(&m->changed);
        pthread_mutex_unlock(&m->lock);
        pthread_join(m->sender, NULL);
        m->sender_started = 0;
    }
    if (m->gate != NULL) {
        gate_close(m->gate); /* waits for the callbacks still running */
        gate_free(m->gate);
        m->gate = NULL;
    }
    while (m->pending.next != &m->pending) /* Paho never answered for these */
        pending_drop(m, m->pending.next);
    lost_msgs = window_free(&m->win, &lost_records);
    /* the host's totals count them as dropped, with the reason */
    if (lost_records > 0)
        m->api->records_lost(m->host, lost_records,
                             "handed to the broker and never acknowledged");
    else if (lost_msgs > 0)
        m->api->log(m->host, COLLECTOR_LOG_WARNING,
                    "%zu record(s) dropped: handed to the broker and never acknowledged "
                    "(%zu message(s))",
                    lost_records, lost_msgs);
    window_init(&m->win, m->cfg.window); /* empty again, for another start() */
    window_limit_bytes(&m->win, m->cfg.window_bytes);
    m->connected = m->stopping = m->disconnect_done = m->online_due = 0;
    m->inflight = 0;
    plugkit_sources_clear(&m->ids);
    m->paho = NULL;
}

int mqtt_start_with(void *state, const struct paho *paho)
{
    struct mq *m = state;
    const struct mqtt_settings *c = &m->cfg;
    char uri[340], id[256], status[300];
    MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer;
    MQTTAsync_connectOptions conn = MQTTAsync_connectOptions_initializer;
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    int rc;

    m->paho = paho;
    if (paho->subscribe == NULL)
        m->commands = 0;
    if (m->win.v == NULL || (m->gate = gate_new(m)) == NULL)
        return -ENOMEM;
    snprintf(uri, sizeof(uri), "%s://%s", is_tls(c) ? "ssl" : "tcp", m->endpoint);
    /* a --once run must not take over the daemon's session */
    if (m->once)
        snprintf(id, sizeof(id), "%.200s-once-%ld", c->client_id, (long)getpid());
    else
        snprintf(id, sizeof(id), "%s", c->client_id);
    copts.sendWhileDisconnected = 0; /* the host keeps what waits */
    rc = paho->create(&m->client, uri, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &copts);
    if (rc != MQTTASYNC_SUCCESS) {
        m->client = NULL;
        m->api->log(m->host, COLLECTOR_LOG_ERROR, "%s: %s", uri, paho->strerror(rc));
        goto fail;
    }
    paho->set_callbacks(m->client, m->gate, on_connection_lost, on_message, NULL);
    paho->set_connected(m->client, m->gate, on_connected);
    if (pthread_create(&m->sender, NULL, sender_main, m) != 0) {
        m->api->log(m->host, COLLECTOR_LOG_ERROR, "cannot start the sender thread");
        goto fail;
    }
    m->sender_started = 1;

    snprintf(status, sizeof(status), "%s/status", c->prefix);
    will.topicName = status; /* a dead daemon shows offline */
    will.message = "offline";
    will.retained = 1;
    will.qos = 1;
    conn.will = m->once ? NULL : &will;
    conn.keepAliveInterval = c->keepalive_s;
    conn.cleansession = 1;
    conn.maxInflight = MAX_INFLIGHT;
    conn.connectTimeout = 10;
    conn.automaticReconnect = 1;
    conn.minRetryInterval = 1;
    conn.maxRetryInterval = 30;
    conn.username = c->username[0] ? c->username : NULL;
    conn.password = c->password[0] ? c->password : NULL;
    conn.onFailure = on_connect_failed;
    conn.context = m->gate;
    if (is_tls(c)) {
        ssl.trustStore = c->cafile[0] ? c->cafile : NULL;
        ssl.keyStore = c->certfile[0] ? c->certfile : NULL;
        ssl.privateKey = c->keyfile[0] ? c->keyfile : NULL;
        ssl.enableServerCertAuth = 1;
        ssl.verify = 1; /* the certificate must name the host */
        ssl.ssl_error_cb = on_tls_error;
        ssl.ssl_error_context = m->gate;
        conn.ssl = &ssl;
    }
    rc = paho->connect(m->client, &conn);
    if (rc != MQTTASYNC_SUCCESS) {
        m->api->log(m->host, COLLECTOR_LOG_ERROR, "%s: %s", uri, paho->strerror(rc));
        goto fail;
    }
    return 0;
fail:
    mq_stop(m);
    return -EIO;
}

static int mq_start(void *state)
{
    struct mq *m = state;
    char err[512];
    const struct paho *paho = paho_load(is_tls(&m->cfg), err, sizeof(err));

    if (paho == NULL) {
        m->api->log(m->host, COLLECTOR_LOG_ERROR, "cannot load the MQTT client: %s", err);
        return -ENOENT;
    }
    return mqtt_start_with(m, paho);
}

static void mq_destroy(void *state)
{
    struct mq *m = state;

    if (m == NULL)
        return;
    if (m->paho != NULL)
        mq_stop(m);
    window_free(&m->win, NULL);
    pthread_cond_destroy(&m->changed);
    pthread_mutex_destroy(&m->lock);
    memset(m->cfg.password, 0, sizeof(m->cfg.password));
    free(m);
}

/* The device a record is about, added on first sight. Lock held. */
static struct device *device_of(struct mq *m, const collector_record *rec)
{
    const struct collector_host_api *api = m->api;
    int added, k = plugkit_sources_get(&m->ids, discovery_device_id(api, rec), &added);
    struct device *d;

    if (k < 0)
        return NULL;
    d = &m->dev[k];
    if (!added)
        return d;
    memset(d, 0, sizeof(*d));
    snprintf(d->source, sizeof(d->source), "%s", api->record_source(rec));
    d->avail_sent = -1;
    return d;
}

/* The instant (realtime ns) a battery's record stops being fresh: max_age
 * after its time when set, else the host's one freshness rule. */
static int64_t fresh_until_ns(const struct mq *m, const collector_record *rec)
{
    if (m->cfg.max_age_ms > 0)
        return m->api->record_time_ns(rec) + m->cfg.max_age_ms * 1000000;
    return m->api->record_fresh_until_ns(rec);
}

static int allowed(void *ctx, const char *source, const char *command)
{
    const struct mq *m = ctx;
    return m->commands && m->api->command_allowed(m->host, source, command);
}

/* A command's outcome: <prefix>/<battery>/command, not retained. */
static int publish_outcome(struct mq *m, const collector_record *ev)
{
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    if (!m->connected)
        rc = m->refused ? -EACCES : -EAGAIN;
    else if (!window_has_room(&m->win, 1))
        rc = -EAGAIN;
    else
        rc = window_add(&m->win, topic_of(m, m->api->record_source(ev), "command"),
                        discovery_outcome_json(m->api, ev), 0, 1);
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mq_write(void *state, const collector_record *rec)
{
    struct mq *m = state;
    const struct collector_host_api *api = m->api;
    struct msg_batch b = {0};
    struct device *d;
    int64_t until_ns = fresh_until_ns(m, rec);
    int64_t age_ms = (until_ns - api->record_time_ns(rec)) / 1000000;
    /* the same instant on the monotonic clock the sender watches */
    int64_t left_ms = (until_ns - api->time_ns(m->host, COLLECTOR_CLOCK_REALTIME)) / 1000000;
    int fresh = left_ms >= 0;
    struct discovery_seen seen = {0};
    size_t bytes = 0;
    int rc = 0;

    if (api->record_kind(rec) == COLLECTOR_RECORD_EVENT)
        return publish_outcome(m, rec);
    pthread_mutex_lock(&m->lock);
    if (!m->connected) {
        /* credentials refused: waiting would not help */
        rc = m->refused ? -EACCES : -EAGAIN;
        goto out;
    }
    d = device_of(m, rec);
    if (d != NULL && m->cfg.discovery) {
        /* announced again, whole, when the freshness figure changes */
        struct discovery_names names = {m->cfg.prefix, m->cfg.discovery_prefix,
                                        (age_ms + 999) / 1000, allowed, m};
        if (d->max_age_ms == age_ms)
            seen = d->seen;
        if ((rc = discovery_configs(&names, api, rec, &seen, &b)) < 0)
            goto out;
    }
    if (d != NULL && fresh && !m->once && d->avail_sent != 1)
        msg_batch_add(&b, topic_of(m, api->record_source(rec), "availability"), strdup("online"),
                      1);
    if ((rc = msg_batch_add(&b, topic_of(m, api->record_source(rec), "state"),
                            discovery_state_json(api, rec), m->cfg.retain)) < 0)
        goto out;
    for (size_t i = 0; i < b.n; i++)
        if (b.v[i].topic != NULL && b.v[i].payload != NULL)
            bytes += window_item_bytes(b.v[i].topic, b.v[i].payload);
    if (!window_has_room(&m->win, b.n) || !window_has_bytes(&m->win, bytes)) {
        rc = -EAGAIN; /* the broker is slow: the host keeps it a while (bounded) */
        goto out;
    }
    for (size_t i = 0; i < b.n; i++) {
        window_add(&m->win, b.v[i].topic, b.v[i].payload, b.v[i].retain, i + 1 == b.n);
        b.v[i].topic = b.v[i].payload = NULL;
    }
    if (d != NULL) {
        d->seen = seen;
        d->max_age_ms = age_ms;
        d->offline_at_ms = mono_ms(m) + left_ms;
        if (fresh) {
            d->is_online = 1;
            if (!m->once)
                d->avail_sent = 1;
        }
    }
    pthread_cond_broadcast(&m->changed);
out:
    pthread_mutex_unlock(&m->lock);
    msg_batch_free(&b);
    return rc;
}

/* Wait a little for the broker to acknowledge what it was handed; -EAGAIN
 * while anything is unacknowledged (the host calls again until its deadline). */
static int mq_flush(void *state)
{
    struct mq *m = state;
    struct timespec ts;
    int rc;

    deadline_in(m, &ts, FLUSH_WAIT_MS);
    pthread_mutex_lock(&m->lock);
    pthread_cond_broadcast(&m->changed);
    while (window_pending(&m->win) > 0 && m->connected)
        if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) != 0)
            break;
    rc = window_pending(&m->win) == 0 ? 0 : -EAGAIN;
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SINK,
    .name = "mqtt",
    .version = PACKAGE_VERSION,
    .description = "records as JSON over MQTT (Eclipse Paho), with Home Assistant discovery",
    .create = mq_create,
    .write = mq_write,
    .flush = mq_flush,
    .destroy = mq_destroy,
    .setting_defs = mqtt_setting_defs,
    .start = mq_start,
    .stop = mq_stop,
    .flags = COLLECTOR_PLUGIN_EVENTS, /* commands' outcomes: the outcome topic */
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

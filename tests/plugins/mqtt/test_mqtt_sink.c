/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mqtt sink's glue against a fake Paho that calls back on threads of its
 * own, as the real one does: write() says -EAGAIN until the connection is up
 * and while the window is full, flush() says -EAGAIN while publishes are
 * unacknowledged, --once sets no will and publishes no availability, refused
 * credentials are an error, and stop() while callbacks are in flight waits
 * for them (ASan catches any use of freed memory). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/hostapi.h"
#include "core/record.h"
#include "plugins/mqtt/mqtt.h"
#include "testhost.h"

#define MAX_THREADS 4096
#define MAX_TOPICS 256

/* ---- the fake Paho ---- */

enum { CB_CONNECTED, CB_CONNECT_FAILED, CB_SENT, CB_DISCONNECTED };

struct call {
    int what;
    void *ctx;
    MQTTAsync_onSuccess *on_ok;
    MQTTAsync_onFailure *on_fail;
    int code;
    long delay_us;
};

static struct fake {
    pthread_mutex_t lock;
    pthread_t threads[MAX_THREADS];
    size_t nthreads;
    int destroyed;
    void *ctx; /* set_callbacks / set_connected context */
    MQTTAsync_connected *connected;
    MQTTAsync_connectionLost *lost;
    /* knobs */
    int refuse_code;      /* connect fails with this CONNACK code; 0: connects */
    int hold_sends;       /* publishes are never completed */
    long connect_delay_us;
    /* what the sink did */
    char client_id[256];
    int had_will;
    char topics[MAX_TOPICS][200];
    char payloads[MAX_TOPICS][16]; /* the first bytes of each topic's payload */
    size_t ntopics;
    unsigned sends;
} fk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *call_main(void *arg)
{
    struct call *c = arg;
    MQTTAsync_successData ok = {0};
    MQTTAsync_failureData failure = {0};
    int gone;

    usleep((useconds_t)c->delay_us);
    /* Paho picks a callback under its lock, which destroy takes too */
    pthread_mutex_lock(&fk.lock);
    gone = fk.destroyed;
    pthread_mutex_unlock(&fk.lock);
    if (!gone) {
        switch (c->what) {
        case CB_CONNECTED:
            fk.connected(c->ctx, NULL);
            break;
        case CB_CONNECT_FAILED:
            failure.code = c->code;
            failure.message = "CONNACK return code";
            c->on_fail(c->ctx, &failure);
            break;
        case CB_SENT:
        case CB_DISCONNECTED:
            c->on_ok(c->ctx, &ok);
            break;
        }
    }
    free(c);
    return NULL;
}

static void later(int what, void *ctx, MQTTAsync_onSuccess *ok, MQTTAsync_onFailure *fail,
                  int code, long delay_us)
{
    struct call *c = malloc(sizeof(*c));
    assert_non_null(c);
    *c = (struct call){what, ctx, ok, fail, code, delay_us};
    pthread_mutex_lock(&fk.lock);
    assert_true(fk.nthreads < MAX_THREADS);
    assert_int_equal(pthread_create(&fk.threads[fk.nthreads++], NULL, call_main, c), 0);
    pthread_mutex_unlock(&fk.lock);
}

static int f_create(MQTTAsync *handle, const char *uri, const char *id, int pt, void *pc,
                    MQTTAsync_createOptions *o)
{
    (void)uri, (void)pt, (void)pc, (void)o;
    snprintf(fk.client_id, sizeof(fk.client_id), "%s", id);
    fk.destroyed = 0;
    *handle = &fk;
    return MQTTASYNC_SUCCESS;
}

static int f_set_callbacks(MQTTAsync h, void *ctx, MQTTAsync_connectionLost *cl,
                           MQTTAsync_messageArrived *ma, MQTTAsync_deliveryComplete *dc)
{
    (void)h, (void)ma, (void)dc;
    fk.ctx = ctx;
    fk.lost = cl;
    return MQTTASYNC_SUCCESS;
}

static int f_set_connected(MQTTAsync h, void *ctx, MQTTAsync_connected *co)
{
    (void)h;
    fk.ctx = ctx;
    fk.connected = co;
    return MQTTASYNC_SUCCESS;
}

static int f_connect(MQTTAsync h, const MQTTAsync_connectOptions *o)
{
    (void)h;
    fk.had_will = o->will != NULL;
    if (fk.refuse_code)
        later(CB_CONNECT_FAILED, o->context, NULL, o->onFailure, fk.refuse_code, 1000);
    else
        later(CB_CONNECTED, fk.ctx, NULL, NULL, 0, fk.connect_delay_us);
    return MQTTASYNC_SUCCESS;
}

static int f_send(MQTTAsync h, const char *topic, const MQTTAsync_message *msg,
                  MQTTAsync_responseOptions *ro)
{
    (void)h;
    pthread_mutex_lock(&fk.lock);
    if (fk.ntopics < MAX_TOPICS) {
        snprintf(fk.payloads[fk.ntopics], sizeof(fk.payloads[0]), "%.*s",
                 msg->payloadlen < 15 ? msg->payloadlen : 15, (const char *)msg->payload);
        snprintf(fk.topics[fk.ntopics++], sizeof(fk.topics[0]), "%s", topic);
    }
    fk.sends++;
    pthread_mutex_unlock(&fk.lock);
    if (!fk.hold_sends)
        later(CB_SENT, ro->context, ro->onSuccess, ro->onFailure, 0, rand() % 3000);
    return MQTTASYNC_SUCCESS;
}

static int f_disconnect(MQTTAsync h, const MQTTAsync_disconnectOptions *o)
{
    (void)h;
    later(CB_DISCONNECTED, o->context, o->onSuccess, o->onFailure, 0, 100);
    return MQTTASYNC_SUCCESS;
}

static void f_destroy(MQTTAsync *h)
{
    pthread_mutex_lock(&fk.lock);
    fk.destroyed = 1; /* no callback starts after this; one may be running */
    pthread_mutex_unlock(&fk.lock);
    *h = NULL;
}

static const char *f_strerror(int code)
{
    (void)code;
    return "fake error";
}

static void f_free(void *p)
{
    free(p);
}

static void f_free_message(MQTTAsync_message **m)
{
    *m = NULL;
}

static const struct paho fake_paho = {
    .lib = &fk,
    .create = f_create,
    .set_callbacks = f_set_callbacks,
    .set_connected = f_set_connected,
    .connect = f_connect,
    .send = f_send,
    .disconnect = f_disconnect,
    .destroy = f_destroy,
    .strerror = f_strerror,
    .free = f_free,
    .free_message = f_free_message,
};

/* Wait for every callback the fake started (the testhost's log is read
 * without a lock). */
static void fake_join(void)
{
    for (size_t i = 0; i < fk.nthreads; i++)
        pthread_join(fk.threads[i], NULL);
    fk.nthreads = 0;
}

static void fake_reset(void)
{
    fake_join();
    fk.refuse_code = fk.hold_sends = 0;
    fk.connect_delay_us = 0;
    fk.ntopics = 0;
    fk.sends = 0;
    fk.had_will = 0;
    fk.client_id[0] = '\0';
}

static int fake_saw(const char *suffix)
{
    size_t n = strlen(suffix);
    pthread_mutex_lock(&fk.lock);
    for (size_t i = 0; i < fk.ntopics; i++) {
        size_t len = strlen(fk.topics[i]);
        if (len >= n && strcmp(fk.topics[i] + len - n, suffix) == 0) {
            pthread_mutex_unlock(&fk.lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&fk.lock);
    return 0;
}

/* The payload last published on `topic`, or "" (copied into `out`). */
static const char *fake_last(const char *topic, char *out, size_t size)
{
    out[0] = '\0';
    pthread_mutex_lock(&fk.lock);
    for (size_t i = 0; i < fk.ntopics; i++)
        if (strcmp(fk.topics[i], topic) == 0)
            snprintf(out, size, "%s", fk.payloads[i]);
    pthread_mutex_unlock(&fk.lock);
    return out;
}

/* ---- a host whose log can hold a callback inside the sink ---- */

static struct collector_host_api wrapped;
static const struct collector_host_api *real;
static uint32_t flags_now;
static pthread_t main_thread;
static _Atomic int slow_inside, slow_left, slow_release;
static _Atomic int slow_hold; /* only the test of stop() holds the callback */

static uint32_t w_run_flags(const collector_host *host)
{
    (void)host;
    return flags_now;
}

/* A callback that logs from a Paho thread stays inside the sink until the
 * test is about to stop it (slow_release), and 100 ms longer: so it is
 * surely still inside when stop() is called, however slow the machine. */
static void w_log(collector_host *host, int level, const char *fmt, ...)
{
    va_list ap;
    int slow = slow_hold && !pthread_equal(pthread_self(), main_thread) &&
               strstr(fmt, "connected to") != NULL;

    if (slow) {
        slow_inside = 1;
        for (int i = 0; i < 60000 && !slow_release; i++) /* a minute at most */
            usleep(1000);
        usleep(100000);
    }
    va_start(ap, fmt);
    real->vlog(host, level, fmt, ap);
    va_end(ap);
    if (slow)
        slow_left = 1;
}

struct sink {
    struct testhost *t;
    void *m;
    const struct collector_plugin *p;
};

static size_t open_window_bytes; /* queue_bytes of the next sink_open (0: none) */

static void sink_open(struct sink *s, unsigned window, uint32_t run_flags)
{
    struct mqtt_settings cfg = {0};

    main_thread = pthread_self();
    assert_int_equal(testhost_open_flags("mqtt", "mqtt", 0, "", TESTHOST_NO_START, &s->t), 0);
    real = testhost_api(s->t);
    wrapped = *real;
    wrapped.log = w_log;
    wrapped.run_flags = w_run_flags;
    flags_now = run_flags;
    snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
    cfg.port = 1883;
    snprintf(cfg.client_id, sizeof(cfg.client_id), "unit");
    snprintf(cfg.prefix, sizeof(cfg.prefix), "p");
    snprintf(cfg.discovery_prefix, sizeof(cfg.discovery_prefix), "homeassistant");
    cfg.qos = 1;
    cfg.discovery = 1;
    cfg.keepalive_s = 60;
    cfg.window = window;
    cfg.window_bytes = open_window_bytes;
    s->p = collector_plugin_entry();
    assert_int_equal(mqtt_new(&wrapped, testhost_handle(s->t), &cfg, &s->m), 0);
    slow_inside = slow_left = slow_release = slow_hold = 0;
}

static void sink_close(struct sink *s)
{
    s->p->stop(s->m);
    s->p->destroy(s->m);
    testhost_close(s->t);
    fake_reset();
}

static collector_record *battery_record(struct sink *s)
{
    collector_record *r = testhost_record_new(s->t);
    static const double cells[4] = {3.3, 3.31, 3.32, 3.3};
    real->set_double(r, "battery_voltage", 13.2);
    real->set_doubles(r, "cells", cells, 4);
    return r;
}

static int write_until(struct sink *s, const collector_record *r, int want, int ms)
{
    int rc = -1;
    for (int i = 0; i < ms; i++) {
        if ((rc = s->p->write(s->m, r)) == want)
            break;
        usleep(1000);
    }
    return rc;
}

/* ---- tests ---- */

static void test_eagain_until_connected_then_delivered(void **unused)
{
    struct sink s;
    collector_record *r;
    int rc = -EAGAIN;
    (void)unused;

    sink_open(&s, 1000, 0);
    fk.connect_delay_us = 100000;
    r = battery_record(&s);
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    assert_int_equal(s.p->write(s.m, r), -EAGAIN); /* not connected yet: the host keeps it */
    assert_int_equal(write_until(&s, r, 0, 2000), 0);
    for (int i = 0; i < 2000 && (rc = s.p->flush(s.m)) == -EAGAIN; i++)
        ;
    assert_int_equal(rc, 0);
    assert_true(fake_saw("/mqtt/state"));
    assert_true(fake_saw("/mqtt/availability"));
    assert_true(fake_saw("/status"));
    assert_true(fake_saw("/cell_4/config"));
    assert_true(fk.had_will);
    assert_string_equal(fk.client_id, "unit");
    testhost_record_free(r);
    sink_close(&s);
}

static void test_full_window_and_unacknowledged_flush(void **unused)
{
    struct sink s;
    collector_record *r;
    (void)unused;

    sink_open(&s, 8, 0);
    fk.hold_sends = 1; /* the broker acknowledges nothing */
    r = battery_record(&s);
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    /* a record bigger than the window goes through alone ... */
    assert_int_equal(write_until(&s, r, 0, 2000), 0);
    /* ... and once the window (8 messages: 5 configs, availability, state,
     * status; then one state per record) is full, the next record waits in
     * the host's queue until there is room */
    {
        int accepted = 0;
        while (accepted < 10 && s.p->write(s.m, r) == 0)
            accepted++;
        assert_true(accepted <= 1);
        assert_int_equal(s.p->write(s.m, r), -EAGAIN);
    }
    assert_int_equal(s.p->flush(s.m), -EAGAIN);
    testhost_record_free(r);
    s.p->stop(s.m);
    {
        /* reported to the host, which counts them as dropped in its totals */
        char why[200];
        assert_true(host_lost_total(testhost_handle(s.t), why, sizeof(why)) >= 1);
        assert_non_null(strstr(why, "handed to the broker and never acknowledged"));
        assert_null(strstr(testhost_log(s.t), "record(s) dropped"));
    }
    s.p->destroy(s.m);
    testhost_close(s.t);
    fake_reset();
}

/* queue_size = 1000000 against a broker that never acknowledges: the
 * window stops at queue_bytes (its own counter, not RSS), and the records
 * past it wait in the host's queue (bounded, drops counted there). */
static void test_window_bounded_in_bytes(void **unused)
{
    struct sink s;
    collector_record *r;
    size_t accepted = 0, peak = 0;
    (void)unused;

    open_window_bytes = 64 * 1024;
    sink_open(&s, 1000000, 0);
    open_window_bytes = 0;
    fk.hold_sends = 1; /* the broker acknowledges nothing */
    r = battery_record(&s);
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    assert_int_equal(write_until(&s, r, 0, 2000), 0);
    for (int i = 0; i < 5000; i++) {
        size_t now;
        if (s.p->write(s.m, r) == 0)
            accepted++;
        now = mqtt_queue_bytes(s.m);
        peak = now > peak ? now : peak;
    }
    assert_true(peak > 32 * 1024);  /* it did fill up ... */
    assert_true(peak <= 64 * 1024); /* ... and never past the bound */
    /* without the bound all 5000 would be taken (queue_size 1000000) */
    assert_true(accepted > 10 && accepted < 1000);
    assert_int_equal(s.p->write(s.m, r), -EAGAIN);
    testhost_record_free(r);
    s.p->stop(s.m);
    assert_int_equal(mqtt_queue_bytes(s.m), 0);
    s.p->destroy(s.m);
    testhost_close(s.t);
    fake_reset();
}

/* Two daemons with one client id: the broker drops the older session and
 * each connection is short. The line says what may be going on. */
static void test_short_connection_lost_hints_at_a_shared_client_id(void **unused)
{
    struct sink s;
    const char *log;
    (void)unused;

    sink_open(&s, 1000, 0);
    slow_release = 1; /* "connected to" is logged without the hold other tests use */
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    for (int i = 0; i < 20000 && strstr(testhost_log(s.t), "connected to") == NULL; i++)
        usleep(1000);
    fk.lost(fk.ctx, NULL); /* the broker closed it soon after */
    log = testhost_log(s.t);
    if (strstr(log, "connection lost (closed) after ") == NULL ||
        strstr(log, "another client may be connected with the same client_id \"unit\"") == NULL)
        fail_msg("no hint: %s", log);
    sink_close(&s);
    fake_reset();
}

static void test_once_sets_no_will_and_no_availability(void **unused)
{
    struct sink s;
    collector_record *r;
    char want[64];
    int rc = -EAGAIN;
    (void)unused;

    sink_open(&s, 1000, COLLECTOR_RUN_ONCE);
    r = battery_record(&s);
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    assert_int_equal(write_until(&s, r, 0, 2000), 0);
    for (int i = 0; i < 2000 && (rc = s.p->flush(s.m)) == -EAGAIN; i++)
        ;
    assert_int_equal(rc, 0);
    s.p->stop(s.m);
    snprintf(want, sizeof(want), "unit-once-%ld", (long)getpid());
    assert_string_equal(fk.client_id, want);
    assert_false(fk.had_will);
    assert_true(fake_saw("/mqtt/state"));
    assert_true(fake_saw("/battery_voltage/config"));
    assert_false(fake_saw("/availability"));
    assert_false(fake_saw("/status"));
    testhost_record_free(r);
    s.p->destroy(s.m);
    testhost_close(s.t);
    fake_reset();
}

static void test_refused_credentials_are_an_error(void **unused)
{
    struct sink s;
    collector_record *r;
    (void)unused;

    sink_open(&s, 1000, 0);
    fk.refuse_code = 4;
    r = battery_record(&s);
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    assert_int_equal(write_until(&s, r, -EACCES, 2000), -EACCES);
    fake_join();
    assert_non_null(strstr(testhost_log(s.t), "ERROR"));
    assert_non_null(strstr(testhost_log(s.t), "bad user name or password (CONNACK 4)"));
    assert_null(strstr(testhost_log(s.t), "cannot connect yet"));
    testhost_record_free(r);
    sink_close(&s);
}

/* A record of `source` made `ago_ms` before now, as the host makes it (the
 * host's collector.interval: 30 s). */
static collector_record *aged_record(const char *source, int64_t ago_ms, int64_t interval_ms)
{
    collector_record *r;
    int64_t now = real->time_ns(NULL, COLLECTOR_CLOCK_REALTIME);

    assert_int_equal(record_new(source, now - ago_ms * 1000000, &r), 0);
    record_set_interval_ms(r, interval_ms);
    record_set_fallback_interval_ms(r, TESTHOST_COLLECTOR_INTERVAL_MS);
    real->set_double(r, "battery_voltage", 13.2);
    return r;
}

/* Availability turns at the host's freshness instant (record time + 3 x the
 * source's interval, else 3 x collector.interval), not 3 intervals after the
 * record arrived, and not never when the interval is unknown: a record
 * already past it is never announced online. */
static void test_availability_follows_the_freshness_instant(void **unused)
{
    struct sink s;
    collector_record *r[4];
    char got[16];
    int done = 0;
    (void)unused;

    sink_open(&s, 1000, 0);
    assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
    r[0] = aged_record("past", 30000 + 1000, 10000);  /* 1 s past T + 30 s */
    r[1] = aged_record("past0", 90000 + 1000, 0);     /* 1 s past T + 3 x 30 s */
    r[2] = aged_record("live", 0, 10000);             /* 30 s ahead */
    r[3] = aged_record("live0", 60000, 0);            /* 30 s ahead */
    for (int i = 0; i < 4; i++)
        assert_int_equal(write_until(&s, r[i], 0, 2000), 0);
    /* the sender thread publishes them: wait for all four (under qemu the
     * live ones could still be on their way once the stale ones were out) */
    for (int i = 0; i < 10000 && !done; i++) {
        done = strcmp(fake_last("p/past/availability", got, sizeof(got)), "offline") == 0 &&
               strcmp(fake_last("p/past0/availability", got, sizeof(got)), "offline") == 0 &&
               strcmp(fake_last("p/live/availability", got, sizeof(got)), "") != 0 &&
               strcmp(fake_last("p/live0/availability", got, sizeof(got)), "") != 0;
        if (!done)
            usleep(1000);
    }
    assert_string_equal(fake_last("p/past/availability", got, sizeof(got)), "offline");
    assert_string_equal(fake_last("p/past0/availability", got, sizeof(got)), "offline");
    assert_string_equal(fake_last("p/live/availability", got, sizeof(got)), "online");
    assert_string_equal(fake_last("p/live0/availability", got, sizeof(got)), "online");
    for (size_t i = 0; i < fk.ntopics; i++) /* stale data is never served as live */
        if (strncmp(fk.topics[i], "p/past", 6) == 0 && strstr(fk.topics[i], "/availability"))
            assert_string_equal(fk.payloads[i], "offline");
    for (int i = 0; i < 4; i++)
        record_free(r[i]);
    sink_close(&s);
}

/* stop() while a callback is inside the sink: it waits for it to leave
 * before anything is freed (without the gate, ASan reports the callback's
 * use of the freed sink). */
static void test_stop_waits_for_callbacks_in_flight(void **unused)
{
    (void)unused;
    for (int round = 0; round < 3; round++) {
        struct sink s;
        collector_record *r;

        sink_open(&s, 1000, 0);
        slow_hold = 1;
        r = battery_record(&s);
        assert_int_equal(mqtt_start_with(s.m, &fake_paho), 0);
        for (int i = 0; i < 20000 && !slow_inside; i++)
            usleep(1000);
        assert_true(slow_inside);
        /* publishes in flight on other threads too */
        if (round > 0)
            for (int i = 0; i < 50 * round; i++)
                s.p->write(s.m, r);
        assert_false(slow_left);
        slow_release = 1;
        s.p->stop(s.m);
        assert_true(slow_left); /* stop returned only after the callback left */
        s.p->destroy(s.m);
        testhost_record_free(r);
        testhost_close(s.t);
        fake_reset();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eagain_until_connected_then_delivered),
        cmocka_unit_test(test_full_window_and_unacknowledged_flush),
        cmocka_unit_test(test_window_bounded_in_bytes),
        cmocka_unit_test(test_short_connection_lost_hints_at_a_shared_client_id),
        cmocka_unit_test(test_once_sets_no_will_and_no_availability),
        cmocka_unit_test(test_refused_credentials_are_an_error),
        cmocka_unit_test(test_stop_waits_for_callbacks_in_flight),
        cmocka_unit_test(test_availability_follows_the_freshness_instant),
    };
    return cmocka_run_group_tests_name("mqtt sink with a fake Paho", tests, NULL, NULL);
}

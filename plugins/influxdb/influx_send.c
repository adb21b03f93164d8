/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/influxdb/influx_send.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "plugins/influxdb/line_protocol.h"

#define BACKOFF_FIRST_MS  1000
#define BACKOFF_MAX_MS    60000
#define RETRY_AFTER_MAX_S 300
#define BODY_MAX          1024 /* of the server's answer, for its error message */
#define FLUSH_WAIT_MS     1000

enum outcome { SENT, RETRY, DROP };

struct batch {
    struct lp_buf text;
    size_t points;
};

struct influx_sender {
    const struct collector_host_api *api;
    collector_host *host;
    struct influx_target t; /* strings owned: the copies below */
    char *strings[7];
    char *auth_header;
    pthread_t thread;
    int thread_started;
    atomic_int cancel; /* cut a request short: stop() */
    CURL *curl;        /* the sender thread's */

    /* `lock` protects everything below. */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* the thread waits on it (monotonic clock) */
    pthread_cond_t idle;       /* flush waits on it */
    struct batch filling, out; /* out: on its way (or waiting to be retried) */
    int64_t filling_since_ms;  /* monotonic: the first point of `filling` */
    int64_t retry_at_ms;       /* out is sent again then */
    unsigned attempts;         /* failed attempts of `out` */
    int flush_due, stopping;
    int filling_full; /* a point did not fit in batch_bytes: send the batch now */
    unsigned long sent, dropped;
    unsigned long dropped_told; /* of `dropped`, what a flush already answered */
    char cause[256]; /* the last reported failure: a new cause is reported again */
};

/* ---- time ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t at_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(at_ms / 1000),
                          .tv_nsec = (long)(at_ms % 1000) * 1000000L};
    pthread_cond_timedwait(c, m, &ts);
}

/* ---- one request ---- */

struct answer {
    char body[BODY_MAX + 1];
    size_t len;
    long retry_after_s; /* -1: none */
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t bytes = size * n, room = BODY_MAX - a->len;
    size_t take = bytes < room ? bytes : room;

    memcpy(a->body + a->len, data, take);
    a->len += take;
    a->body[a->len] = '\0';
    return bytes;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t bytes = size * n;
    static const char name[] = "retry-after:";

    if (bytes > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char num[16];
        char *end;
        long v;
        snprintf(num, sizeof(num), "%.*s", (int)(bytes - (sizeof(name) - 1)),
                 data + sizeof(name) - 1);
        v = strtol(num, &end, 10);
        if (end != num && v >= 0) /* an HTTP date is left to our own backoff */
            a->retry_after_s = v < RETRY_AFTER_MAX_S ? v : RETRY_AFTER_MAX_S;
    }
    return bytes;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct influx_sender *s = ctx;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return atomic_load(&s->cancel) ? 1 : 0; /* non-zero aborts the transfer */
}

/* The server's own words: InfluxDB 1.x answers {"error": "..."}, 2.x
 * {"code": "...", "message": "..."}; anything else is shown as text. */
static void server_message(const struct answer *a, char *out, size_t size)
{
    json_t *j = json_loadb(a->body, a->len, 0, NULL);
    const char *msg = NULL;

    if (json_is_object(j)) {
        json_t *v = json_object_get(j, "error");
        if (!json_is_string(v))
            v = json_object_get(j, "message");
        if (json_is_string(v))
            msg = json_string_value(v);
    }
    snprintf(out, size, "%s", msg != NULL ? msg : a->body);
    json_decref(j);
    out[strcspn(out, "\r\n")] = '\0';
    if (out[0] == '\0')
        snprintf(out, size, "no message");
}

/* Never show a secret, even one the server echoes back. */
static void redact(char *text, const char *secret)
{
    size_t n = secret != NULL ? strlen(secret) : 0;
    char *p;

    if (n < 3)
        return;
    while ((p = strstr(text, secret)) != NULL) {
        memset(p, '*', 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
}

static enum outcome classify(long status)
{
    if (status >= 200 && status < 300)
        return SENT;
    if (status == 408 || status == 429 || status >= 500)
        return RETRY;
    return DROP;
}

static int curl_setup(struct influx_sender *s)
{
    CURL *c = curl_easy_init();
    int bad = 0;

    if (c == NULL)
        return -ENOMEM;
    bad |= curl_easy_setopt(c, CURLOPT_URL, s->t.write_url) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->t.timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->t.timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, "collectord/" PACKAGE_VERSION) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->t.tls_verify ? 1L : 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->t.tls_verify ? 2L : 0L) != CURLE_OK;
    if (s->t.cafile != NULL)
        bad |= curl_easy_setopt(c, CURLOPT_CAINFO, s->t.cafile) != CURLE_OK;
    /* The proxy setting, or none: the environment's http_proxy and the
     * like are never used (they may come from a file another user owns). */
    if (s->t.proxy != NULL) {
        bad |= curl_easy_setopt(c, CURLOPT_PROXY, s->t.proxy) != CURLE_OK;
    } else {
        bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK;
    }
    if (s->t.username != NULL) {
        bad |= curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_USERNAME, s->t.username) != CURLE_OK;
        bad |= curl_easy_setopt(c, CURLOPT_PASSWORD, s->t.password != NULL ? s->t.password : "") !=
               CURLE_OK;
    }
    bad |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    if (bad) {
        curl_easy_cleanup(c);
        return -EINVAL;
    }
    s->curl = c;
    return 0;
}

/* POST one batch. `why` gets the reason when it is not SENT. */
static enum outcome post(struct influx_sender *s, const struct batch *b, struct answer *a,
                         char *why, size_t why_size)
{
    struct curl_slist *h = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURLcode rc;

    const char *headers[] = {"Content-Type: text/plain; charset=utf-8",
                             "Expect:", /* no wait for a 100 Continue */
                             s->auth_header};

    memset(a, 0, sizeof(*a));
    a->retry_after_s = -1;
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        if (headers[i] == NULL)
            continue;
        if ((tmp = curl_slist_append(h, headers[i])) == NULL) {
            curl_slist_free_all(h);
            snprintf(why, why_size, "out of memory");
            return RETRY;
        }
        h = tmp;
    }
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, b->text.data);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->text.len);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
    rc = curl_easy_perform(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return RETRY;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (classify(status) != SENT) {
        char msg[BODY_MAX + 1];
        server_message(a, msg, sizeof(msg));
        snprintf(why, why_size, "HTTP %ld: %.200s", status, msg);
        redact(why, s->t.token);
        redact(why, s->t.password);
    }
    return classify(status);
}

/* ---- the thread ---- */

static int64_t backoff_ms(unsigned attempts, long retry_after_s)
{
    int64_t d = BACKOFF_FIRST_MS;

    if (retry_after_s >= 0)
        return retry_after_s * 1000 > BACKOFF_FIRST_MS ? retry_after_s * 1000 : BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < attempts && d < BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

static void batch_clear(struct batch *b)
{
    lp_buf_reset(&b->text);
    b->points = 0;
}

static void batch_swap(struct batch *a, struct batch *b)
{
    struct batch tmp = *a;
    *a = *b;
    *b = tmp;
}

/* `n` points (one per record) taken and not delivered: counted in the host's
 * totals as dropped, with the reason. */
static void lost(struct influx_sender *s, size_t n, const char *why)
{
    if (n > 0)
        s->api->records_lost(s->host, n, why);
}

/* What the answer to `out` changes. Lock held. */
static void settle(struct influx_sender *s, enum outcome o, const char *why, long retry_after_s)
{
    const struct collector_host_api *api = s->api;
    int new_cause = strcmp(s->cause, why) != 0;

    switch (o) {
    case SENT:
        if (s->attempts > 0)
            api->log(s->host, COLLECTOR_LOG_INFO, "%s: written again after %u failed attempt(s)",
                     s->t.base_url, s->attempts);
        s->sent += s->out.points;
        s->attempts = 0;
        batch_clear(&s->out);
        break;
    case DROP:
        /* A wrong database or a bad token does not heal by sending again. */
        if (new_cause)
            api->log(s->host, COLLECTOR_LOG_ERROR,
                     "%s: the server refused the points (%s): %zu point(s) dropped; "
                     "more like these are dropped and counted without a new line",
                     s->t.base_url, why, s->out.points);
        s->dropped += s->out.points;
        lost(s, s->out.points, "refused by the server");
        s->attempts = 0;
        batch_clear(&s->out);
        break;
    case RETRY:
        /* said once per outage; the line after it says when it is over */
        if (s->attempts == 0 && !atomic_load(&s->cancel))
            api->log(s->host, COLLECTOR_LOG_WARNING,
                     "%s: cannot write yet (%s): %zu point(s) kept and sent again with backoff",
                     s->t.base_url, why, s->out.points);
        s->attempts++;
        s->retry_at_ms = mono_ms() + backoff_ms(s->attempts, retry_after_s);
        break;
    }
    if (o == DROP)
        snprintf(s->cause, sizeof(s->cause), "%.255s", why); /* cause is 256 */
    pthread_cond_broadcast(&s->idle);
}

/* Whether the filling batch should go now. Lock held. */
static int filling_due(const struct influx_sender *s, int64_t now)
{
    return s->filling.points > 0 && (s->filling.points >= s->t.batch_size || s->flush_due ||
                                     s->filling_full ||
                                     now - s->filling_since_ms >= s->t.flush_interval_ms);
}

static void *sender_main(void *arg)
{
    struct influx_sender *s = arg;
    struct answer *a = malloc(sizeof(*a));
    char why[512];

    pthread_mutex_lock(&s->lock);
    while (!s->stopping && a != NULL) {
        int64_t now = mono_ms();
        if (s->out.points == 0 && filling_due(s, now)) {
            batch_swap(&s->out, &s->filling);
            s->flush_due = 0;
            s->filling_full = 0;
            s->retry_at_ms = now;
            pthread_cond_broadcast(&s->idle); /* room to fill again */
        }
        if (s->out.points > 0 && now >= s->retry_at_ms) {
            enum outcome o;
            pthread_mutex_unlock(&s->lock); /* `out` is this thread's while it is sent */
            why[0] = '\0';
            o = post(s, &s->out, a, why, sizeof(why));
            pthread_mutex_lock(&s->lock);
            settle(s, o, why, a->retry_after_s);
            continue;
        }
        if (s->out.points > 0)
            wait_until(&s->wake, &s->lock, s->retry_at_ms);
        else if (s->filling.points > 0)
            wait_until(&s->wake, &s->lock, s->filling_since_ms + s->t.flush_interval_ms);
        else
            pthread_cond_wait(&s->wake, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    free(a);
    return NULL;
}

/* ---- the API ---- */

static char *dup_or_null(const char *p, int *failed)
{
    char *d;
    if (p == NULL)
        return NULL;
    if ((d = strdup(p)) == NULL)
        *failed = 1;
    return d;
}

int sender_new(const struct collector_host_api *api, collector_host *host,
               const struct influx_target *target, struct influx_sender **out)
{
    struct influx_sender *s = calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    int failed = 0;
    const char **fields[] = {&s->t.base_url, &s->t.write_url, &s->t.token, &s->t.username,
                             &s->t.password, &s->t.cafile,    &s->t.proxy};

    if (s == NULL)
        return -ENOMEM;
    s->api = api;
    s->host = host;
    s->t = *target;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        *fields[i] = s->strings[i] = dup_or_null(*fields[i], &failed);
    if (target->token != NULL) {
        size_t n = strlen(target->token) + sizeof("Authorization: Token ");
        if ((s->auth_header = malloc(n)) != NULL)
            snprintf(s->auth_header, n, "Authorization: Token %s", target->token);
        else
            failed = 1;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->idle, NULL);
    if (failed) {
        sender_free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

int sender_start(struct influx_sender *s)
{
    CURLcode g = curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;

    if (g != CURLE_OK) {
        s->api->log(s->host, COLLECTOR_LOG_ERROR, "libcurl: %s", curl_easy_strerror(g));
        return -EIO;
    }
    rc = curl_setup(s);
    if (rc < 0) {
        s->api->log(
            s->host, COLLECTOR_LOG_ERROR,
            "libcurl refused an option (is it built with https and CURLOPT_PROTOCOLS_STR?)");
        curl_global_cleanup();
        return rc;
    }
    atomic_store(&s->cancel, 0);
    pthread_mutex_lock(&s->lock);
    s->stopping = 0;
    pthread_mutex_unlock(&s->lock);
    rc = pthread_create(&s->thread, NULL, sender_main, s);
    if (rc != 0) {
        s->api->log(s->host, COLLECTOR_LOG_ERROR, "cannot start the sender thread: %s",
                    strerror(rc));
        curl_easy_cleanup(s->curl);
        s->curl = NULL;
        curl_global_cleanup();
        return -rc;
    }
    s->thread_started = 1;
    return 0;
}

void sender_stop(struct influx_sender *s)
{
    if (s == NULL || !s->thread_started)
        return;
    atomic_store(&s->cancel, 1);
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->thread_started = 0;
    curl_easy_cleanup(s->curl);
    s->curl = NULL;
    curl_global_cleanup();
    /* what is still here was taken and never sent: said now, in the totals */
    lost(s, s->filling.points + s->out.points, "never taken by the server before stop");
    batch_clear(&s->filling);
    batch_clear(&s->out);
    s->attempts = 0;
}

void sender_free(struct influx_sender *s)
{
    size_t left;

    if (s == NULL)
        return;
    sender_stop(s);
    left = s->filling.points + s->out.points; /* never started: nothing was sent */
    lost(s, left, "never taken by the server");
    lp_buf_free(&s->filling.text);
    lp_buf_free(&s->out.text);
    for (size_t i = 0; i < sizeof(s->strings) / sizeof(s->strings[0]); i++)
        free(s->strings[i]);
    free(s->auth_header);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int sender_push(struct influx_sender *s, const char *text, size_t len, size_t npoints)
{
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    if (s->filling.points >= s->t.batch_size) {
        rc = -EAGAIN; /* the host keeps it: its queue is the bounded one */
    } else if (s->filling.points > 0 && s->t.batch_bytes > 0 &&
               s->filling.text.len + len > s->t.batch_bytes) {
        s->filling_full = 1; /* full in bytes: it goes now, the point waits */
        pthread_cond_signal(&s->wake);
        rc = -EAGAIN;
    } else {
        size_t before = s->filling.text.len;
        lp_append(&s->filling.text, text, len);
        if (s->filling.text.failed) {
            s->filling.text.failed = 0;
            s->filling.text.len = before;
            rc = -ENOMEM;
        } else {
            if (s->filling.points == 0)
                s->filling_since_ms = mono_ms();
            s->filling.points += npoints;
            if (s->filling.points >= s->t.batch_size)
                pthread_cond_signal(&s->wake);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int sender_flush(struct influx_sender *s)
{
    int64_t deadline = mono_ms() + FLUSH_WAIT_MS;
    struct timespec ts;
    int rc;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += FLUSH_WAIT_MS / 1000;
    pthread_mutex_lock(&s->lock);
    s->flush_due = 1;
    if (s->out.points > 0 && s->retry_at_ms > mono_ms())
        s->retry_at_ms = mono_ms(); /* one attempt now, not at the end of the backoff */
    pthread_cond_broadcast(&s->wake);
    while ((s->filling.points > 0 || s->out.points > 0) && s->thread_started &&
           mono_ms() < deadline)
        if (pthread_cond_timedwait(&s->idle, &s->lock, &ts) != 0)
            break;
    rc = s->filling.points > 0 || s->out.points > 0 ? -EAGAIN : 0;
    if (rc == 0 && s->dropped > s->dropped_told &&
        (s->api->run_flags(s->host) & COLLECTOR_RUN_ONCE)) {
        /* Refused points were not delivered: --once must not say it ran.
         * (At a stop or reload the refusal was said already, once.) */
        s->dropped_told = s->dropped;
        rc = -EREMOTEIO;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqlite_merge: a record as eamoon's keys, formatted as eamoon writes them
 * (one JSON object built in one pass, numbers without printf where that is
 * exact), and the whole record as JSON for the history table. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plugins/librecjson/record_json.h"
#include "plugins/sqlite_merge/sqlite_merge.h"

static uint32_t metric_type(const struct collector_host_api *api, const collector_record *rec,
                            const char *name)
{
    for (size_t i = 0; i < api->metric_count(rec); i++) {
        const char *n;
        uint32_t t;
        if (api->metric_at(rec, i, &n, &t) == 0 && strcmp(n, name) == 0)
            return t;
    }
    return 0;
}

/* A growing string; `failed` is sticky (out of memory). */
struct text {
    char *p;
    size_t len, cap;
    int failed;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        char *grown;
        while (t->len + n + 1 > cap)
            cap *= 2;
        grown = realloc(t->p, cap);
        if (grown == NULL) {
            t->failed = 1;
            return;
        }
        t->p = grown;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_addz(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* The decimal digits of v (at least min_digits, zero-padded), written
 * backwards before `end`; the first digit. */
static char *digits_before(char *end, uint64_t v, int min_digits)
{
    for (int n = 0; v != 0 || n < min_digits; n++) {
        *--end = (char)('0' + v % 10);
        v /= 10;
    }
    return end;
}

static void text_add_int(struct text *t, long long v)
{
    char buf[24], *end = buf + sizeof(buf);
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = digits_before(end, mag, 1);

    if (v < 0)
        *--p = '-';
    text_add(t, p, (size_t)(end - p));
}

/* d with `decimals` digits after the point, exactly as printf("%.*f") writes
 * it (that is eamoon's format), without printf where that is certain: |d|
 * scaled below 1e9 and not within 1e-6 of a rounding tie, where the scaling's
 * error (under 1.2e-7) cannot change the rounding. */
static void text_add_fixed(struct text *t, double d, int decimals)
{
    static const double pow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    char buf[64], *end = buf + sizeof(buf), *p; /* 64: as before, for the slow path */
    double scaled, whole, frac;
    uint64_t q, unit;

    if (decimals < 0 || decimals > 6 || !(fabs(d) * pow10[decimals] < 1e9))
        goto slow;
    scaled = fabs(d) * pow10[decimals];
    whole = floor(scaled);
    frac = scaled - whole;
    if (fabs(frac - 0.5) < 1e-6)
        goto slow;
    q = (uint64_t)whole + (frac > 0.5);
    unit = (uint64_t)pow10[decimals];
    p = end;
    if (decimals > 0) {
        p = digits_before(p, q % unit, decimals);
        *--p = '.';
    }
    p = digits_before(p, q / unit, 1);
    if (signbit(d))
        *--p = '-';
    text_add(t, p, (size_t)(end - p));
    return;
slow:
    snprintf(buf, sizeof(buf), "%.*f", decimals, d);
    text_addz(t, buf);
}

/* The letter of a two-character JSON escape of c ('n' for a newline), or 0. */
static char short_escape(unsigned char c)
{
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    const char *hit = c != 0 ? memchr(from, c, sizeof(from) - 1) : NULL;
    return hit ? to[hit - from] : 0;
}

/* A JSON string as jansson writes it; 0, or -1 for text that is not ASCII
 * (the caller lets jansson check and write it). */
static int text_add_ascii_string(struct text *t, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (const char *c = s; *c != '\0'; c++)
        if ((unsigned char)*c >= 0x80)
            return -1;
    text_add(t, "\"", 1);
    while (s[n] != '\0') {
        unsigned char c = (unsigned char)s[n];
        char esc[6] = {'\\', 0, '0', '0', hex[c >> 4], hex[c & 15]};
        if (c >= 0x20 && c != '"' && c != '\\') {
            n++;
            continue;
        }
        esc[1] = short_escape(c);
        text_add(t, s, n);
        s += n + 1;
        n = 0;
        if (esc[1] != 0) {
            text_add(t, esc, 2);
        } else {
            esc[1] = 'u';
            text_add(t, esc, 6);
        }
    }
    text_add(t, s, n);
    text_add(t, "\"", 1);
    return 0;
}

/* Any value through jansson (strings that are not ASCII, lists, ...); a value
 * jansson refuses (NULL) is left out with its key, as before. */
static void text_add_json(struct text *t, size_t key_start, json_t *value)
{
    char *dumped =
        value ? json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;

    if (dumped == NULL) {
        t->len = key_start; /* drop the key */
        if (t->p != NULL)
            t->p[t->len] = '\0';
    } else {
        text_addz(t, dumped);
    }
    free(dumped);
    json_decref(value);
}

static void text_add_string(struct text *t, size_t key_start, const char *s)
{
    if (text_add_ascii_string(t, s) < 0)
        text_add_json(t, key_start, json_string(s));
}

/* eamoon's keys of one record as a compact JSON object (the patch), built in
 * one pass: one lookup per field, numbers written without printf. */
char *sm_build_patch(const struct merge *m, const collector_record *rec, int index)
{
    const struct collector_host_api *api = m->api;
    struct text t = {0};
    char prefix[24] = "";
    size_t prefix_len;

    if (index >= 2)
        snprintf(prefix, sizeof(prefix), "battery%d_", index);
    prefix_len = strlen(prefix);
    text_add(&t, "{", 1);
    for (size_t i = 0; i < m->nfields; i++) {
        const struct field *f = &m->fields[i];
        size_t key_start = t.len;
        const char *s = NULL;
        double d = 0;
        int rc;

        /* The value first: a field the record lacks adds nothing. */
        if (f->fmt == FMT_AS_IS)
            rc = api->get_string(rec, f->name, &s);
        else
            rc = api->get_double(rec, f->name, &d);
        if (rc == -ENOENT && strcmp(f->name, "bms_address") == 0 && api->record_device(rec)[0])
            s = api->record_device(rec);
        else if (rc == -ENOENT || (f->fmt != FMT_AS_IS && (rc != 0 || !isfinite(d))))
            continue;
        if (t.len > 1)
            text_add(&t, ",", 1);
        text_add(&t, "\"", 1);
        text_add(&t, prefix, prefix_len);
        text_addz(&t, f->name);
        text_add(&t, "\":", 2);
        if (s != NULL) {
            text_add_string(&t, key_start, s);
        } else if (f->fmt == FMT_FIXED) { /* a JSON string, as eamoon writes them */
            text_add(&t, "\"", 1);
            text_add_fixed(&t, d, f->decimals);
            text_add(&t, "\"", 1);
        } else if (f->fmt == FMT_INT) {
            /* a JSON integer: the dashboard compares it with > 0 */
            text_add_int(&t, llround(d));
        } else { /* FMT_AS_IS of another type than a string */
            text_add_json(&t, key_start,
                          recjson_metric(api, rec, f->name, metric_type(api, rec, f->name)));
        }
    }
    text_add(&t, "}", 1);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    return t.p;
}

char *sm_build_history(const struct merge *m, const collector_record *rec)
{
    const struct collector_host_api *api = m->api;
    json_t *obj = json_object();
    char *out;

    json_object_set_new(obj, "source", json_string(api->record_source(rec)));
    json_object_set_new(obj, "device", json_string(api->record_device(rec)));
    recjson_add_metrics(api, rec, obj);
    out = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(obj);
    return out;
}


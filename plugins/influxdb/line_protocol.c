/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/influxdb/line_protocol.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lp_buf_free(struct lp_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void lp_buf_reset(struct lp_buf *b)
{
    b->len = 0;
    b->fields = 0;
    b->point_start = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int reserve(struct lp_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (b->failed || more > SIZE_MAX / 2 - b->len)
        return b->failed = 1, -ENOMEM;
    if (b->len + more + 1 <= b->cap)
        return 0;
    while (cap < b->len + more + 1)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return b->failed = 1, -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

void lp_append(struct lp_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_char(struct lp_buf *b, char c)
{
    lp_append(b, &c, 1);
}

/* A name (measurement or key), escaping the characters in `special` with a
 * backslash. The server reads a backslash and the byte after it as one
 * unit, so a run of backslashes of odd length right before a special
 * character or the end would swallow it: such a run gets one more. */
static void put_name(struct lp_buf *b, const char *s, const char *special)
{
    size_t run = 0; /* backslashes just written */

    for (;; s++) {
        char c = *s == '\n' || *s == '\r' ? ' ' : *s;
        int is_special = c != '\0' && strchr(special, c) != NULL;
        if ((is_special || c == '\0') && run % 2 == 1)
            put_char(b, '\\');
        if (c == '\0')
            return;
        if (is_special)
            put_char(b, '\\');
        put_char(b, c);
        run = c == '\\' ? run + 1 : 0;
    }
}

void lp_measurement(struct lp_buf *b, const char *name)
{
    put_name(b, name, ", ");
}

void lp_key(struct lp_buf *b, const char *key)
{
    put_name(b, key, ",= ");
}

void lp_string(struct lp_buf *b, const char *value)
{
    put_char(b, '"');
    for (const char *s = value; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            put_char(b, '\\');
        put_char(b, *s == '\n' || *s == '\r' ? ' ' : *s);
    }
    put_char(b, '"');
}

static int tag_cmp(const void *a, const void *b)
{
    return strcmp(((const struct lp_tag *)a)->key, ((const struct lp_tag *)b)->key);
}

void lp_begin(struct lp_buf *b, const char *measurement, struct lp_tag *tags, size_t ntags)
{
    b->point_start = b->len;
    b->fields = 0;
    lp_measurement(b, measurement);
    if (ntags > 1)
        qsort(tags, ntags, sizeof(*tags), tag_cmp);
    for (size_t i = 0; i < ntags; i++) {
        if (tags[i].key == NULL || tags[i].value == NULL || tags[i].key[0] == '\0' ||
            tags[i].value[0] == '\0')
            continue;
        put_char(b, ',');
        lp_key(b, tags[i].key);
        put_char(b, '=');
        lp_key(b, tags[i].value);
    }
}

static void field_key(struct lp_buf *b, const char *key)
{
    put_char(b, b->fields == 0 ? ' ' : ',');
    lp_key(b, key);
    put_char(b, '=');
    b->fields++;
}

void lp_format_double(double value, char *out, size_t size)
{
    /* %.15g is exact for most sensor values; else the fewest digits that
     * read back as the same double. */
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, value);
        if (strtod(out, NULL) == value)
            return;
    }
}

void lp_field_double(struct lp_buf *b, const char *key, double value)
{
    char num[40];

    if (!isfinite(value))
        return;
    lp_format_double(value, num, sizeof(num));
    field_key(b, key);
    lp_append(b, num, strlen(num));
}

void lp_field_int(struct lp_buf *b, const char *key, int64_t value)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%" PRId64 "i", value);

    field_key(b, key);
    lp_append(b, num, (size_t)n);
}

void lp_field_bool(struct lp_buf *b, const char *key, int value)
{
    field_key(b, key);
    lp_append(b, value ? "true" : "false", value ? 4 : 5);
}

void lp_field_string(struct lp_buf *b, const char *key, const char *value)
{
    field_key(b, key);
    lp_string(b, value);
}

int lp_end(struct lp_buf *b, int64_t timestamp)
{
    char num[32];
    int n;

    if (b->fields == 0 || b->failed) {
        b->len = b->point_start;
        if (b->data != NULL)
            b->data[b->len] = '\0';
        return b->failed ? -ENOMEM : -ENODATA;
    }
    n = snprintf(num, sizeof(num), " %" PRId64 "\n", timestamp);
    lp_append(b, num, (size_t)n);
    b->fields = 0;
    return b->failed ? -ENOMEM : 0;
}

int lp_scale_time(int64_t time_ns, const char *precision, int64_t *out)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(precision, units[i].name) == 0) {
            int64_t q = time_ns / units[i].ns;
            if (time_ns % units[i].ns < 0)
                q--; /* down, also before 1970 */
            *out = q;
            return 0;
        }
    }
    return -EINVAL;
}

void lp_url_escape(struct lp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            put_char(b, (char)c);
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            lp_append(b, enc, 3);
        }
    }
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/fingerprint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append to a growing buffer; -ENOMEM on failure. */
struct buf {
    char *s;
    size_t len, cap;
};

static int buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int buf_add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -EINVAL;
        if (b->s != NULL && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        {
            size_t cap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
            char *s = realloc(b->s, cap);
            if (s == NULL)
                return -ENOMEM;
            b->s = s;
            b->cap = cap;
        }
    }
}

static int add_setting(struct buf *b, const config_setting_t *s)
{
    const char *name = config_setting_name(s);
    int rc = buf_add(b, "%s:%d=", name ? name : "", config_setting_type(s));

    if (rc < 0)
        return rc;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return buf_add(b, "%lld;", (long long)config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return buf_add(b, "%a;", config_setting_get_float(s));
    case CONFIG_TYPE_BOOL:
        return buf_add(b, "%d;", config_setting_get_bool(s));
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string(s);
        return buf_add(b, "%zu'%s;", strlen(v ? v : ""), v ? v : "");
    }
    default:
        rc = buf_add(b, "{");
        for (int i = 0; rc == 0 && i < config_setting_length(s); i++)
            rc = add_setting(b, config_setting_get_elem(s, (unsigned)i));
        return rc < 0 ? rc : buf_add(b, "}");
    }
}

char *fingerprint_group(const config_setting_t *g)
{
    struct buf b = {NULL, 0, 0};

    if (add_setting(&b, g) < 0) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

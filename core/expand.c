/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/expand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ${A:-${B:-${C}}} nests at most this deep. */
#define EXPAND_DEPTH_MAX 8

static int name_char(char c, int first)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (!first && c >= '0' && c <= '9');
}

static int put(char *out, size_t out_size, size_t *used, const char *s, size_t n)
{
    if (n >= out_size - *used)
        return -ENAMETOOLONG;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
    return 0;
}

/* The '}' that closes a reference whose text goes on at `p`: the braces of
 * a ${...} nested in its default are skipped, as the shell does. */
static const char *closing(const char *p)
{
    int depth = 0;

    for (; *p != '\0'; p++) {
        if (p[0] == '$' && p[1] == '{') {
            depth++;
            p++;
        } else if (*p == '}') {
            if (depth == 0)
                return p;
            depth--;
        }
    }
    return NULL;
}

static int expand(const char *in, size_t in_len, char *out, size_t out_size, size_t *used,
                  char *missing, size_t missing_size, int depth)
{
    const char *end = in + in_len;
    int expanded = 0;

    if (depth > EXPAND_DEPTH_MAX) {
        snprintf(missing, missing_size, "%.40s", in);
        return -EINVAL;
    }
    while (in < end) {
        const char *dollar = in, *p, *close, *value, *dflt = NULL;
        char name[128];
        size_t n;
        int rc;

        while (dollar + 1 < end && !(dollar[0] == '$' && dollar[1] == '{'))
            dollar++;
        if (dollar + 1 >= end)
            return put(out, out_size, used, in, (size_t)(end - in)) < 0 ? -ENAMETOOLONG
                                                                        : expanded;
        if ((rc = put(out, out_size, used, in, (size_t)(dollar - in))) < 0)
            return rc;
        p = dollar + 2;
        for (n = 0; p + n < end && name_char(p[n], n == 0); n++)
            ;
        close = closing(p);
        if (close != NULL && close >= end)
            close = NULL;
        if (n == 0 || n >= sizeof(name) || close == NULL ||
            !(p[n] == '}' || (p[n] == ':' && p[n + 1] == '-'))) {
            snprintf(missing, missing_size, "%.*s", close ? (int)(close - dollar + 1) : 40,
                     dollar);
            return -EINVAL;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (p[n] == ':')
            dflt = p + n + 2;
        value = getenv(name);
        if (value == NULL || *value == '\0') {
            if (dflt == NULL) {
                snprintf(missing, missing_size, "%s", name);
                return -ENOENT;
            }
            rc = expand(dflt, (size_t)(close - dflt), out, out_size, used, missing,
                        missing_size, depth + 1);
        } else {
            rc = put(out, out_size, used, value, strlen(value));
        }
        if (rc < 0)
            return rc;
        expanded = 1;
        in = close + 1;
    }
    return expanded;
}

int expand_env(const char *in, char *out, size_t out_size, char *missing, size_t missing_size)
{
    size_t used = 0;

    if (out_size == 0)
        return -ENAMETOOLONG;
    out[0] = '\0';
    return expand(in, strlen(in), out, out_size, &used, missing, missing_size, 0);
}

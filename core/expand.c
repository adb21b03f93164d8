/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/expand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int expand_env(const char *in, char *out, size_t out_size, char *missing, size_t missing_size)
{
    size_t used = 0;
    int expanded = 0;

    if (out_size == 0)
        return -ENAMETOOLONG;
    out[0] = '\0';
    while (*in != '\0') {
        const char *dollar = strstr(in, "${");
        const char *p, *close, *value, *dflt = NULL;
        char name[128];
        size_t n;
        int rc;

        if (dollar == NULL)
            return put(out, out_size, &used, in, strlen(in)) < 0 ? -ENAMETOOLONG : expanded;
        if ((rc = put(out, out_size, &used, in, (size_t)(dollar - in))) < 0)
            return rc;
        p = dollar + 2;
        for (n = 0; name_char(p[n], n == 0); n++)
            ;
        close = strchr(p, '}');
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
            rc = put(out, out_size, &used, dflt, (size_t)(close - dflt));
        } else {
            rc = put(out, out_size, &used, value, strlen(value));
        }
        if (rc < 0)
            return rc;
        expanded = 1;
        in = close + 1;
    }
    return expanded;
}

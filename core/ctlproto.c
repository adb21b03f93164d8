/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/ctlproto.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/names.h"

int ctl_parse_duration(const char *s, int64_t *ms)
{
    int64_t total = 0;
    int parts = 0;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    while (*s != '\0') {
        char *end;
        long long v;
        int64_t unit;
        if (*s < '0' || *s > '9')
            return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || v < 0 || v > 1000000)
            return -EINVAL;
        s = end;
        if (*s == '\0' && parts == 0) {
            unit = 1000; /* a bare number is seconds */
        } else if (strncmp(s, "min", 3) == 0) {
            unit = 60000;
            s += 3;
        } else if (*s == 'h') {
            unit = 3600000;
            s++;
        } else if (*s == 'm' && s[1] == 's') {
            unit = 1;
            s += 2;
        } else if (*s == 'm') {
            unit = 60000;
            s++;
        } else if (*s == 's') {
            unit = 1000;
            s++;
        } else if (*s == 'd') {
            unit = 86400000;
            s++;
        } else {
            return -EINVAL;
        }
        total += (int64_t)v * unit;
        parts++;
    }
    if (total <= 0 || total > (int64_t)7 * 86400000)
        return -EINVAL; /* a week at most: a forgotten return is a risk too */
    *ms = total;
    return 0;
}

/* jansson's error text quotes the token it stopped at as it came: a control
 * character in it (a newline) would split the one-line answer and the log. */
static void control_chars_out(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int ctl_parse_request(const char *line, size_t len, struct ctl_request *req, char *err,
                      size_t errsize)
{
    json_error_t je;
    json_t *o = NULL, *v;
    const char *key;
    int rc = -EINVAL;

    memset(req, 0, sizeof(*req));
    if (len > CTL_LINE_MAX) {
        snprintf(err, errsize, "request longer than %d bytes", CTL_LINE_MAX);
        return -EINVAL;
    }
    o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        snprintf(err, errsize, "want one JSON object per line (%s)",
                 o == NULL ? je.text : "not an object");
        control_chars_out(err);
        goto out;
    }
    json_object_foreach(o, key, v) {
        const char *s = json_string_value(v);
        if (strcmp(key, "battery") == 0) {
            if (s == NULL || !names_is_instance(s) || strlen(s) >= sizeof(req->battery)) {
                snprintf(err, errsize, "battery: want an instance name");
                goto out;
            }
            snprintf(req->battery, sizeof(req->battery), "%s", s);
        } else if (strcmp(key, "switch") == 0) {
            if (s == NULL || !(names_is_symbol(s) && strlen(s) < sizeof(req->sw))) {
                snprintf(err, errsize, "switch: want a command name, e.g. \"charge\"");
                goto out;
            }
            snprintf(req->sw, sizeof(req->sw), "%s", s);
        } else if (strcmp(key, "value") == 0) {
            if (s == NULL || (strcmp(s, "on") != 0 && strcmp(s, "off") != 0)) {
                snprintf(err, errsize, "value: want \"on\" or \"off\"");
                goto out;
            }
            snprintf(req->value, sizeof(req->value), "%s", s);
        } else if (strcmp(key, "for") == 0) {
            if (s == NULL || ctl_parse_duration(s, &req->duration_ms) < 0) {
                snprintf(err, errsize, "for: want a duration such as \"30min\", \"90s\", \"2h\"");
                goto out;
            }
        } else if (strcmp(key, "force") == 0) {
            if (!json_is_boolean(v)) {
                snprintf(err, errsize, "force: want true or false");
                goto out;
            }
            req->force = json_is_true(v);
        } else {
            snprintf(err, errsize, "unknown key (known: battery, switch, value, for, force)");
            goto out;
        }
    }
    if (req->battery[0] == '\0') {
        snprintf(err, errsize, "battery: missing");
        goto out;
    }
    if ((req->sw[0] == '\0') != (req->value[0] == '\0')) {
        snprintf(err, errsize, "switch and value go together");
        goto out;
    }
    if (req->sw[0] == '\0' && (req->duration_ms > 0 || req->force)) {
        snprintf(err, errsize, "for and force need a switch and a value");
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

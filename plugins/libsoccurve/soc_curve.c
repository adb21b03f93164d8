/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libsoccurve/soc_curve.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* The seed's documented points: 3.65 V = 100 %, 3.30 V = 50 %, 2.50 V = 0 %. */
static const struct soc_curve curve_default = {3, {2.50, 3.30, 3.65}, {0.0, 50.0, 100.0}};

/*
 * LiFePO4 resting (open-circuit, after a rest) voltage per cell. Source:
 * Redway Tech, "What is the resting voltage of LiFePO4?"
 * (https://www.redway-tech.com/what-is-the-resting-voltage-of-lifepo4/), which
 * gives per-cell ranges 0 %: 2.50-2.70 V, 25 %: 3.10-3.20 V, 50 %: 3.25-3.30 V,
 * 75 %: 3.35-3.40 V, 100 %: 3.45-3.50 V; the points are the middle of each range.
 * Only meaningful for a battery at rest: under load or charge the cell
 * voltage sits below or above its resting value.
 */
static const struct soc_curve curve_lifepo4_rest = {
    5, {2.60, 3.15, 3.275, 3.375, 3.475}, {0.0, 25.0, 50.0, 75.0, 100.0}};

double soc_curve_eval(const struct soc_curve *c, double v)
{
    if (v <= c->volts[0])
        return c->soc[0];
    for (size_t i = 1; i < c->n; i++) {
        if (v <= c->volts[i]) {
            double f = (v - c->volts[i - 1]) / (c->volts[i] - c->volts[i - 1]);
            return c->soc[i - 1] + f * (c->soc[i] - c->soc[i - 1]);
        }
    }
    return c->soc[c->n - 1];
}

int soc_curve_preset(const char *name, struct soc_curve *out)
{
    if (strcmp(name, "default") == 0)
        *out = curve_default;
    else if (strcmp(name, "lifepo4_rest") == 0)
        *out = curve_lifepo4_rest;
    else
        return -ENOENT;
    return 0;
}

int soc_curve_from_settings(const struct collector_host_api *api, collector_host *host,
                            const collector_settings *s, struct soc_curve *out)
{
    const collector_settings *list;
    const char *preset = NULL;
    struct soc_curve c;
    int rc;

    rc = api->setting_string(s, "preset", &preset);
    if (rc == -EINVAL || (rc == 0 && soc_curve_preset(preset, &c) < 0)) {
        api->setting_error(host, s, "preset", "unknown preset (known: \"default\", "
                                              "\"lifepo4_rest\")");
        return -EINVAL;
    }
    if (api->setting_child(s, "curve", &list) != 0) {
        if (rc != 0)
            c = curve_default;
        *out = c;
        return 0;
    }
    if (preset != NULL) {
        api->setting_error(host, s, "curve", "give either curve or preset, not both");
        return -EINVAL;
    }
    memset(&c, 0, sizeof(c));
    c.n = api->setting_count(list);
    if (c.n < 2 || c.n > SOC_CURVE_MAX) {
        api->setting_error(host, s, "curve",
                           "want 2 to %d points ( (volts, soc), ... ), got %zu", SOC_CURVE_MAX,
                           c.n);
        return -EINVAL;
    }
    for (size_t i = 0; i < c.n; i++) {
        const collector_settings *pt, *v, *p;
        if (api->setting_element(list, i, &pt) != 0 || api->setting_count(pt) != 2 ||
            api->setting_element(pt, 0, &v) != 0 || api->setting_element(pt, 1, &p) != 0 ||
            api->setting_double(v, NULL, &c.volts[i]) != 0 ||
            api->setting_double(p, NULL, &c.soc[i]) != 0) {
            api->setting_error(host, pt ? pt : s, pt ? NULL : "curve",
                               "curve point %zu: want (volts, soc), two numbers", i + 1);
            return -EINVAL;
        }
        if (c.soc[i] < 0.0 || c.soc[i] > 100.0) {
            api->setting_error(host, pt, NULL, "curve point %zu: SOC %.1f is outside 0..100",
                               i + 1, c.soc[i]);
            return -EINVAL;
        }
        if (i > 0 && !(c.volts[i] > c.volts[i - 1])) {
            api->setting_error(host, pt, NULL,
                               "curve point %zu: voltages must increase strictly (%.3f after "
                               "%.3f)",
                               i + 1, c.volts[i], c.volts[i - 1]);
            return -EINVAL;
        }
        if (i > 0 && c.soc[i] < c.soc[i - 1]) {
            api->setting_error(host, pt, NULL,
                               "curve point %zu: SOC must not decrease (%.1f after %.1f)", i + 1,
                               c.soc[i], c.soc[i - 1]);
            return -EINVAL;
        }
    }
    *out = c;
    return 0;
}

int soc_average_cell_voltage(const struct collector_host_api *api, const collector_record *rec,
                             double *out)
{
    const double *cells;
    size_t n;
    double pack;
    int64_t count;

    if (api->get_doubles(rec, "cells", &cells, &n) == 0) {
        double sum = 0;
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            if (cells[i] > 0.0) {
                sum += cells[i];
                used++;
            }
        }
        if (used > 0) {
            *out = sum / (double)used;
            return 0;
        }
    }
    if (api->get_double(rec, "battery_voltage", &pack) == 0 &&
        api->get_int(rec, "bms_cell_count", &count) == 0 && count > 0) {
        *out = pack / (double)count;
        return 0;
    }
    return -ENOENT;
}

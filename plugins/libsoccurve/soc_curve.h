/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A voltage -> state-of-charge curve: points interpolated linearly, clamped
 * at both ends. Shared by the SOC calculators. */
#ifndef COLLECTORD_PLUGINS_LIBSOCCURVE_SOC_CURVE_H
#define COLLECTORD_PLUGINS_LIBSOCCURVE_SOC_CURVE_H

#include <stddef.h>

#include <collector/plugin.h>

#define SOC_CURVE_MAX 32

struct soc_curve {
    size_t n;
    double volts[SOC_CURVE_MAX]; /* per cell, strictly increasing */
    double soc[SOC_CURVE_MAX];   /* %, 0..100, non-decreasing */
};

/* SOC in % at average cell voltage `v`. */
double soc_curve_eval(const struct soc_curve *c, double v);
/* The named preset ("default", "lifepo4_rest"), or -ENOENT. */
int soc_curve_preset(const char *name, struct soc_curve *out);
/* Read `curve = ((V, SOC), ...)` or `preset = "..."` from an instance's
 * settings (the default curve when neither is set). Each error is reported
 * with api->setting_error at the offending element's line; -EINVAL then. */
int soc_curve_from_settings(const struct collector_host_api *api, collector_host *host,
                            const collector_settings *s, struct soc_curve *out);
/* The mean cell voltage of a record: the mean of its non-zero `cells`, else
 * battery_voltage / bms_cell_count. 0 and *out, or -ENOENT. */
int soc_average_cell_voltage(const struct collector_host_api *api, const collector_record *rec,
                             double *out);

#endif

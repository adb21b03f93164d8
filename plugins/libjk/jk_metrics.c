/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_metrics.h"

#include "plugins/libjk/jk_control.h"

#include <errno.h>
#include <string.h>

void jk_metrics_visit(const struct jk_cell_info *ci, const struct jk_plaus *pl,
                      const struct jk_device_info *di, const char *address,
                      const struct jk_metric_visitor *v, void *ctx)
{
    struct jk_cell_stats st;
    char errors[512];

    if (pl->drop) {
        v->string(ctx, "protocol", jk_protocol_name(ci->proto));
        return;
    }
    jk_cell_stats(ci, &st);
    v->numbers(ctx, "cells", ci->cell_v, ci->ncells);
    v->integer(ctx, "bms_cell_count", (int64_t)st.count);
    if (st.nonzero > 0) {
        v->number(ctx, "bms_cell_min_v", st.min_v);
        v->number(ctx, "bms_cell_max_v", st.max_v);
        v->number(ctx, "bms_cell_delta_v", st.delta_v);
        v->number(ctx, "bms_cell_avg_v", st.avg_v);
        v->integer(ctx, "bms_cell_min_index", (int64_t)st.min_index);
        v->integer(ctx, "bms_cell_max_index", (int64_t)st.max_index);
    }
    if (!ci->no_cell_ohm && !jk_plaus_is_rejected(pl, JK_PLAUS_CELL_RES))
        v->numbers(ctx, "cell_resistances", ci->cell_ohm, ci->ncells);
    v->number(ctx, "battery_voltage", ci->pack_v);
    if (ci->has_pack) {
        if (!jk_plaus_is_rejected(pl, JK_PLAUS_CURRENT)) {
            v->number(ctx, "battery_current", ci->current_a);
            v->number(ctx, "battery_power", ci->pack_v * ci->current_a);
        }
        if (!jk_plaus_is_rejected(pl, JK_PLAUS_SOC))
            v->integer(ctx, "bms_soc", ci->soc);
        if (!ci->no_remaining && !jk_plaus_is_rejected(pl, JK_PLAUS_REMAINING))
            v->number(ctx, "capacity_remaining_ah", ci->remaining_ah);
        if (!jk_plaus_is_rejected(pl, JK_PLAUS_NOMINAL))
            v->number(ctx, "capacity_nominal_ah", ci->nominal_ah);
        if (!jk_plaus_is_rejected(pl, JK_PLAUS_CYCLES))
            v->integer(ctx, "cycle_count", ci->cycles);
        if (!jk_plaus_is_rejected(pl, JK_PLAUS_CYCLE_CAP))
            v->number(ctx, "cycle_capacity_ah", ci->cycle_capacity_ah);
        if (!ci->no_remaining && !jk_plaus_is_rejected(pl, JK_PLAUS_SOH))
            v->integer(ctx, "soh", ci->soh);
    }
    if (pl->ntemps > 0) { /* the probes before the first implausible one */
        v->number(ctx, "temperature", ci->temps[0]);
        v->numbers(ctx, "temperatures", ci->temps, pl->ntemps);
    }
    if (ci->has_mos_temp && !jk_plaus_is_rejected(pl, JK_PLAUS_MOS_TEMP))
        v->number(ctx, "mos_temperature", ci->mos_temp);
    if (ci->has_balance_current && !jk_plaus_is_rejected(pl, JK_PLAUS_BALANCE_CURRENT))
        v->number(ctx, "balance_current", ci->balance_current_a);
    if (!ci->no_balancing)
        v->boolean(ctx, "balancing", ci->balancing_action != 0);
    if (ci->balancer_switch >= 0)
        v->boolean(ctx, "balancer_enabled", ci->balancer_switch);
    if (ci->charging >= 0)
        v->boolean(ctx, "charging_enabled", ci->charging);
    if (ci->discharging >= 0)
        v->boolean(ctx, "discharging_enabled", ci->discharging);
    if (ci->heating >= 0)
        v->boolean(ctx, "heating", ci->heating);
    if (ci->has_errors) {
        v->integer(ctx, "errors_bitmask", ci->errors);
        jk_error_names(ci->errors, ci->proto, errors, sizeof(errors));
        v->string(ctx, "errors", errors);
    }
    if (ci->has_runtime)
        v->integer(ctx, "total_runtime_s", ci->runtime_s);
    if (di != NULL) {
        v->string(ctx, "bms_model", di->model);
        v->string(ctx, "bms_hw_version", di->hw_version);
        v->string(ctx, "bms_sw_version", di->sw_version);
        v->string(ctx, "bms_serial", di->serial);
        v->string(ctx, "bms_name", di->name[0] ? di->name : di->model);
    }
    if (address != NULL && address[0] != '\0')
        v->string(ctx, "bms_address", address);
    v->string(ctx, "protocol", jk_protocol_name(ci->proto));
}

struct fill_ctx {
    const struct collector_host_api *api;
    collector_record *rec;
    int rc;
};

static void keep_first_error(struct fill_ctx *f, int rc)
{
    if (f->rc == 0 && rc < 0)
        f->rc = rc;
}

static void fill_number(void *ctx, const char *name, double value)
{
    struct fill_ctx *f = ctx;
    keep_first_error(f, f->api->set_double(f->rec, name, value));
}

static void fill_integer(void *ctx, const char *name, int64_t value)
{
    struct fill_ctx *f = ctx;
    keep_first_error(f, f->api->set_int(f->rec, name, value));
}

static void fill_boolean(void *ctx, const char *name, int value)
{
    struct fill_ctx *f = ctx;
    keep_first_error(f, f->api->set_bool(f->rec, name, value));
}

static void fill_string(void *ctx, const char *name, const char *value)
{
    struct fill_ctx *f = ctx;
    keep_first_error(f, f->api->set_string(f->rec, name, value));
}

static void fill_numbers(void *ctx, const char *name, const double *values, size_t count)
{
    struct fill_ctx *f = ctx;
    keep_first_error(f, f->api->set_doubles(f->rec, name, values, count));
}

int jk_record_fill(const struct collector_host_api *api, collector_record *rec,
                   const struct jk_cell_info *ci, const struct jk_plaus *pl,
                   const struct jk_device_info *di, const char *address)
{
    static const struct jk_metric_visitor visitor = {
        fill_number, fill_integer, fill_boolean, fill_string, fill_numbers,
    };
    struct fill_ctx f = {api, rec, 0};

    if (pl->drop)
        return -ERANGE;
    jk_metrics_visit(ci, pl, di, address, &visitor, &f);
    if (address != NULL && address[0] != '\0')
        keep_first_error(&f, api->set_device(rec, address));
    else if (di != NULL && di->serial[0] != '\0')
        keep_first_error(&f, api->set_device(rec, di->serial));
    return f.rc;
}

int jk_record_switches(const struct collector_host_api *api, collector_record *rec,
                       const int flags[3])
{
    struct fill_ctx f = {api, rec, 0};

    for (int i = 0; i < JK_SWITCH_COUNT; i++)
        if (flags[i] >= 0)
            keep_first_error(&f, api->set_bool(rec, jk_switch_metric(i), flags[i]));
    return f.rc;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_report.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "plugins/libjk/jk_capture.h"
#include "plugins/libjk/jk_metrics.h"
#include "plugins/libjk/jk_stream.h"

/* What jk_plaus_check() refused, one line each; the values are not shown. */
static void print_rejected(FILE *out, const struct jk_plaus *pl)
{
    char line[192];

    if (pl->drop)
        fprintf(out, "FRAME DROPPED: implausible cells or pack voltage\n");
    for (size_t i = 0; i < pl->n; i++) {
        jk_plaus_describe(&pl->list[i], line, sizeof(line));
        fprintf(out, "Implausible: %s\n", line);
    }
}

/* A value as text, or "-" when jk_plaus_check() rejected its field. */
static void shown(char *buf, size_t cap, const struct jk_plaus *pl, int field, int decimals,
                  double value)
{
    if (jk_plaus_is_rejected(pl, field))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.*f", decimals, value);
}

void jk_report_print(FILE *out, const struct jk_cell_info *ci, const struct jk_device_info *di)
{
    struct jk_cell_stats st;
    struct jk_plaus pl;
    char errors[512];

    jk_plaus_check(ci, &pl);
    jk_cell_stats(ci, &st);
    fprintf(out, "\n==================================================\n");
    fprintf(out, "BATTERY STATUS");
    if (di != NULL)
        fprintf(out, " - %s (%s, hw %s, sw %s)", di->name[0] ? di->name : di->model, di->model,
                di->hw_version, di->sw_version);
    fprintf(out, "\n==================================================\n");
    if (pl.drop) {
        print_rejected(out, &pl);
        fprintf(out, "==================================================\n");
        return;
    }
    fprintf(out, "Cell voltages (%zu cells, protocol %s):\n", st.count,
            jk_protocol_name(ci->proto));
    for (size_t i = 0; i < ci->ncells; i++)
        fprintf(out, "  Cell %2zu: %.3f V%s", i + 1, ci->cell_v[i],
                (i % 4 == 3 || i + 1 == ci->ncells) ? "\n" : "   ");
    if (st.nonzero > 0) {
        fprintf(out, "\nMin: %.3f V (cell %zu)  Max: %.3f V (cell %zu)\n", st.min_v,
                st.min_index, st.max_v, st.max_index);
        fprintf(out, "Delta: %.3f V  Average: %.3f V\n", st.delta_v, st.avg_v);
    }
    fprintf(out, "\nTotal voltage: %.3f V%s\n", ci->pack_v,
            ci->has_pack ? "" : " (sum of cells: a JK04 balancer reports no pack voltage)");
    if (ci->has_pack && !jk_plaus_is_rejected(&pl, JK_PLAUS_CURRENT)) {
        fprintf(out, "Current: %.3f A (%s)\n", ci->current_a,
                ci->current_a > 0 ? "charging" : ci->current_a < 0 ? "discharging" : "idle");
        fprintf(out, "Power: %.1f W\n", ci->pack_v * ci->current_a);
    }
    if (pl.ntemps > 0) {
        fprintf(out, "Temperature: %.1f C", ci->temps[0]);
        for (size_t i = 1; i < pl.ntemps; i++)
            fprintf(out, " / %.1f C", ci->temps[i]);
        fprintf(out, "\n");
    }
    if (ci->has_mos_temp && !jk_plaus_is_rejected(&pl, JK_PLAUS_MOS_TEMP))
        fprintf(out, "MOSFET temperature: %.1f C\n", ci->mos_temp);
    if (ci->has_pack) {
        char soc[16], soh[16], rem[24], nom[24], cyc[16];
        shown(soc, sizeof(soc), &pl, JK_PLAUS_SOC, 0, ci->soc);
        shown(soh, sizeof(soh), &pl, JK_PLAUS_SOH, 0, ci->soh);
        shown(rem, sizeof(rem), &pl, JK_PLAUS_REMAINING, 3, ci->remaining_ah);
        shown(nom, sizeof(nom), &pl, JK_PLAUS_NOMINAL, 3, ci->nominal_ah);
        shown(cyc, sizeof(cyc), &pl, JK_PLAUS_CYCLES, 0, ci->cycles);
        if (!ci->no_remaining) {
            fprintf(out, "SOC (BMS): %s %%  SOH: %s %%\n", soc, soh);
            fprintf(out, "Capacity: %s / %s Ah  Cycles: %s\n", rem, nom, cyc);
        } else { /* the 0x4E57 protocol has neither */
            fprintf(out, "SOC (BMS): %s %%\n", soc);
            fprintf(out, "Capacity: %s Ah  Cycles: %s\n", nom, cyc);
        }
    }
    if (ci->no_balancing)
        fprintf(out, "Balancer: %s", ci->balancer_switch == 1   ? "switched on"
                                     : ci->balancer_switch == 0 ? "switched off"
                                                                : "unknown");
    else
        fprintf(out, "Balancing: %s", ci->balancing_action ? "yes" : "no");
    if (ci->has_balance_current && !jk_plaus_is_rejected(&pl, JK_PLAUS_BALANCE_CURRENT))
        fprintf(out, " (%.3f A)", ci->balance_current_a);
    fprintf(out, "\n");
    if (ci->charging >= 0)
        fprintf(out, "Charging: %s  Discharging: %s  Heating: %s\n", ci->charging ? "on" : "off",
                ci->discharging ? "on" : "off", ci->heating ? "on" : "off");
    if (ci->has_errors) {
        jk_error_names(ci->errors, ci->proto, errors, sizeof(errors));
        fprintf(out, "Errors: 0x%08X %s\n", (unsigned)ci->errors, errors[0] ? errors : "none");
    }
    if (ci->has_runtime) {
        char rt[48];
        jk_format_runtime(ci->runtime_s, rt, sizeof(rt));
        fprintf(out, "Total runtime: %s (%u s)\n", rt, (unsigned)ci->runtime_s);
    }
    print_rejected(out, &pl);
    fprintf(out, "==================================================\n");
}

static void js_number(void *ctx, const char *name, double value)
{
    json_object_set_new(ctx, name, json_real(value));
}

static void js_integer(void *ctx, const char *name, int64_t value)
{
    json_object_set_new(ctx, name, json_integer((json_int_t)value));
}

static void js_boolean(void *ctx, const char *name, int value)
{
    json_object_set_new(ctx, name, json_boolean(value));
}

static void js_string(void *ctx, const char *name, const char *value)
{
    json_object_set_new(ctx, name, json_string(value));
}

static void js_numbers(void *ctx, const char *name, const double *values, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(a, json_real(values[i]));
    json_object_set_new(ctx, name, a);
}

/* "rejected": [{"field", "index"?, "raw", "min", "max", "unit"}], and
 * "dropped": true when the frame is not used at all. */
static void js_rejected(json_t *obj, const struct jk_plaus *pl)
{
    json_t *list = json_array();

    for (size_t i = 0; i < pl->n; i++) {
        const struct jk_rejection *r = &pl->list[i];
        json_t *e = json_pack("{s:s, s:f, s:f, s:f, s:s}", "field", r->metric, "raw", r->raw, "min",
                              r->min, "max", r->max, "unit", r->unit);
        if (e != NULL && r->index > 0)
            json_object_set_new(e, "index", json_integer((json_int_t)r->index));
        json_array_append_new(list, e);
    }
    json_object_set_new(obj, "rejected", list);
    if (pl->drop)
        json_object_set_new(obj, "dropped", json_true());
}

int jk_report_json(FILE *out, const struct jk_cell_info *ci, const struct jk_device_info *di,
                   const char *address)
{
    static const struct jk_metric_visitor visitor = {
        js_number, js_integer, js_boolean, js_string, js_numbers,
    };
    json_t *obj = json_object();
    struct jk_plaus pl;
    int rc;

    if (obj == NULL)
        return -ENOMEM;
    jk_plaus_check(ci, &pl);
    jk_metrics_visit(ci, &pl, di, address, &visitor, obj);
    if (pl.n > 0)
        js_rejected(obj, &pl);
    rc = json_dumpf(obj, out, JSON_COMPACT | JSON_REAL_PRECISION(10)) == 0 ? 0 : -EIO;
    fputc('\n', out);
    json_decref(obj);
    return rc < 0 ? rc : pl.drop ? -ERANGE : 0;
}

int jk_decode_file_main(const char *path, int json, int proto, FILE *out, FILE *err)
{
    struct jk_capture cap;
    struct jk_stream s;
    char msg[512];
    struct jk_plaus pl;
    unsigned long decoded = 0, refused = 0, dropped = 0;
    int rc;

    rc = jk_capture_load(path, &cap, msg, sizeof(msg));
    if (rc < 0) {
        fprintf(err, "jkbms-util: %s\n", msg);
        return 1;
    }
    if (cap.cut_line > 0)
        fprintf(err,
                "jkbms-util: %s:%zu: the last line is cut short (capture interrupted): "
                "left out\n",
                path, cap.cut_line);
    jk_stream_init(&s, proto);
    for (size_t i = 0; i < cap.n; i++) {
        struct jk_cell_info ci;
        size_t len;
        const uint8_t *chunk = jk_capture_chunk(&cap, i, &len);

        jk_stream_feed(&s, chunk, len);
        rc = jk_stream_take_cell_info(&s, &ci);
        if (rc == -EPROTO) {
            if (refused++ == 0)
                fprintf(err, "jkbms-util: %s: %s\n", path, jk_stream_error(&s));
            continue;
        }
        if (rc < 0)
            continue;
        jk_plaus_check(&ci, &pl);
        if (pl.drop)
            dropped++;
        else
            decoded++;
        if (json)
            jk_report_json(out, &ci, jk_stream_device_info(&s), NULL);
        else
            jk_report_print(out, &ci, jk_stream_device_info(&s));
    }
    jk_capture_free(&cap);
    if (decoded == 0) {
        fprintf(err,
                "jkbms-util: %s: no valid cell-info frame (%lu record(s), %lu bad, %lu junk "
                "byte(s), %lu implausible)\n",
                path, s.as.frames, s.as.bad_frames, s.as.junk_bytes, dropped);
        return 1;
    }
    return 0;
}

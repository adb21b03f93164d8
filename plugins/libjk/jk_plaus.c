/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_plaus.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The table in docs/records.md, "Plausible values". */
struct range {
    const char *metric;
    const char *unit;
    double min, max;
};

static const struct range ranges[JK_PLAUS_NFIELDS] = {
    [JK_PLAUS_CELLS] = {"cells", "V", 0.5, 5.0},
    [JK_PLAUS_PACK_V] = {"battery_voltage", "V", 0.0, 0.0}, /* from the cells */
    [JK_PLAUS_CELL_RES] = {"cell_resistances", "ohm", 0.0, 10.0},
    [JK_PLAUS_CURRENT] = {"battery_current", "A", -1000.0, 1000.0},
    [JK_PLAUS_TEMP1] = {"temperatures", "degC", -40.0, 120.0},
    [JK_PLAUS_TEMP1 + 1] = {"temperatures", "degC", -40.0, 120.0},
    [JK_PLAUS_TEMP1 + 2] = {"temperatures", "degC", -40.0, 120.0},
    [JK_PLAUS_TEMP1 + 3] = {"temperatures", "degC", -40.0, 120.0},
    [JK_PLAUS_TEMP1 + 4] = {"temperatures", "degC", -40.0, 120.0},
    [JK_PLAUS_MOS_TEMP] = {"mos_temperature", "degC", -40.0, 120.0},
    [JK_PLAUS_BALANCE_CURRENT] = {"balance_current", "A", -10.0, 10.0},
    [JK_PLAUS_SOC] = {"bms_soc", "%", 0.0, 100.0},
    [JK_PLAUS_SOH] = {"soh", "%", 0.0, 100.0},
    [JK_PLAUS_REMAINING] = {"capacity_remaining_ah", "Ah", 0.0, 10000.0},
    [JK_PLAUS_NOMINAL] = {"capacity_nominal_ah", "Ah", 0.0, 10000.0},
    [JK_PLAUS_CYCLES] = {"cycle_count", "", 0.0, 100000.0},
    [JK_PLAUS_CYCLE_CAP] = {"cycle_capacity_ah", "Ah", 0.0, 4000000.0},
};

_Static_assert(JK_PLAUS_NFIELDS <= 32, "one bit per field in jk_plaus.rejected");

static void reject(struct jk_plaus *p, int field, size_t index, double raw, double min, double max)
{
    struct jk_rejection *r;

    if (jk_plaus_is_rejected(p, field))
        return; /* the first bad element of a field is enough */
    r = &p->list[p->n++];
    r->field = field;
    r->metric = ranges[field].metric;
    r->unit = ranges[field].unit;
    r->index = index;
    r->raw = raw;
    r->min = min;
    r->max = max;
    p->rejected |= 1u << field;
}

/* Reject `raw` when it is outside the field's range (NaN included). */
static int check(struct jk_plaus *p, int field, size_t index, double raw)
{
    const struct range *g = &ranges[field];

    if (raw >= g->min && raw <= g->max)
        return 1;
    reject(p, field, index, raw, g->min, g->max);
    return 0;
}

/* Cells 0 (an empty slot) or in range, at least one reading; the pack voltage
 * within 5 % + 0.1 V of their sum. Either failing drops the frame. */
static void check_cells_and_pack(const struct jk_cell_info *ci, struct jk_plaus *p)
{
    double sum = 0, tol;
    size_t nonzero = 0;

    for (size_t i = 0; i < ci->ncells && i < JK_MAX_CELLS; i++) {
        if (ci->cell_v[i] == 0.0)
            continue;
        check(p, JK_PLAUS_CELLS, i + 1, ci->cell_v[i]);
        sum += ci->cell_v[i];
        nonzero++;
    }
    if (nonzero == 0) {
        reject(p, JK_PLAUS_CELLS, 0, 0.0, ranges[JK_PLAUS_CELLS].min, ranges[JK_PLAUS_CELLS].max);
        return;
    }
    tol = 0.05 * sum + 0.1;
    if (ci->has_pack && !(fabs(ci->pack_v - sum) <= tol))
        reject(p, JK_PLAUS_PACK_V, 0, ci->pack_v, sum - tol, sum + tol);
}

void jk_plaus_check(const struct jk_cell_info *ci, struct jk_plaus *out)
{
    struct jk_plaus p;

    memset(&p, 0, sizeof(p));
    check_cells_and_pack(ci, &p);
    p.drop = jk_plaus_is_rejected(&p, JK_PLAUS_CELLS) || jk_plaus_is_rejected(&p, JK_PLAUS_PACK_V);
    for (size_t i = 0; i < ci->ncells && i < JK_MAX_CELLS; i++)
        check(&p, JK_PLAUS_CELL_RES, i + 1, ci->cell_ohm[i]);
    if (ci->has_pack)
        check(&p, JK_PLAUS_CURRENT, 0, ci->current_a);
    p.ntemps = ci->ntemps < JK_MAX_TEMPS ? ci->ntemps : JK_MAX_TEMPS;
    for (size_t i = 0, n = p.ntemps; i < n; i++)
        if (!check(&p, JK_PLAUS_TEMP1 + (int)i, i + 1, ci->temps[i]) && i < p.ntemps)
            p.ntemps = i; /* later probes would shift into its place: left out too */
    if (ci->has_mos_temp)
        check(&p, JK_PLAUS_MOS_TEMP, 0, ci->mos_temp);
    if (ci->has_balance_current)
        check(&p, JK_PLAUS_BALANCE_CURRENT, 0, ci->balance_current_a);
    if (ci->has_pack) {
        check(&p, JK_PLAUS_SOC, 0, ci->soc);
        check(&p, JK_PLAUS_SOH, 0, ci->soh);
        check(&p, JK_PLAUS_REMAINING, 0, ci->remaining_ah);
        check(&p, JK_PLAUS_NOMINAL, 0, ci->nominal_ah);
        check(&p, JK_PLAUS_CYCLES, 0, ci->cycles);
        check(&p, JK_PLAUS_CYCLE_CAP, 0, ci->cycle_capacity_ah);
    }
    *out = p;
}

int jk_plaus_describe(const struct jk_rejection *r, char *buf, size_t cap)
{
    char name[48];
    const char *sp = r->unit[0] ? " " : "";

    if (r->field == JK_PLAUS_CELLS && r->index == 0)
        return snprintf(buf, cap, "no cell reads a voltage");
    if (r->index > 0)
        snprintf(name, sizeof(name), "%s[%zu]", r->metric, r->index);
    else
        snprintf(name, sizeof(name), "%s", r->metric);
    return snprintf(buf, cap, "%s = %.10g%s%s is outside %.10g..%.10g%s%s", name, r->raw, sp,
                    r->unit, r->min, r->max, sp, r->unit);
}

void jk_plaus_tally(struct jk_plaus_tally *t, const struct jk_plaus *p,
                    void (*say)(void *user, const char *line), void *user)
{
    if (p->drop)
        t->frames++;
    else
        t->fields += p->n;
    for (size_t i = 0; i < p->n; i++) {
        const struct jk_rejection *r = &p->list[i];
        char what[192], line[256];
        int frame_level = r->field == JK_PLAUS_CELLS || r->field == JK_PLAUS_PACK_V;

        if ((t->reported >> r->field) & 1u)
            continue;
        t->reported |= 1u << r->field;
        jk_plaus_describe(r, what, sizeof(what));
        snprintf(line, sizeof(line), "implausible %s: %s (said once per field)", what,
                 frame_level ? "frame dropped" : "left out");
        say(user, line);
    }
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* limits: charge and discharge limits of a pack and of a bank (limits.h). */
#include "config.h"

#include "plugins/charge_limits/limits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double cl_table_eval(const struct cl_table *t, double x)
{
    if (isnan(x))
        return 0.0; /* a reading that is no number allows nothing */
    if (t->n == 0)
        return 1.0;
    if (x <= t->x[0])
        return t->f[0];
    for (size_t i = 1; i < t->n; i++)
        if (x <= t->x[i]) {
            double span = t->x[i] - t->x[i - 1];
            return t->f[i - 1] + (t->f[i] - t->f[i - 1]) * (x - t->x[i - 1]) / span;
        }
    return t->f[t->n - 1];
}

static void table(struct cl_table *t, const double *x, const double *f, size_t n)
{
    t->n = n;
    memcpy(t->x, x, n * sizeof(*x));
    memcpy(t->f, f, n * sizeof(*f));
}

void cl_config_default(struct cl_config *c)
{
    /* dbus-serialbattery's defaults (docs/inverter-link.md 3.2-3.4) */
    static const double ccx[] = {3.375, 3.400, 3.425, 3.450, 3.500};
    static const double ccf[] = {1.0, 0.25, 0.05, 0.005, 0.0};
    static const double dcx[] = {2.800, 2.900, 3.000, 3.100, 3.190};
    static const double dcf[] = {0.0, 0.005, 0.05, 0.25, 1.0};
    /* no charging below 0 C; the edge points make the ends exact */
    static const double ctx[] = {0.0, 2.0, 5.0, 10.0, 40.0, 45.0, 50.0, 55.0};
    static const double ctf[] = {0.0, 0.25, 0.5, 1.0, 1.0, 0.5, 0.25, 0.0};
    static const double dtx[] = {-10.0, 0.0, 5.0, 10.0, 40.0, 45.0, 50.0, 55.0};
    static const double dtf[] = {0.0, 0.25, 0.5, 1.0, 1.0, 0.5, 0.25, 0.0};
    static const double mtx[] = {70.0, 80.0, 90.0};
    static const double mtf[] = {1.0, 0.25, 0.0};

    memset(c, 0, sizeof(*c));
    c->cell_charge_v = 3.45;
    c->cell_discharge_v = 3.00;
    c->max_charge_a = 100.0;
    c->max_discharge_a = 100.0;
    table(&c->charge_cell, ccx, ccf, sizeof(ccx) / sizeof(ccx[0]));
    table(&c->discharge_cell, dcx, dcf, sizeof(dcx) / sizeof(dcx[0]));
    table(&c->charge_temp, ctx, ctf, sizeof(ctx) / sizeof(ctx[0]));
    table(&c->discharge_temp, dtx, dtf, sizeof(dtx) / sizeof(dtx[0]));
    table(&c->mos_temp, mtx, mtf, sizeof(mtx) / sizeof(mtx[0]));
    c->force_charge_soc = 5.0;
    c->bank_factor = 0.9;
    c->bank_max_charge_a = 300.0;
    c->bank_max_discharge_a = 300.0;
}

/* The smallest fraction wins; ties keep the earlier (more basic) reason. */
struct pick {
    double f;
    const char *why;
};

static void consider(struct pick *p, double f, const char *why)
{
    if (f < p->f) {
        p->f = f;
        p->why = why;
    }
}

/* Worst sensor: the smallest fraction over every probe. */
static double worst(const struct cl_table *t, const struct cl_input *in)
{
    double f = 1.0;

    for (int i = 0; i < in->ntemps && i < CL_TEMPS_MAX; i++)
        f = fmin(f, cl_table_eval(t, in->temps[i]));
    return f;
}

static void say(char *dst, size_t size, const char *why)
{
    snprintf(dst, size, "%s", why);
}

/* The limits go out in 1 mV and 0.1 A steps: CVL and the currents rounded
 * down, DVL up, so no step is past what the rules allow (the 1e-6 absorbs
 * binary fractions: 16 x 3.45 is 55.2, not 55.199). An enable follows the
 * current as sent: 0.04 A is 0.0 A and charging off. */
static void settle(struct cl_result *r)
{
    r->cvl_v = floor(r->cvl_v * 1000.0 + 1e-6) / 1000.0;
    r->dvl_v = ceil(r->dvl_v * 1000.0 - 1e-6) / 1000.0;
    r->ccl_a = floor(r->ccl_a * 10.0 + 1e-6) / 10.0;
    r->dcl_a = floor(r->dcl_a * 10.0 + 1e-6) / 10.0;
    r->charge_enable = r->ccl_a > 0;
    r->discharge_enable = r->dcl_a > 0;
    r->force_charge = r->force_charge && r->charge_enable;
}

void cl_pack(const struct cl_config *c, const struct cl_input *in, struct cl_result *out)
{
    struct pick ch = {1.0, CL_MAX_CURRENT}, dis = {1.0, CL_MAX_CURRENT};

    memset(out, 0, sizeof(*out));
    out->cvl_v = in->ncells > 0 ? in->ncells * c->cell_charge_v : 0;
    out->dvl_v = in->ncells > 0 ? in->ncells * c->cell_discharge_v : 0;
    if (!in->has_cells || in->ncells <= 0 || !isfinite(in->cell_min) ||
        !isfinite(in->cell_max)) {
        consider(&ch, 0.0, CL_NO_CELLS);
        consider(&dis, 0.0, CL_NO_CELLS);
    } else {
        consider(&ch, cl_table_eval(&c->charge_cell, in->cell_max), CL_CELL_HIGH);
        consider(&dis, cl_table_eval(&c->discharge_cell, in->cell_min), CL_CELL_LOW);
    }
    if (in->ntemps <= 0)
        consider(&ch, 0.0, CL_NO_TEMP); /* below 0 C must be ruled out */
    else {
        consider(&ch, worst(&c->charge_temp, in), CL_TEMPERATURE);
        consider(&dis, worst(&c->discharge_temp, in), CL_TEMPERATURE);
    }
    if (in->has_mos) {
        double f = cl_table_eval(&c->mos_temp, in->mos_temp);
        consider(&ch, f, CL_MOS_TEMP);
        consider(&dis, f, CL_MOS_TEMP);
    }
    if (in->charge_fet == 0)
        consider(&ch, -1.0, CL_MOSFET_OFF);
    if (in->discharge_fet == 0)
        consider(&dis, -1.0, CL_MOSFET_OFF);
    out->ccl_a = fmax(0.0, ch.f) * c->max_charge_a;
    out->dcl_a = fmax(0.0, dis.f) * c->max_discharge_a;
    out->force_charge = in->has_soc && in->soc <= c->force_charge_soc;
    settle(out);
    say(out->charge_reason, sizeof(out->charge_reason), ch.why);
    say(out->discharge_reason, sizeof(out->discharge_reason), dis.why);
}

/* One direction of the bank: charge (dir 0) or discharge (dir 1). */
static void bank_dir(const struct cl_config *c, const struct cl_member *m, size_t n, int dir,
                     double *limit, char *reason, size_t size)
{
    double sum = 0, min = INFINITY, cap = dir ? c->bank_max_discharge_a : c->bank_max_charge_a;
    size_t on = 0;
    const struct cl_member *weakest = NULL;
    int any_fresh = 0;

    for (size_t i = 0; i < n; i++) {
        double l = dir ? m[i].r.dcl_a : m[i].r.ccl_a;
        int fet = dir ? m[i].discharge_fet : m[i].charge_fet;
        if (!m[i].fresh)
            continue;
        any_fresh = 1;
        if (fet == 0)
            continue; /* disconnected by its own BMS: takes no current */
        on++;
        sum += l;
        if (l < min) {
            min = l;
            weakest = &m[i];
        }
    }
    if (!any_fresh) {
        *limit = 0;
        snprintf(reason, size, "%s", CL_STALE);
        return;
    }
    if (on == 0) {
        *limit = 0;
        snprintf(reason, size, "%s", CL_MOSFET_OFF);
        return;
    }
    *limit = fmin(fmin(c->bank_factor * sum, (double)on * min), cap);
    if (weakest != NULL && *limit >= (double)on * min - 1e-9 &&
        strcmp(dir ? weakest->r.discharge_reason : weakest->r.charge_reason, CL_MAX_CURRENT) != 0)
        snprintf(reason, size, "%.40s: %.32s", weakest->name,
                 dir ? weakest->r.discharge_reason : weakest->r.charge_reason);
    else if (*limit >= cap - 1e-9)
        snprintf(reason, size, "%s", CL_BANK_MAX);
    else if (*limit < (double)on * min - 1e-9)
        snprintf(reason, size, "%s", CL_BANK_FACTOR); /* below every pack's: the factor */
    else
        snprintf(reason, size, "%s", CL_MAX_CURRENT);
}

void cl_bank(const struct cl_config *c, const struct cl_member *m, size_t n,
             struct cl_result *out)
{
    int counted = 0, force = 0;

    memset(out, 0, sizeof(*out));
    bank_dir(c, m, n, 0, &out->ccl_a, out->charge_reason, sizeof(out->charge_reason));
    bank_dir(c, m, n, 1, &out->dcl_a, out->discharge_reason, sizeof(out->discharge_reason));
    /* the voltages of the packs that count: the lowest CVL, the highest DVL */
    for (size_t i = 0; i < n; i++) {
        if (!m[i].fresh || m[i].r.cvl_v <= 0)
            continue;
        out->cvl_v = counted ? fmin(out->cvl_v, m[i].r.cvl_v) : m[i].r.cvl_v;
        out->dvl_v = counted ? fmax(out->dvl_v, m[i].r.dvl_v) : m[i].r.dvl_v;
        force |= m[i].r.force_charge;
        counted = 1;
    }
    out->force_charge = force;
    settle(out);
}

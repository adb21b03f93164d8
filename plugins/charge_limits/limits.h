/* SPDX-License-Identifier: GPL-2.0-or-later */
/* limits: the charge and discharge limits of one pack, and of a bank of
 * packs in parallel, from cell voltages, temperatures and the BMS's own
 * MOSFET states. Pure code: numbers in, numbers and a reason out. The
 * rules and their defaults, with their sources: docs/inverter-link.md. */
#ifndef COLLECTORD_PLUGINS_CHARGE_LIMITS_LIMITS_H
#define COLLECTORD_PLUGINS_CHARGE_LIMITS_LIMITS_H

#include <stddef.h>

#define CL_TABLE_MAX 16

/* A piecewise-linear derating: x (V or C, strictly increasing) -> a
 * fraction 0..1 of the maximum current; clamped at both ends. */
struct cl_table {
    size_t n;
    double x[CL_TABLE_MAX], f[CL_TABLE_MAX];
};

double cl_table_eval(const struct cl_table *t, double x);

struct cl_config {
    double cell_charge_v;    /* CVL = cells x this */
    double cell_discharge_v; /* DVL = cells x this */
    double max_charge_a, max_discharge_a; /* one pack */
    struct cl_table charge_cell;    /* highest cell V -> fraction */
    struct cl_table discharge_cell; /* lowest cell V -> fraction */
    struct cl_table charge_temp, discharge_temp, mos_temp; /* C -> fraction */
    double force_charge_soc; /* %: force charge at or below */
    double bank_factor;      /* bank current = factor x sum of the packs' */
    double bank_max_charge_a, bank_max_discharge_a;
};

/* The defaults (conservative LiFePO4; docs/inverter-link.md gives each). */
void cl_config_default(struct cl_config *c);

#define CL_TEMPS_MAX 8

/* What one pack's record says. */
struct cl_input {
    int ncells;               /* 0: unknown */
    int has_cells;            /* cell_min / cell_max known */
    double cell_min, cell_max; /* V */
    int ntemps;
    double temps[CL_TEMPS_MAX]; /* battery probes, C */
    int has_mos;
    double mos_temp; /* C */
    int charge_fet, discharge_fet; /* 1 on, 0 off, -1 unknown */
    int has_soc;
    double soc; /* % */
};

/* Reasons, as published in charge_limit_reason / discharge_limit_reason. */
#define CL_MAX_CURRENT   "max_current"  /* nothing lower applies */
#define CL_CELL_HIGH     "cell_high"
#define CL_CELL_LOW      "cell_low"
#define CL_TEMPERATURE   "temperature"
#define CL_MOS_TEMP      "mos_temperature"
#define CL_MOSFET_OFF    "mosfet_off"
#define CL_NO_CELLS      "no_cell_data"
#define CL_NO_TEMP       "no_temperature"
#define CL_STALE         "stale"
#define CL_BANK_MAX      "bank_max_current"
#define CL_BANK_FACTOR   "bank_factor" /* bank_factor x the sum of the packs' */

struct cl_result {
    double cvl_v, dvl_v, ccl_a, dcl_a;
    int charge_enable, discharge_enable, force_charge;
    char charge_reason[80], discharge_reason[80];
};

void cl_pack(const struct cl_config *c, const struct cl_input *in, struct cl_result *out);

/* A bank member: its name, whether its newest record is fresh, its MOSFETs
 * and its own result. */
struct cl_member {
    const char *name;
    int fresh;
    int charge_fet, discharge_fet; /* as in cl_input */
    struct cl_result r;
};

/* The bank's limits: only fresh packs count. Charging current is shared by
 * the packs whose charge MOSFET is on, so the bank never asks more than
 * (their count x the smallest of their limits), nor more than factor x the
 * sum, nor the bank maximum; a pack whose own rule says 0 while its MOSFET is
 * on stops the bank. No fresh pack: everything 0 and disabled, "stale". */
void cl_bank(const struct cl_config *c, const struct cl_member *m, size_t n,
             struct cl_result *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Physical ranges of a decoded cell-info record (docs/records.md, "Plausible
 * values"): a record in, a verdict out. Pure: no I/O, no logging, no clock;
 * the plugin that owns the battery logs what the verdict says. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_PLAUS_H
#define COLLECTORD_PLUGINS_LIBJK_JK_PLAUS_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"

/* The checked fields; each is reported at most once per battery. */
enum jk_plaus_field {
    JK_PLAUS_CELLS,  /* frame-level: the frame is dropped */
    JK_PLAUS_PACK_V, /* frame-level: the frame is dropped */
    JK_PLAUS_CELL_RES,
    JK_PLAUS_CURRENT,
    JK_PLAUS_TEMP1, /* T1 .. T(JK_MAX_TEMPS): JK_PLAUS_TEMP1 + probe index */
    JK_PLAUS_MOS_TEMP = JK_PLAUS_TEMP1 + JK_MAX_TEMPS,
    JK_PLAUS_BALANCE_CURRENT,
    JK_PLAUS_SOC,
    JK_PLAUS_SOH,
    JK_PLAUS_REMAINING,
    JK_PLAUS_NOMINAL,
    JK_PLAUS_CYCLES,
    JK_PLAUS_CYCLE_CAP,
    JK_PLAUS_NFIELDS
};

/* One value outside its range. */
struct jk_rejection {
    int field;          /* enum jk_plaus_field */
    const char *metric; /* the record's metric name (static) */
    size_t index;       /* 1-based cell or probe for array metrics, else 0 */
    double raw;         /* the value as decoded, in `unit` */
    double min, max;    /* the range it missed */
    const char *unit;   /* "V", "A", "degC", "%", "Ah", "ohm" or "" (static) */
};

struct jk_plaus {
    int drop;          /* 1: cells or pack voltage implausible: use nothing of the frame */
    uint32_t rejected; /* bit (1u << field) per rejected field */
    size_t ntemps;     /* probes to write: those before the first implausible one */
    size_t n;
    struct jk_rejection list[JK_PLAUS_NFIELDS]; /* the first bad element of each field */
};

/* Check every field of `ci` against its range (per variant where they differ). */
void jk_plaus_check(const struct jk_cell_info *ci, struct jk_plaus *out);

static inline int jk_plaus_is_rejected(const struct jk_plaus *p, int field)
{
    return (p->rejected >> field) & 1u;
}

/* One line for a rejection ("battery_current = -2147483.648 A, outside
 * -1000..1000 A"), snprintf-style return. */
int jk_plaus_describe(const struct jk_rejection *r, char *buf, size_t cap);

/* What one battery has rejected so far. Zero it to start. */
struct jk_plaus_tally {
    uint32_t reported;    /* fields already said once */
    unsigned long fields; /* values left out */
    unsigned long frames; /* frames dropped whole */
};

/* Count the verdict, then call `say` once for each rejection of a field not
 * said before for this battery, with a line ending in "left out" or "frame
 * dropped". `say` borrows the line for the call. */
void jk_plaus_tally(struct jk_plaus_tally *t, const struct jk_plaus *p,
                    void (*say)(void *user, const char *line), void *user);

#endif

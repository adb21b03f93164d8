/* SPDX-License-Identifier: GPL-2.0-or-later */
/* setdefs: declared settings (ABI 1.1 tables, and the host's own in
 * hostdefs) checked, expanded and completed by the host before anyone
 * reads them. Printing a table is describe's job, comparing two is
 * fingerprint's. */
#ifndef COLLECTORD_CORE_SETDEFS_H
#define COLLECTORD_CORE_SETDEFS_H

#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include <collector/plugin.h>

/* What one group is checked against. */
struct setdefs_table {
    const struct collector_setting_def *defs; /* NULL: an ABI 1.0 list of names */
    const char *const *names;                 /* with defs NULL; NULL too: anything goes */
    const char *owner;            /* "plugin jk_ble", "collector": names the table in errors */
    int (*skip)(const char *key); /* keys another table checks (NULL: none) */
    int others_ok;                /* members not in defs are someone else's: leave them */
};

/*
 * Check the group `g` against `t` and normalise it in place: ${VAR} and
 * ${VAR:-default} are expanded in every string scalar (also inside lists),
 * strings given for INT/DOUBLE/BOOL settings are parsed into that type,
 * a PATH that exists must be a regular file (a character device with
 * DEVICE), and declared defaults are added for absent settings.
 * On the first problem returns -EINVAL and writes one line to `err`:
 * "<file>:<line>: <instance>: <key>: <message>" (a secret's value never
 * appears). 0 when all is well.
 */
int setdefs_check(config_setting_t *g, const struct setdefs_table *t, const char *instance,
                  char *err, size_t err_size);

/* setdefs_check for a plugin's instance group: `desc`'s setting_defs (or
 * its 1.0 list of names); the host's entry keys (hostdefs) are left alone. */
int setdefs_apply(config_setting_t *g, const struct collector_plugin *desc, const char *instance,
                  char *err, size_t err_size);

/* 1 and *where (borrowed from `g`) when a SECRET string of `defs` is written
 * into `g` as it is (not empty, no ${VAR}): the file holds the secret. Call
 * it before setdefs_check expands the group. 0 otherwise. */
int setdefs_literal_secret(const config_setting_t *g, const struct collector_setting_def *defs,
                           const config_setting_t **where);

/* "string", "integer", "number", "boolean", "list" or "unknown". */
const char *setdefs_type_name(uint32_t type);
/* "a, b, c" into `out` from a NULL-terminated `list`, else from the names
 * of the table `defs` (truncated to fit). */
void setdefs_join(char *out, size_t size, const char *const *list,
                  const struct collector_setting_def *defs);

/* `v` as an integer (INT) or with %g (the rest), for messages and tables. */
void setdefs_format_number(char *out, size_t size, double v, uint32_t type);

#endif

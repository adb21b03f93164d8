/* SPDX-License-Identifier: GPL-2.0-or-later */
/* setdefs: a plugin's declared settings (ABI 1.1) checked, expanded and
 * completed by the host before the plugin sees them. */
#ifndef COLLECTORD_CORE_SETDEFS_H
#define COLLECTORD_CORE_SETDEFS_H

#include <stddef.h>
#include <stdio.h>

#include <libconfig.h>

#include <collector/plugin.h>

/*
 * Check the instance group `g` against `desc`'s setting_defs (or, for a 1.0
 * plugin, its list of names) and normalise it in place: ${VAR} and
 * ${VAR:-default} are expanded in every string scalar (also inside lists),
 * strings given for INT/DOUBLE/BOOL settings are parsed into that type,
 * and declared defaults are added for absent settings. The host's own keys
 * (plugin, name, enabled, interval) are left alone.
 * On the first problem returns -EINVAL and writes one line to `err`:
 * "<file>:<line>: <instance>: <key>: <message>" (a secret's value never
 * appears). 0 when all is well.
 */
int setdefs_apply(config_setting_t *g, const struct collector_plugin *desc, const char *instance,
                  char *err, size_t err_size);

/* The settings table as text (--describe), or as the groff fragment of
 * collector.conf(5) when `man` is set. */
void setdefs_describe(FILE *out, const struct collector_plugin *desc, int man);

/*
 * A canonical text of the group `g` (names, types and values, recursively),
 * so a reload can tell an unchanged instance from a changed one. Owned by
 * the caller (free). NULL on allocation failure.
 */
char *setdefs_fingerprint(const config_setting_t *g);

#endif

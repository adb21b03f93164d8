/* SPDX-License-Identifier: GPL-2.0-or-later */
/* describe: a settings table as text (--describe) or as the groff fragment
 * of collector.conf(5) (--describe --man). */
#ifndef COLLECTORD_CORE_DESCRIBE_H
#define COLLECTORD_CORE_DESCRIBE_H

#include <stdio.h>

#include <collector/plugin.h>

/* A plugin's settings table. */
void describe_plugin(FILE *out, const struct collector_plugin *desc, int man);
/* The host's own: the collector { } group and the keys of every entry. */
void describe_host(FILE *out, int man);

#endif

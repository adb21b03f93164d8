/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostdefs: the host's own settings, declared like every plugin's and
 * checked by the same code (setdefs): the `collector { }` group, and the
 * keys every entry of sources, calculators and sinks may carry. */
#ifndef COLLECTORD_CORE_HOSTDEFS_H
#define COLLECTORD_CORE_HOSTDEFS_H

#include <collector/plugin.h>

/* The longest interval (and flush_timeout) the host takes: 7 days. */
#define HOSTDEFS_SECONDS_MAX (7.0 * 86400.0)

/* `collector { interval; flush_timeout; log_level; plugin_dir; state_dir; }` */
extern const struct collector_setting_def hostdefs_collector[];
/* Every entry's `plugin`, `name`, `enabled`, `interval`. */
extern const struct collector_setting_def hostdefs_entry[];

/* 1 when `key` is one of hostdefs_entry's names (a plugin never sees it checked
 * against its own table). */
int hostdefs_is_entry_key(const char *key);

#endif

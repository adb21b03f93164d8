/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sources: a plugin's per-source (or per-device) table, found or added by
 * name, with one limit for every plugin. The plugin keeps its own array of
 * PLUGKIT_SOURCES_MAX entries beside the table; an entry's index here is its
 * index there. */
#ifndef COLLECTORD_PLUGINS_LIBPLUGKIT_SOURCES_H
#define COLLECTORD_PLUGINS_LIBPLUGKIT_SOURCES_H

#include <stddef.h>

#include <collector/plugin.h>

#define PLUGKIT_SOURCES_MAX 16 /* sources (or devices) one plugin instance follows */
#define PLUGKIT_NAME_MAX    64 /* with the NUL: instance names and device ids fit */

struct plugkit_sources {
    char name[PLUGKIT_SOURCES_MAX][PLUGKIT_NAME_MAX];
    size_t n;
};

/* The index of `name`, or -ENOENT. */
int plugkit_sources_find(const struct plugkit_sources *t, const char *name);
/* The index of `name`, added when new (*added = 1; the caller clears its
 * entry), or -ENOSPC when the table is full, -EINVAL when `name` is longer
 * than PLUGKIT_NAME_MAX - 1 bytes. `added` may be NULL. */
int plugkit_sources_get(struct plugkit_sources *t, const char *name, int *added);
/* The index of `name`, added: -EEXIST when it is there already, else as
 * plugkit_sources_get (state files and settings, where a repeat is a mistake). */
int plugkit_sources_add(struct plugkit_sources *t, const char *name);
/* The name at `i` (borrowed while the table lives), "" past the end. */
const char *plugkit_sources_name(const struct plugkit_sources *t, size_t i);
/* Read the list setting `key` of `s`, names of instances ("members",
 * "packs"), into the empty table `t`: 1 to `max` (at most
 * PLUGKIT_SOURCES_MAX) non-empty names that fit, none listed twice, none
 * this instance's own name. Each mistake is reported with
 * api->setting_error at the setting's line; -EINVAL then. -ENOENT, with
 * nothing reported, when `key` is absent. */
int plugkit_sources_from_list(const struct collector_host_api *api, collector_host *host,
                              const collector_settings *s, const char *key, size_t max,
                              struct plugkit_sources *t);
/* Forget every name. */
void plugkit_sources_clear(struct plugkit_sources *t);

#endif

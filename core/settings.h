/* SPDX-License-Identifier: GPL-2.0-or-later */
/* settings: the SDK's collector_settings over libconfig's config_setting_t. */
#ifndef COLLECTORD_CORE_SETTINGS_H
#define COLLECTORD_CORE_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include <collector/plugin.h>

/* The handle for a libconfig setting (borrowed from the config it lives in). */
static inline const collector_settings *settings_wrap(const config_setting_t *s)
{
    return (const collector_settings *)(const void *)s;
}
static inline const config_setting_t *settings_unwrap(const collector_settings *s)
{
    return (const config_setting_t *)(const void *)s;
}

/* Exactly the signatures of the host API table. */
int settings_get_string(const collector_settings *s, const char *key, const char **out);
int settings_get_int(const collector_settings *s, const char *key, int64_t *out);
int settings_get_double(const collector_settings *s, const char *key, double *out);
int settings_get_bool(const collector_settings *s, const char *key, int *out);
int settings_get_child(const collector_settings *s, const char *key,
                       const collector_settings **out);
size_t settings_count(const collector_settings *s);
int settings_element(const collector_settings *s, size_t i, const collector_settings **out);

/* Where a setting (or its member `key`, when present) was read: file and line.
 * *file may be NULL when the config came from a string. */
void settings_where(const collector_settings *s, const char *key, const char **file,
                    unsigned *line);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "settings.h"

#include <errno.h>
#include <limits.h>

/* The setting `key` of `s` (or `s` itself for a NULL key), or NULL. */
static const config_setting_t *member(const collector_settings *s, const char *key)
{
    const config_setting_t *cs = settings_unwrap(s);

    if (cs == NULL)
        return NULL;
    if (key == NULL)
        return cs;
    if (config_setting_type(cs) != CONFIG_TYPE_GROUP)
        return NULL;
    return config_setting_get_member(cs, key);
}

int settings_get_string(const collector_settings *s, const char *key, const char **out)
{
    const config_setting_t *m = member(s, key);

    if (m == NULL)
        return -ENOENT;
    if (config_setting_type(m) != CONFIG_TYPE_STRING)
        return -EINVAL;
    *out = config_setting_get_string(m);
    return 0;
}

int settings_get_int(const collector_settings *s, const char *key, int64_t *out)
{
    const config_setting_t *m = member(s, key);

    if (m == NULL)
        return -ENOENT;
    switch (config_setting_type(m)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *out = (int64_t)config_setting_get_int64(m);
        return 0;
    default:
        return -EINVAL;
    }
}

int settings_get_double(const collector_settings *s, const char *key, double *out)
{
    const config_setting_t *m = member(s, key);

    if (m == NULL)
        return -ENOENT;
    switch (config_setting_type(m)) {
    case CONFIG_TYPE_FLOAT:
        *out = config_setting_get_float(m);
        return 0;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *out = (double)config_setting_get_int64(m);
        return 0;
    default:
        return -EINVAL;
    }
}

int settings_get_bool(const collector_settings *s, const char *key, int *out)
{
    const config_setting_t *m = member(s, key);

    if (m == NULL)
        return -ENOENT;
    if (config_setting_type(m) != CONFIG_TYPE_BOOL)
        return -EINVAL;
    *out = config_setting_get_bool(m) != 0;
    return 0;
}

int settings_get_child(const collector_settings *s, const char *key,
                       const collector_settings **out)
{
    const config_setting_t *m = member(s, key);

    if (m == NULL)
        return -ENOENT;
    *out = settings_wrap(m);
    return 0;
}

size_t settings_count(const collector_settings *s)
{
    const config_setting_t *cs = settings_unwrap(s);

    if (cs == NULL || !config_setting_is_aggregate(cs))
        return 0;
    return (size_t)config_setting_length(cs);
}

int settings_element(const collector_settings *s, size_t i, const collector_settings **out)
{
    const config_setting_t *cs = settings_unwrap(s);
    const config_setting_t *e;

    if (cs == NULL || !config_setting_is_aggregate(cs) || i > UINT_MAX)
        return -ENOENT;
    e = config_setting_get_elem(cs, (unsigned)i);
    if (e == NULL)
        return -ENOENT;
    *out = settings_wrap(e);
    return 0;
}

void settings_where(const collector_settings *s, const char *key, const char **file,
                    unsigned *line)
{
    const config_setting_t *m = member(s, key);

    if (m == NULL)
        m = settings_unwrap(s);
    *file = m ? config_setting_source_file(m) : NULL;
    *line = m ? config_setting_source_line(m) : 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libplugkit/sources.h"

#include <errno.h>
#include <string.h>

int plugkit_sources_find(const struct plugkit_sources *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->name[i], name) == 0)
            return (int)i;
    return -ENOENT;
}

int plugkit_sources_get(struct plugkit_sources *t, const char *name, int *added)
{
    int i = plugkit_sources_find(t, name);
    size_t len = strlen(name);

    if (added != NULL)
        *added = 0;
    if (i >= 0)
        return i;
    if (len >= PLUGKIT_NAME_MAX)
        return -EINVAL;
    if (t->n == PLUGKIT_SOURCES_MAX)
        return -ENOSPC;
    memcpy(t->name[t->n], name, len + 1);
    if (added != NULL)
        *added = 1;
    return (int)t->n++;
}

int plugkit_sources_add(struct plugkit_sources *t, const char *name)
{
    int added, i = plugkit_sources_get(t, name, &added);

    return i >= 0 && !added ? -EEXIST : i;
}

const char *plugkit_sources_name(const struct plugkit_sources *t, size_t i)
{
    return i < t->n ? t->name[i] : "";
}

int plugkit_sources_from_list(const struct collector_host_api *api, collector_host *host,
                              const collector_settings *s, const char *key, size_t max,
                              struct plugkit_sources *t)
{
    const collector_settings *list = NULL;
    size_t count;

    if (max > PLUGKIT_SOURCES_MAX)
        max = PLUGKIT_SOURCES_MAX;
    if (api->setting_child(s, key, &list) != 0)
        return -ENOENT;
    count = api->setting_count(list);
    if (count == 0 || count > max) {
        api->setting_error(host, s, key, "want 1 to %zu names", max);
        return -EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        const collector_settings *el = NULL;
        const char *name = NULL;

        if (api->setting_element(list, i, &el) != 0 ||
            api->setting_string(el, NULL, &name) != 0 || name[0] == '\0' ||
            strlen(name) >= PLUGKIT_NAME_MAX) {
            api->setting_error(host, s, key, "element %zu: want a name (1 to %d characters)",
                               i + 1, PLUGKIT_NAME_MAX - 1);
            return -EINVAL;
        }
        if (strcmp(name, api->instance_name(host)) == 0) {
            api->setting_error(host, s, key, "%s is this instance itself", name);
            return -EINVAL;
        }
        if (plugkit_sources_add(t, name) < 0) { /* fits: count and length checked */
            api->setting_error(host, s, key, "%s is listed twice", name);
            return -EINVAL;
        }
    }
    return 0;
}

void plugkit_sources_clear(struct plugkit_sources *t)
{
    t->n = 0;
}

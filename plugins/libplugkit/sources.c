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

void plugkit_sources_clear(struct plugkit_sources *t)
{
    t->n = 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_fresh: a test calculator that asks the daemon's host about freshness
 * for every record and logs the answers in one line:
 * "fresh: SOURCE time T source_rc R source_until U record_until V unknown_rc E". */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>

#include <collector/plugin.h>

struct fresh {
    const struct collector_host_api *api;
    collector_host *host;
};

static int fresh_create(const struct collector_host_api *api, collector_host *host,
                        const collector_settings *s, void **state_out)
{
    struct fresh *f = calloc(1, sizeof(*f));
    (void)s;

    if (f == NULL)
        return -1;
    f->api = api;
    f->host = host;
    *state_out = f;
    return 0;
}

static int fresh_process(void *state, collector_record *rec)
{
    struct fresh *f = state;
    const struct collector_host_api *api = f->api;
    const char *source = api->record_source(rec);
    int64_t until = 0, other = 0;
    int rc = api->source_fresh_until_ns(f->host, source, &until);
    int unknown = api->source_fresh_until_ns(f->host, "no_such_source", &other);

    api->log(f->host, COLLECTOR_LOG_INFO,
             "fresh: %s time %" PRId64 " source_rc %d source_until %" PRId64
             " record_until %" PRId64 " unknown_rc %d",
             source, api->record_time_ns(rec), rc, until, api->record_fresh_until_ns(rec),
             unknown);
    return 0;
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_CALCULATOR,
    .name = "t_fresh",
    .version = PACKAGE_VERSION,
    .description = "test: logs the host's freshness answers for each record",
    .create = fresh_create,
    .process = fresh_process,
    .destroy = free,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

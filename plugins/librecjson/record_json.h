/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A collector record's metrics as JSON (jansson), for the sinks that write
 * whole records: sqlite_merge's history and mqtt's state messages. */
#ifndef COLLECTORD_PLUGINS_LIBRECJSON_RECORD_JSON_H
#define COLLECTORD_PLUGINS_LIBRECJSON_RECORD_JSON_H

#include <stdint.h>

#include <jansson.h>

#include <collector/plugin.h>

/* Metric `name` of type `type` as a new JSON value (owned by the caller);
 * non-finite numbers become null; NULL for an unknown type. */
json_t *recjson_metric(const struct collector_host_api *api, const collector_record *rec,
                       const char *name, uint32_t type);
/* Every metric of `rec` set on the JSON object `obj`, under its own name. */
void recjson_add_metrics(const struct collector_host_api *api, const collector_record *rec,
                         json_t *obj);

/* A command's outcome event (ABI 1.2), as the host makes it (docs/control.md);
 * strings are "" when absent, borrowed from `rec`. */
struct recjson_command {
    const char *command, *requested, *outcome, *origin, *detail;
    int64_t id;
    int64_t duration_ms; /* 0: no duration */
};
void recjson_command_read(const struct collector_host_api *api, const collector_record *rec,
                          struct recjson_command *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/librecjson/record_json.h"

#include <math.h>
#include <stddef.h>

json_t *recjson_metric(const struct collector_host_api *api, const collector_record *rec,
                       const char *name, uint32_t type)
{
    double d;
    int64_t i;
    int b;
    const char *s;
    const double *v;
    size_t n;
    json_t *a;

    switch (type) {
    case COLLECTOR_METRIC_DOUBLE:
        api->get_double(rec, name, &d);
        return isfinite(d) ? json_real(d) : json_null();
    case COLLECTOR_METRIC_INT:
        api->get_int(rec, name, &i);
        return json_integer((json_int_t)i);
    case COLLECTOR_METRIC_BOOL:
        api->get_bool(rec, name, &b);
        return json_boolean(b);
    case COLLECTOR_METRIC_STRING:
        api->get_string(rec, name, &s);
        return json_string(s);
    case COLLECTOR_METRIC_DOUBLES:
        api->get_doubles(rec, name, &v, &n);
        a = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(a, isfinite(v[k]) ? json_real(v[k]) : json_null());
        return a;
    default:
        return NULL; /* a type this library does not know: left out */
    }
}

void recjson_add_metrics(const struct collector_host_api *api, const collector_record *rec,
                         json_t *obj)
{
    for (size_t i = 0; i < api->metric_count(rec); i++) {
        const char *name;
        uint32_t type;
        json_t *v;
        if (api->metric_at(rec, i, &name, &type) == 0 &&
            (v = recjson_metric(api, rec, name, type)) != NULL)
            json_object_set_new(obj, name, v);
    }
}

void recjson_command_read(const struct collector_host_api *api, const collector_record *rec,
                          struct recjson_command *out)
{
    *out = (struct recjson_command){"", "", "", "", "", 0, 0};
    api->get_string(rec, "command", &out->command);
    api->get_string(rec, "requested", &out->requested);
    api->get_string(rec, "outcome", &out->outcome);
    api->get_string(rec, "origin", &out->origin);
    api->get_string(rec, "detail", &out->detail);
    api->get_int(rec, "command_id", &out->id);
    api->get_int(rec, "duration_ms", &out->duration_ms);
}

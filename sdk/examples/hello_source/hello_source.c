/* SPDX-License-Identifier: MIT */
/* hello_source: the smallest useful collectord source plugin, built out of
 * tree against the installed SDK (see Makefile). Each poll emits one record
 * with a counter and the configured greeting. */
#include <errno.h>
#include <stdlib.h>

#include <collector/plugin.h>

struct hello {
    const struct collector_host_api *api;
    collector_host *host;
    const char *greeting; /* a literal or copied; see create */
    char *owned;
    int64_t polls;
};

/* The settings, declared: the host checks types and ranges and fills in the
 * defaults before create() runs, and `collectord --describe hello_source`
 * prints this table. */
static const struct collector_setting_def setting_defs[] = {
    {.name = "greeting", .type = COLLECTOR_SETTING_STRING, .default_value = "hello",
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 1, .max = 200,
     .description = "the text each record carries"},
    {.name = NULL},
};

static int hello_create(const struct collector_host_api *api, collector_host *host,
                        const collector_settings *s, void **state_out)
{
    struct hello *h = calloc(1, sizeof(*h));
    const char *g = "hello";
    size_t n = 0;

    if (h == NULL)
        return -ENOMEM;
    h->api = api;
    h->host = host;
    api->setting_string(s, "greeting", &g); /* checked, with its default */
    /* settings strings are borrowed until create returns: copy */
    while (g[n] != '\0')
        n++;
    h->owned = malloc(n + 1);
    if (h->owned == NULL) {
        free(h);
        return -ENOMEM;
    }
    for (size_t i = 0; i <= n; i++)
        h->owned[i] = g[i];
    h->greeting = h->owned;
    *state_out = h;
    return 0;
}

static int hello_poll(void *state)
{
    struct hello *h = state;
    collector_record *rec;
    int rc = h->api->record_new(h->host, &rec);

    if (rc < 0)
        return rc;
    h->api->set_int(rec, "polls", ++h->polls);
    h->api->set_string(rec, "greeting", h->greeting);
    return h->api->emit(h->host, rec);
}

static void hello_destroy(void *state)
{
    struct hello *h = state;
    free(h->owned);
    free(h);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SOURCE,
    .name = "hello_source",
    .version = "1.0",
    .description = "an example source: a counter and a greeting",
    .create = hello_create,
    .poll = hello_poll,
    .destroy = hello_destroy,
    .setting_defs = setting_defs,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

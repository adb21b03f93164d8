/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_replay: a source that replays a JK BMS capture (hex dump or btsnoop)
 * as if the BMS were sending it; each poll yields the next valid cell-info
 * record. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libjk/jk_capture.h"
#include "plugins/libjk/jk_metrics.h"
#include "plugins/libjk/jk_stream.h"

struct replay {
    const struct collector_host_api *api;
    collector_host *host;
    char *file;
    char *address;
    int loop;
    struct jk_capture cap;
    size_t next;        /* next chunk to feed */
    struct jk_stream stream;
    int proto;
    int warned_eof;
    unsigned long refused;
    struct jk_plaus_tally plaus; /* implausible values of this battery */
};

static const char *const protocols[] = {"auto", "JK04", "JK02_24S", "JK02_32S", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "file", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_REQUIRED | COLLECTOR_SETTING_MIN, .min = 1,
     .description = "the capture to replay: a hex dump or a btsnoop HCI log"},
    {.name = "protocol", .type = COLLECTOR_SETTING_STRING, .default_value = "auto",
     .allowed = protocols, .description = "the frame layout; auto detects it"},
    {.name = "loop", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "start again at the end of the capture"},
    {.name = "address", .type = COLLECTOR_SETTING_STRING,
     .description = "the device address the records carry (a capture has none)"},
    {.name = NULL},
};

static void replay_destroy(void *state)
{
    struct replay *r = state;
    if (r == NULL)
        return;
    jk_capture_free(&r->cap);
    free(r->file);
    free(r->address);
    free(r);
}

static int replay_create(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *s, void **state_out)
{
    struct replay *r = calloc(1, sizeof(*r));
    const char *file = "", *proto = "auto", *address = NULL;
    char err[512];
    int rc;

    if (r == NULL)
        return -ENOMEM;
    r->api = api;
    r->host = host;
    /* The host checked types and allowed values and filled the defaults. */
    api->setting_string(s, "file", &file);
    api->setting_string(s, "protocol", &proto);
    api->setting_bool(s, "loop", &r->loop);
    api->setting_string(s, "address", &address);
    if (jk_protocol_parse(proto, &r->proto) < 0) {
        rc = -EINVAL;
        goto fail;
    }
    r->file = strdup(file);
    r->address = address ? strdup(address) : NULL;
    if (r->file == NULL || (address != NULL && r->address == NULL)) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = jk_capture_load(file, &r->cap, err, sizeof(err));
    if (rc < 0) {
        api->setting_error(host, s, "file", "%s", err);
        goto fail;
    }
    if (r->cap.n == 0) {
        api->setting_error(host, s, "file", "%s: no notification in the capture", file);
        rc = -EINVAL;
        goto fail;
    }
    if (r->cap.cut_line > 0)
        api->log(host, COLLECTOR_LOG_INFO,
                 "%s:%zu: the last line is cut short (capture interrupted): left out", file,
                 r->cap.cut_line);
    jk_stream_init(&r->stream, r->proto);
    *state_out = r;
    return 0;
fail:
    replay_destroy(r);
    return rc;
}

static void say_implausible(void *user, const char *line)
{
    struct replay *r = user;
    r->api->log(r->host, COLLECTOR_LOG_WARNING, "%s: %s", r->file, line);
}

static int replay_poll(void *state)
{
    struct replay *r = state;
    struct jk_cell_info ci;
    struct jk_plaus pl;
    collector_record *rec;
    int rc, wrapped = 0;

    for (;;) {
        size_t len;
        const uint8_t *chunk;

        if (r->next == r->cap.n) {
            if (!r->loop || wrapped) {
                if (!r->warned_eof++)
                    r->api->log(r->host, COLLECTOR_LOG_INFO,
                                "%s: end of the capture (set loop = true to replay it again); "
                                "%lu implausible value(s) left out, %lu frame(s) dropped",
                                r->file, r->plaus.fields, r->plaus.frames);
                return -ENODATA;
            }
            r->next = 0;
            wrapped = 1;
            jk_stream_reset(&r->stream);
        }
        chunk = jk_capture_chunk(&r->cap, r->next++, &len);
        jk_stream_feed(&r->stream, chunk, len);
        rc = jk_stream_take_cell_info(&r->stream, &ci);
        if (rc == -EAGAIN)
            continue;
        if (rc == -EPROTO) {
            if (r->refused++ == 0)
                r->api->log(r->host, COLLECTOR_LOG_ERROR, "%s: %s", r->file,
                            jk_stream_error(&r->stream));
            continue;
        }
        jk_plaus_check(&ci, &pl);
        jk_plaus_tally(&r->plaus, &pl, say_implausible, r);
        if (pl.drop)
            continue;
        break;
    }
    {
        char counters[200];
        if (jk_stream_counters_changed(&r->stream, counters, sizeof(counters)))
            r->api->log(r->host, COLLECTOR_LOG_DEBUG, "%s: %s", r->file, counters);
    }
    rc = r->api->record_new(r->host, &rec);
    if (rc < 0)
        return rc;
    rc = jk_record_fill(r->api, rec, &ci, &pl, jk_stream_device_info(&r->stream), r->address);
    if (rc < 0) {
        r->api->record_free(rec);
        return rc;
    }
    return r->api->emit(r->host, rec);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SOURCE,
    .name = "jk_replay",
    .version = PACKAGE_VERSION,
    .description = "replays a JK BMS capture (hex dump or btsnoop HCI log)",
    .create = replay_create,
    .poll = replay_poll,
    .destroy = replay_destroy,
    .setting_defs = setting_defs,
    .min_interval_ms = 10, /* a capture can be replayed fast */
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

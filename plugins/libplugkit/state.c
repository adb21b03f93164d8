/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libplugkit/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/libstate/state_writer.h"

int plugkit_state_start(struct plugkit_state *st, char *buf, size_t size, size_t *len,
                        const char *lost)
{
    const struct collector_host_api *api = st->api;
    int rc = api->state_read(st->host, st->file, buf, size - 1, len);

    if (rc < 0 || *len == size - 1) {
        if (rc != -ENOENT)
            api->log(st->host, COLLECTOR_LOG_WARNING, "%s/%s: cannot read the state (%s): %s",
                     api->state_dir(st->host), st->file,
                     rc < 0 ? strerror(-rc) : "larger than a state file can be", lost);
        *len = 0;
    }
    buf[*len] = '\0';
    rc = state_writer_start(api, st->host, st->file, &st->writer);
    if (rc < 0)
        api->log(st->host, COLLECTOR_LOG_ERROR, "cannot start the state writer: %s",
                 strerror(-rc));
    return rc;
}

void plugkit_state_lines(struct plugkit_state *st, char *text, plugkit_line_fn fn, void *ctx,
                         const char *lost_one)
{
    unsigned number = 0;
    char *next;

    for (char *line = text; line != NULL && *line != '\0'; line = next) {
        int rc;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        rc = fn(ctx, line, ++number);
        if (rc == -ECANCELED)
            return;
        if (rc < 0)
            st->api->log(st->host, COLLECTOR_LOG_WARNING,
                         "%s/%s:%u: unreadable line ignored: %s", st->api->state_dir(st->host),
                         st->file, number, lost_one);
    }
}

void plugkit_state_save(struct plugkit_state *st, char *text, size_t len)
{
    if (text == NULL)
        return;
    state_writer_submit(st->writer, text, len);
}

void plugkit_state_stop(struct plugkit_state *st, char *text, size_t len)
{
    int rc;

    if (st->writer == NULL) {
        free(text);
        return;
    }
    plugkit_state_save(st, text, len);
    rc = state_writer_stop(st->writer);
    st->writer = NULL;
    if (rc < 0)
        st->api->log(st->host, COLLECTOR_LOG_ERROR, "%s/%s: cannot save the state: %s",
                     st->api->state_dir(st->host), st->file, strerror(-rc));
}

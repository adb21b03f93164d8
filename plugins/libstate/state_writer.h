/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state_writer: one thread per instance that writes a state file through
 * api->state_write (which fsyncs), so the pipeline thread never waits on
 * the disk. The newest submitted text wins: a write still waiting is
 * replaced, never queued behind. */
#ifndef COLLECTORD_PLUGINS_LIBSTATE_STATE_WRITER_H
#define COLLECTORD_PLUGINS_LIBSTATE_STATE_WRITER_H

#include <stddef.h>

#include <collector/plugin.h>

struct state_writer;

/* Start the thread writing `name` in the instance's state_dir. `api` and
 * `host` are borrowed for the writer's lifetime; `name` is copied.
 * 0, -ENOMEM, or the negative errno of pthread_create. */
int state_writer_start(const struct collector_host_api *api, collector_host *host, const char *name,
                       struct state_writer **out);
/* Hand over `text` (taken, freed with free(); also on NULL writer). */
void state_writer_submit(struct state_writer *w, char *text, size_t len);
/* Write what is still waiting, end the thread and free the writer.
 * Returns the result of the last write (0 or -errno). NULL-safe. */
int state_writer_stop(struct state_writer *w);

#endif

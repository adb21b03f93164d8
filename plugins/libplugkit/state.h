/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state: the start/stop pair of a plugin that keeps a state file in its
 * state_dir, written off the pipeline thread by libstate's writer: start()
 * reads the file and starts the writer, save hands over new text, stop()
 * hands over the last text and waits until it is written. */
#ifndef COLLECTORD_PLUGINS_LIBPLUGKIT_STATE_H
#define COLLECTORD_PLUGINS_LIBPLUGKIT_STATE_H

#include <stddef.h>

#include <collector/plugin.h>

struct state_writer;

struct plugkit_state {
    const struct collector_host_api *api; /* borrowed for the instance's life */
    collector_host *host;
    char file[96];               /* the file's name in state_dir */
    struct state_writer *writer; /* from start to stop */
};

/* Read the state file into `buf` (at most size - 1 bytes, NUL-terminated;
 * *len = 0 when there is none or it cannot be read: then one warning saying
 * so and `lost`, what starts over) and start the writer. 0, or the negative
 * errno of starting the writer, logged. */
int plugkit_state_start(struct plugkit_state *st, char *buf, size_t size, size_t *len,
                        const char *lost);
/* Hand `text` (taken: free()d, also when NULL or not started) to the writer. */
void plugkit_state_save(struct plugkit_state *st, char *text, size_t len);
/* Save `text` (taken; NULL: nothing new), write it before returning and
 * stop the writer; a failed write is logged. NULL-safe when not started. */
void plugkit_state_stop(struct plugkit_state *st, char *text, size_t len);

#endif

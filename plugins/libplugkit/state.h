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
/* A line of the state text (borrowed for the call) and its number from 1:
 * 0 taken; -EINVAL unreadable (the caller warns once for the line);
 * -ECANCELED stop reading (the function said why). */
typedef int (*plugkit_line_fn)(void *ctx, const char *line, unsigned number);
/* Cut `text` (NUL-terminated, changed in place) into lines for `fn`; an
 * unreadable line gets one warning "<dir>/<file>:<n>: unreadable line
 * ignored: <lost_one>". */
void plugkit_state_lines(struct plugkit_state *st, char *text, plugkit_line_fn fn, void *ctx,
                         const char *lost_one);
/* Hand `text` (taken: free()d, also when NULL or not started) to the writer. */
void plugkit_state_save(struct plugkit_state *st, char *text, size_t len);
/* Save `text` (taken; NULL: nothing new), write it before returning and
 * stop the writer; a failed write is logged. NULL-safe when not started. */
void plugkit_state_stop(struct plugkit_state *st, char *text, size_t len);

#endif

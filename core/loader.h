/* SPDX-License-Identifier: GPL-2.0-or-later */
/* loader: find, open and check a plugin shared object (the ABI handshake). */
#ifndef COLLECTORD_CORE_LOADER_H
#define COLLECTORD_CORE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <collector/plugin.h>

/* An opened plugin: a host-side copy of its descriptor, zero-filled past the
 * plugin's struct_size so an older minor's missing members read as NULL. */
struct loaded_plugin {
    struct collector_plugin desc;
    char path[4096]; /* the file it came from */
    void *handle;    /* dlopen handle */
};

/* Search `name`.so, then `name`/`name`.so in each directory of the
 * colon-separated `path` (first match wins). Fills `out` with the full path.
 * -EINVAL when `name` is not a plugin name ([a-z0-9_]+: no path gets
 * through), -ENOENT when none exists, -ENAMETOOLONG. */
int loader_find(const char *name, const char *path, char *out, size_t out_size);

/*
 * The trust rule for code the daemon runs: the real path of `file` (after
 * symlinks) and every directory from it up to / are owned by root or by the
 * daemon's effective user and are not writable by group or others. 0 and
 * the real path in `real`, or a negative errno and one line in `err`.
 */
int loader_check_trust(const char *file, char *real, size_t real_size, char *err,
                       size_t err_size);
/* The same rule for a directory the daemon writes state into, except that
 * a sticky world-writable directory above it (/tmp) is allowed. */
int loader_check_trust_dir(const char *dir, char *err, size_t err_size);

/*
 * Open `file` (after loader_check_trust; dlopen with RTLD_NODELETE), check it and fill *out (owned by the caller: loader_close()).
 * `want_kind` is the COLLECTOR_KIND_* the config section needs (0 = any).
 * On failure returns a negative errno and writes one line to err:
 * "<file>: <reason>" (missing file, not a regular file, not a shared object
 * (dlerror text), no entry symbol, NULL descriptor, ABI major differs,
 * minor newer than ours, struct_size too small, bad name, name differs from
 * the file name, wrong kind for the section, missing required callback).
 */
int loader_open(const char *file, uint32_t want_kind, struct loaded_plugin **out, char *err,
                size_t err_size);
void loader_close(struct loaded_plugin *lp);

/* Whether the plugin gets a record of this kind: every calculator and sink
 * takes measurements; events only a 1.2 one flagged COLLECTOR_PLUGIN_EVENTS. */
int loader_takes_kind(const struct loaded_plugin *lp, uint32_t record_kind);

/* "source", "calculator", "sink", or "unknown". */
const char *loader_kind_name(uint32_t kind);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf: the libconfig file collectord runs from. */
#ifndef COLLECTORD_CORE_CONF_H
#define COLLECTORD_CORE_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "core/names.h"

/* Limits on what a config may hold, so a hostile or broken file is refused
 * at once instead of keeping --check busy (libconfig's flex scanner is
 * quadratic in the length of one token). */
#define CONF_FILE_MAX      (1024 * 1024) /* bytes of one file (main or included) */
#define CONF_TOTAL_MAX     (4 * CONF_FILE_MAX) /* bytes of all files, every inclusion counted */
#define CONF_STRING_MAX    (64 * 1024)   /* bytes of one quoted string in the file */
#define CONF_INCLUDE_DEPTH 10            /* @include nesting */
/* COLLECTOR_PLUGIN_PATH, plugin_dir and the built-in directory, ':'-joined. */
#define CONF_PLUGIN_PATH_MAX (2 * PATH_MAX)

#define COLLECTOR_CONTROL_SOCKET_DEFAULT "/run/collectord/control.sock"

/* One entry of `sources`, `calculators` or `sinks`. */
struct instance_cfg {
    char name[NAMES_MAX + 1];
    char plugin[NAMES_MAX + 1];
    uint32_t kind;        /* COLLECTOR_KIND_* from the list it is in */
    int enabled;
    int64_t interval_ms;  /* sources */
    config_setting_t *group; /* borrowed from the config_t; setdefs normalises it */
    const char *file;     /* where it was written (borrowed from the daemon_cfg) */
    unsigned line;
};

struct daemon_cfg {
    config_t cfg;
    char path[PATH_MAX];
    int64_t interval_ms;
    int64_t flush_timeout_ms; /* how long sinks get to deliver at stop, reload, --once */
    int log_level;
    char plugin_path[CONF_PLUGIN_PATH_MAX]; /* COLLECTOR_PLUGIN_PATH:plugin_dir:built-in */
    char state_dir[PATH_MAX];
    char control_socket[108]; /* a unix socket path; "" for none */
    int control_socket_default; /* not configured: a failure to make it is only a warning */
    struct instance_cfg *inst; /* in config order: sources, calculators, sinks */
    size_t ninst;
    char **files; /* the main file and every included one: settings' file names */
    size_t nfiles;
};

/*
 * Read `path` and its @includes (each opened without blocking and refused
 * unless a regular file, within the CONF_* limits), parse them with
 * libconfig, then check the host's own settings (the `collector` group and
 * every entry's plugin, name, enabled, interval) against hostdefs' tables.
 * Errors are logged as "<file>:<line>: <message>".
 * 0 and *out (owned: config_free), or -EINVAL / -ENOENT / -ENOMEM / -EFBIG.
 */
int config_load(const char *path, struct daemon_cfg **out);
/* NULL-safe. */
void config_free(struct daemon_cfg *cfg);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conf: the libconfig file collectord runs from. */
#ifndef COLLECTORD_CORE_CONF_H
#define COLLECTORD_CORE_CONF_H

#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#define COLLECTOR_CONTROL_SOCKET_DEFAULT "/run/collectord/control.sock"

/* One entry of `sources`, `calculators` or `sinks`. */
struct instance_cfg {
    char name[64];
    char plugin[64];
    uint32_t kind;        /* COLLECTOR_KIND_* from the list it is in */
    int enabled;
    int64_t interval_ms;  /* sources */
    config_setting_t *group; /* borrowed from the config_t; setdefs normalises it */
    const char *file;     /* where it was written */
    unsigned line;
};

struct daemon_cfg {
    config_t cfg;
    char path[4096];
    int64_t interval_ms;
    int64_t flush_timeout_ms; /* how long sinks get to deliver at stop, reload, --once */
    int log_level;
    char plugin_path[8192]; /* COLLECTOR_PLUGIN_PATH:plugin_dir:built-in */
    char state_dir[4096];
    char control_socket[108]; /* a unix socket path; "" for none */
    int control_socket_default; /* not configured: a failure to make it is only a warning */
    struct instance_cfg *inst; /* in config order: sources, calculators, sinks */
    size_t ninst;
};

/* Parse and check `path`. Errors are logged as "<file>:<line>: <message>".
 * 0 and *out (owned: config_free), or -EINVAL / -ENOENT / -ENOMEM. */
int config_load(const char *path, struct daemon_cfg **out);
void config_free(struct daemon_cfg *cfg);

#endif

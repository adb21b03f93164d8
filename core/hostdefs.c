/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/hostdefs.h"

#include <string.h>

/* "warn": the old parser took it too */
static const char *const log_levels[] = {"error", "warning", "warn", "info", "debug", NULL};

const struct collector_setting_def hostdefs_collector[] = {
    {.name = "interval",
     .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX,
     .default_value = "30",
     .min = 0.001,
     .max = HOSTDEFS_SECONDS_MAX,
     .unit = "s",
     .description = "how often every source polls, unless its entry sets its own interval; "
                    "\"${VARIABLE:-default}\" is taken too"},
    {.name = "flush_timeout",
     .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX,
     .default_value = "10",
     .min = 0.001,
     .max = HOSTDEFS_SECONDS_MAX,
     .unit = "s",
     .description = "how long the sinks get to deliver what they hold at a stop, a reload or "
                    "--once; what is left is counted in one log line"},
    {.name = "log_level",
     .type = COLLECTOR_SETTING_STRING,
     .default_value = "info",
     .allowed = log_levels,
     .description = "the least important messages logged (-v: debug)"},
    {.name = "plugin_dir",
     .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN,
     .min = 1,
     .description = "a directory searched for plugins after $COLLECTOR_PLUGIN_PATH and "
                    "before the built-in one"},
    /* No default_value: the built-in one depends on the configured prefix,
     * and this table also makes collector.conf(5). conf.c supplies it. */
    {.name = "state_dir",
     .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_MIN,
     .min = 1,
     .description = "where instances keep their state files (default: $COLLECTOR_STATE_DIR, "
                    "else the built-in directory); made 0750 at start, it must belong to root "
                    "or the daemon's user and not be writable by others"},
    {.name = "control_socket",
     .type = COLLECTOR_SETTING_STRING,
     .description = "the unix socket `collectord ctl` talks to (mode 0660; root and the "
                    "daemon's user and group only); \"\" for none (default: "
                    "$COLLECTOR_CONTROL_SOCKET, else /run/collectord/control.sock)"},
    {.name = "env_file",
     .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_PATH,
     .description = "eamoon's .env: only the variables collectord documents are taken from it "
                    "(JK_BMS_ADDRESS, JK_DEVICES_FILE, JK_BMS_POLL_INTERVAL, DB_PATH); a "
                    "missing file is one warning"},
    {.name = NULL},
};

const struct collector_setting_def hostdefs_entry[] = {
    {.name = "plugin",
     .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_REQUIRED,
     .description = "the plugin: NAME.so in the plugin path ([a-z0-9_]+)"},
    {.name = "name",
     .type = COLLECTOR_SETTING_STRING,
     .description = "the instance's name in records and log lines, unique in the file "
                    "(1 to 63 of [A-Za-z0-9_.-]; default: the plugin's name)"},
    {.name = "enabled",
     .type = COLLECTOR_SETTING_BOOL,
     .default_value = "true",
     .description = "false keeps the entry in the file, checked but not loaded: how a sink "
                    "is switched off per deployment"},
    {.name = "interval",
     .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX,
     .min = 0.001,
     .max = HOSTDEFS_SECONDS_MAX,
     .unit = "s",
     .description = "sources only: how often this one polls (default: collector.interval; "
                    "at least the plugin's floor, 1 s unless it declares less)"},
    {.name = "control",
     .type = COLLECTOR_SETTING_LIST,
     .description = "sources only: the commands this instance allows, e.g. (\"charge\", "
                    "\"balancer\"); default none: read-only (docs/control.md)"},
    {.name = NULL},
};

int hostdefs_is_entry_key(const char *key)
{
    for (const struct collector_setting_def *d = hostdefs_entry; d->name != NULL; d++)
        if (strcmp(d->name, key) == 0)
            return 1;
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command side of a JK source (jk_ble, jk_serial) through the host API:
 * the commands it offers, reading a command, and telling its outcome. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_COMMAND_H
#define COLLECTORD_PLUGINS_LIBJK_JK_COMMAND_H

#include <collector/plugin.h>

#include "plugins/libjk/jk_control.h"

/* charge, discharge, balancer: the initializer of a source's `commands`
 * table (static const struct collector_command_def x[] = JK_SWITCH_COMMANDS;). */
#define JK_SWITCH_COMMANDS                                                                        \
    {                                                                                             \
        {"charge", COLLECTOR_SETTING_BOOL,                                                        \
         "the charge MOSFET switch, confirmed by reading it back"},                               \
            {"discharge", COLLECTOR_SETTING_BOOL,                                                 \
             "the discharge MOSFET switch, confirmed by reading it back"},                        \
            {"balancer", COLLECTOR_SETTING_BOOL, "the balancer (a JK04 has only this one)"},      \
            {NULL, 0, NULL},                                                                      \
    }

/* The switch and value of `cmd`: 0, or -EINVAL after telling the host it
 * is refused (an unknown command or value). */
int jk_command_parse(const struct collector_host_api *api, collector_host *host,
                     const struct collector_command *cmd, int *sw, int *on);

/* Tell the outcome of `cmd` once: to the host (ABI 1.2 command_done), and
 * the device's view in the log (debug when the host audits it, else info
 * for confirmed and warning for the rest). `detail` is borrowed. */
void jk_command_done(const struct collector_host_api *api, collector_host *host,
                     const struct collector_command *cmd, uint32_t outcome, const char *detail);

/* The outcome of a switch whose BMS answered the read-back (rc 0), or of
 * the error rc (refused: -EOPNOTSUPP, -ENOPROTOOPT, -EPERM, -EINVAL;
 * failed: the rest, `error` saying why), told with jk_command_done(). */
void jk_command_finish(const struct collector_host_api *api, collector_host *host,
                       const struct collector_command *cmd, int rc,
                       const struct jk_switch_result *res, const char *error);

#endif

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

/* COLLECTOR_OUTCOME_* of a switch command that returned rc: 0 with the
 * BMS's answer to the read-back in *res (confirmed or not); refused, with
 * nothing sent, for -EOPNOTSUPP, -ENOPROTOOPT, -EPERM, -EINVAL; failed, the
 * state unknown, for the rest. */
uint32_t jk_command_outcome(int rc, const struct jk_switch_result *res);
/* "confirmed", "refused", "not confirmed", "failed" ("?" for another). */
const char *jk_outcome_word(uint32_t outcome);

/* Tell the outcome of a switch command that returned rc (jk_command_outcome)
 * with jk_command_done(): the BMS's report, else `error` saying why. */
void jk_command_finish(const struct collector_host_api *api, collector_host *host,
                       const struct collector_command *cmd, int rc,
                       const struct jk_switch_result *res, const char *error);

#endif

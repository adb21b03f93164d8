/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_command.h"

#include <errno.h>
#include <stddef.h>

static const char *const outcome_words[] = {"?", "confirmed", "refused", "not confirmed",
                                            "failed"};

const char *jk_outcome_word(uint32_t outcome)
{
    return outcome_words[outcome <= 4 ? outcome : 0];
}

uint32_t jk_command_outcome(int rc, const struct jk_switch_result *res)
{
    if (rc == 0)
        return res->confirmed ? COLLECTOR_OUTCOME_CONFIRMED : COLLECTOR_OUTCOME_NOT_CONFIRMED;
    if (rc == -EOPNOTSUPP || rc == -ENOPROTOOPT || rc == -EPERM || rc == -EINVAL)
        return COLLECTOR_OUTCOME_REFUSED;
    return COLLECTOR_OUTCOME_FAILED;
}

void jk_command_done(const struct collector_host_api *api, collector_host *host,
                     const struct collector_command *cmd, uint32_t outcome, const char *detail)
{
    /* The host's audit line says it; the device's view stays in the debug log. */
    api->log(host, COLLECTOR_LOG_DEBUG, "%s %s (%s): %s: %s",
             cmd->name ? cmd->name : "?", cmd->value ? cmd->value : "",
             cmd->origin ? cmd->origin : "?", jk_outcome_word(outcome),
             detail ? detail : "");
    api->command_done(host, cmd->id, outcome, detail);
}

int jk_command_parse(const struct collector_host_api *api, collector_host *host,
                     const struct collector_command *cmd, int *sw, int *on)
{
    if (cmd->name == NULL || jk_switch_parse(cmd->name, sw) < 0 || cmd->value == NULL ||
        jk_switch_value_parse(cmd->value, on) < 0) {
        jk_command_done(api, host, cmd, COLLECTOR_OUTCOME_REFUSED,
                        "want charge, discharge or balancer, on or off");
        return -EINVAL;
    }
    return 0;
}

void jk_command_finish(const struct collector_host_api *api, collector_host *host,
                       const struct collector_command *cmd, int rc,
                       const struct jk_switch_result *res, const char *error)
{
    jk_command_done(api, host, cmd, jk_command_outcome(rc, res),
                    rc == 0 ? res->detail : rc == -ECANCELED ? "stopping: state unknown" : error);
}

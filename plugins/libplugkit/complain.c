/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libplugkit/complain.h"

#include <stdio.h>
#include <string.h>

void plugkit_complain(struct plugkit_complain *c, const struct collector_host_api *api,
                      collector_host *host, int level, const char *cause)
{
    if (strcmp(c->cause, cause) == 0 && cause[0] != '\0')
        return;
    api->log(host, level, "%s", cause);
    snprintf(c->cause, sizeof(c->cause), "%s", cause[0] != '\0' ? cause : "?");
}

int plugkit_complain_release(struct plugkit_complain *c)
{
    int was = c->cause[0] != '\0';

    c->cause[0] = '\0';
    return was;
}

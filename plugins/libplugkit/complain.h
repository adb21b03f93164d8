/* SPDX-License-Identifier: GPL-2.0-or-later */
/* complain: say a failure once per cause (again only when the cause
 * changes), and its end once (collectd's c_complain / c_release).
 * The core keeps its own two (core/sched.c, core/pipeline.c): they are keyed
 * by an errno the core also reports and counts, and the core links no plugin
 * library. */
#ifndef COLLECTORD_PLUGINS_LIBPLUGKIT_COMPLAIN_H
#define COLLECTORD_PLUGINS_LIBPLUGKIT_COMPLAIN_H

#include <collector/plugin.h>

struct plugkit_complain {
    char cause[512]; /* the last cause said; "" while all is well */
};

/* Log `cause` (one line) at `level` unless it is the cause said last. */
void plugkit_complain(struct plugkit_complain *c, const struct collector_host_api *api,
                      collector_host *host, int level, const char *cause);
/* 1 when a cause had been said (the caller says the recovery once), then
 * all is well again; 0 when nothing was wrong. */
int plugkit_complain_release(struct plugkit_complain *c);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl: `collectord ctl`, the control socket's command-line client. */
#ifndef COLLECTORD_CORE_CTL_H
#define COLLECTORD_CORE_CTL_H

/* argv[0] is "ctl". Exit status: 0 (a status printed, or a command
 * confirmed), 1 (anything else, said in one line), 64 (usage). */
int ctl_main(int argc, char **argv);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fingerprint: a canonical text of a settings group, so a reload can tell
 * an unchanged instance from a changed one. */
#ifndef COLLECTORD_CORE_FINGERPRINT_H
#define COLLECTORD_CORE_FINGERPRINT_H

#include <libconfig.h>

/* Names, types and values of `g`, recursively. Owned by the caller (free).
 * NULL on allocation failure. */
char *fingerprint_group(const config_setting_t *g);

#endif

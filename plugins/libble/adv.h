/* SPDX-License-Identifier: GPL-2.0-or-later */
/* LE advertising data: the AD structures of an advertisement or scan
 * response, as the kernel's Device Found event carries them (mgmt.h). Pure. */
#ifndef COLLECTORD_PLUGINS_LIBBLE_ADV_H
#define COLLECTORD_PLUGINS_LIBBLE_ADV_H

#include <stddef.h>
#include <stdint.h>

/* From AD data: the (complete or shortened) local name, and whether the
 * service FFE0 is listed (16- or 128-bit UUID lists). 0, or -EBADMSG when a
 * structure runs past the data: *name and *has_ffe0 then hold what the
 * structures before it said, which the caller keeps. */
int adv_parse_data(const uint8_t *data, size_t len, char *name, size_t name_cap,
                   int *has_ffe0);

/* 1 if a device with this name / service is a JK BMS: the documented name
 * prefixes "JK-" and "JK_" (jk-ble-protocol.md section 2), or FFE0. */
int adv_is_jk(const char *name, int has_ffe0);

#endif

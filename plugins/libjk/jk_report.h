/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Human and JSON output of decoded JK records (jkbms-util). */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_REPORT_H
#define COLLECTORD_PLUGINS_LIBJK_JK_REPORT_H

#include <stdio.h>

#include "plugins/libjk/jk_decode.h"

/* The BATTERY STATUS report: cells, Min/Max/Delta/Average, total voltage,
 * current, temperature, then the extras, and one "Implausible:" line per
 * value jk_plaus_check() refuses (the value itself is not shown). `di` may be
 * NULL. */
void jk_report_print(FILE *out, const struct jk_cell_info *ci, const struct jk_device_info *di);
/* One JSON object on one line, keys as the record's metric names, plus
 * "rejected" (a list of {field, index, raw, min, max, unit}) when a value is
 * implausible and "dropped": true when the whole frame is. 0, -ERANGE for a
 * dropped frame, or -EIO / -ENOMEM. */
int jk_report_json(FILE *out, const struct jk_cell_info *ci, const struct jk_device_info *di,
                   const char *address);
/* `jkbms-util --decode FILE [--json]`: a report (or a JSON line) per
 * cell-info record of a hex or btsnoop capture. The exit status: 0, or 1
 * when the file cannot be read or holds no valid cell-info record. */
int jk_decode_file_main(const char *path, int json, int proto, FILE *out, FILE *err);

#endif

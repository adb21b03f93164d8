/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log: one line per message, "YYYY-MM-DD HH:MM:SS - <instance> - LEVEL - <message>". */
#ifndef COLLECTORD_CORE_LOG_H
#define COLLECTORD_CORE_LOG_H

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>

/* The name the daemon's own lines carry where a plugin's carry its instance. */
#define LOG_CORE "collectord"
/* One error line that names up to two paths (a file and the directory that
 * refused it) and a reason: what loader and setdefs errors are written into. */
#define LOG_ERR_MAX (2 * PATH_MAX + 1024)

/* Messages above `level` (a COLLECTOR_LOG_* number) are dropped. Default INFO. */
void log_set_level(int level);
int log_get_level(void);
/* "error", "warning", "info", "debug" (case-insensitive) -> level; -EINVAL otherwise. */
int log_level_parse(const char *name, int *level);
const char *log_level_name(int level);

/* Write one line to stderr (one write(2), so lines from threads never mix). */
void log_msg(const char *instance, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(const char *instance, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Format the line without writing it; returns its length (truncated to cap-1). */
int log_format(char *buf, size_t cap, const char *instance, int level, const char *fmt,
               va_list ap) __attribute__((format(printf, 5, 0)));

#endif

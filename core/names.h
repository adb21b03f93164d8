/* SPDX-License-Identifier: GPL-2.0-or-later */
/* names: the one validator of the names the config, the loader and records use. */
#ifndef COLLECTORD_CORE_NAMES_H
#define COLLECTORD_CORE_NAMES_H

#include <stddef.h>

#define NAMES_MAX 63 /* bytes, without the NUL */

/* The characters of plugin, setting and metric names: a-z, 0-9 and _. */
static inline int names_symbol_char(unsigned char c)
{
    return (unsigned char)(c - 'a') < 26 || (unsigned char)(c - '0') < 10 || c == '_';
}

/* 1 when `s` is 1 to NAMES_MAX bytes of [a-z0-9_]: plugin, setting and
 * metric names. */
int names_is_symbol(const char *s);
/* The same for the first `n` bytes of `s` (no NUL needed). */
int names_is_symbol_n(const char *s, size_t n);
/* 1 when `s` is 1 to NAMES_MAX bytes of [A-Za-z0-9_.-]: instance names. */
int names_is_instance(const char *s);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/names.h"

#include <string.h>

int names_is_symbol_n(const char *s, size_t n)
{
    if (s == NULL || n == 0 || n > NAMES_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!names_symbol_char((unsigned char)s[i]))
            return 0;
    return 1;
}

int names_is_symbol(const char *s)
{
    return s != NULL && names_is_symbol_n(s, strnlen(s, NAMES_MAX + 1));
}

int names_is_instance(const char *s)
{
    size_t n = s ? strnlen(s, NAMES_MAX + 1) : 0;

    if (n == 0 || n > NAMES_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(names_symbol_char((unsigned char)s[i]) || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' ||
              s[i] == '.'))
            return 0;
    return 1;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* expand: ${VAR} and ${VAR:-default} in configuration text. */
#ifndef COLLECTORD_CORE_EXPAND_H
#define COLLECTORD_CORE_EXPAND_H

#include <stddef.h>

/*
 * Copy `in` to `out` with every ${NAME} replaced by the environment
 * variable NAME and every ${NAME:-default} by NAME, or `default` when NAME
 * is unset or empty; the default is expanded in turn, as the shell does
 * (${A:-${B:-x}}, at most 8 deep). A '$' not followed by '{' is kept.
 * Returns 1 when something was expanded, 0 when `in` had nothing to expand,
 * -ENOENT when a variable is unset and has no default (its name goes to
 * `missing`), -EINVAL for a "${" without a valid "NAME}" (the text goes to
 * `missing`), -ENAMETOOLONG when the result does not fit `out_size`.
 */
int expand_env(const char *in, char *out, size_t out_size, char *missing, size_t missing_size);

#endif

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# collector.conf(5)'s PLUGINS section is what the plugins' settings tables
# say today (`make update-man` rewrites docs/man/plugins.man).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
echo "1..1"
out=$(mktemp "${TMPDIR:-/tmp}/plugins-man-XXXXXX")
trap 'rm -f "$out"' EXIT
sh "$top_srcdir/docs/man/plugin-sections.sh" "$top_builddir" > "$out" 2>&1
if cmp -s "$out" "$top_srcdir/docs/man/plugins.man"; then
    echo "ok 1 - docs/man/plugins.man matches the plugins' settings tables"
else
    echo "not ok 1 - docs/man/plugins.man is stale: run make update-man"
    diff "$top_srcdir/docs/man/plugins.man" "$out" | head -n 20 | sed 's/^/# /'
fi

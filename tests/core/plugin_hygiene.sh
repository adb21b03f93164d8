#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every plugin exports only collector_plugin_entry and links against nothing
# of the core; no plugin source includes a core header.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
n=0; fail=0
plugins=$(ls "$top_builddir"/plugins/*/*.so 2>/dev/null)
echo "1..$(( $(echo "$plugins" | wc -w) + 1 ))"
for so in $plugins; do
    n=$((n + 1))
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u | tr '\n' ' ')
    undef_core=$(nm -D --undefined-only "$so" | grep -E ' (record_|host_|loader_|log_msg|settings_)' || true)
    if [ "$syms" = "collector_plugin_entry " ] && [ -z "$undef_core" ]; then
        echo "ok $n - $(basename "$so") exports only collector_plugin_entry"
    else
        echo "not ok $n - $(basename "$so") exports: $syms $undef_core"; fail=1
    fi
done
n=$((n + 1))
hits=$(grep -rln '#include "core/' "$top_srcdir/plugins" "$top_srcdir/sdk" 2>/dev/null || true)
if [ -z "$hits" ]; then
    echo "ok $n - no plugin or SDK source includes a core header"
else
    echo "not ok $n - core headers included by: $hits"; fail=1
fi
exit $fail

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The PLUGINS section of collector.conf(5), made from each plugin's settings
# table (`collectord --describe PLUGIN --man`), so the man page cannot drift
# from the code. It is committed as docs/man/plugins.man (a cross build
# cannot run what it builds); tests/core/man_current.sh checks it is current
# and `make update-man` rewrites it.
#   plugin-sections.sh BUILDDIR > docs/man/plugins.man
set -eu
b=${1:?usage: plugin-sections.sh BUILDDIR}
echo '.\" Made by docs/man/plugin-sections.sh from the plugins'"'"' settings tables: do not edit.'
echo '.SH THE HOST'"'"'S SETTINGS'
echo 'The daemon declares its own settings the way a plugin does, and the same code checks'
echo 'them (type, range, allowed values;'
echo '.BR ${VAR} " and " ${VAR:\-default}'
echo 'expand in strings);'
echo '.B collectord \-\-describe collector'
echo 'prints this table.'
COLLECTOR_PLUGIN_PATH="$b/plugins" "$b/core/collectord" --describe collector --man
echo '.SH PLUGINS'
echo 'Each plugin declares its settings; collectord checks every one before the plugin'
echo 'starts (type, range, allowed values, required ones) and names the file and line of'
echo 'a bad one.'
echo '.BR ${VAR} " and " ${VAR:\-default}'
echo 'expand in every string.'
echo '.B collectord \-\-describe'
echo '.I plugin'
echo 'prints the same table.'
for p in jk_ble jk_serial jk_replay soc_lifepo4 soc_coulomb energy bank alarms charge_limits \
         sqlite_merge mqtt influxdb pylontech; do
    COLLECTOR_PLUGIN_PATH="$b/plugins" "$b/core/collectord" --describe "$p" --man
done

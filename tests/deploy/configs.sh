#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped configs pass `collectord --check` (no radio needed: jk_ble only
# connects when polled), and the systemd unit is the one `make` generates.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/configs-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export COLLECTOR_STATE_DIR="$tmp/state"
echo "1..4"
# collector.conf writes to /opt/eamoon: check it against a copy in a temp dir
sed "s|/opt/eamoon/inverter.db|$tmp/inverter.db|" "$top_srcdir/etc/collector.conf" > "$tmp/collector.conf"
if "$top_builddir/core/collectord" -c "$tmp/collector.conf" --check >"$tmp/out" 2>&1; then
    echo "ok 1 - etc/collector.conf passes --check"
else
    echo "not ok 1 - etc/collector.conf"; sed 's/^/# /' "$tmp/out"
fi
if (cd "$tmp" && cp -r "$top_srcdir/etc" . && chmod -R u+w etc &&
    "$top_builddir/core/collectord" -c etc/demo.conf --check) >"$tmp/out" 2>&1; then
    echo "ok 2 - etc/demo.conf passes --check"
else
    echo "not ok 2 - etc/demo.conf"; sed 's/^/# /' "$tmp/out"
fi
if grep -q "^ExecReload=/bin/kill -HUP \$MAINPID" "$top_builddir/etc/collectord.service" &&
   grep -q "^AmbientCapabilities=$" "$top_builddir/etc/collectord.service" &&
   grep -q "^CapabilityBoundingSet=$" "$top_builddir/etc/collectord.service" &&
   grep -q "^Wants=bluetooth.service$" "$top_builddir/etc/collectord.service" &&
   grep -q "^After=bluetooth.service" "$top_builddir/etc/collectord.service" &&
   ! grep -q "%" "$top_builddir/etc/collectord.service"; then
    echo "ok 3 - the unit reloads with SIGHUP, waits for bluetoothd, keeps no capability, paths filled in"
else
    echo "not ok 3 - unit"
fi
# The commented two-pack RS485 bus of collector.conf, uncommented, passes
# --check (create() opens no device), and the unit lets the daemon open
# serial ports.
sed -e "s|/opt/eamoon/inverter.db|$tmp/inverter.db|" \
    -e '/# Wired instead/,/^);/ s/^    # \( *\(,\{0,1\}{\|}\|plugin =\|name =\|device =\|protocol =\|slave =\)\)/    \1/' \
    "$top_srcdir/etc/collector.conf" > "$tmp/bus.conf"
if [ "$(grep -c 'plugin = "jk_serial"' "$tmp/bus.conf")" = 2 ] &&
   ! grep -q '# *plugin = "jk_serial"' "$tmp/bus.conf" &&
   "$top_builddir/core/collectord" -c "$tmp/bus.conf" --check >"$tmp/out" 2>&1 &&
   grep -q "^SupplementaryGroups=.*dialout" "$top_builddir/etc/collectord.service" &&
   grep -q "^DeviceAllow=char-ttyUSB rw$" "$top_builddir/etc/collectord.service" &&
   ! grep -q "^PrivateDevices=yes" "$top_builddir/etc/collectord.service"; then
    echo "ok 4 - the sample's two-pack RS485 bus passes --check; the unit opens serial ports (dialout)"
else
    echo "not ok 4 - the RS485 bus sample or the unit's serial access"; sed 's/^/# /' "$tmp/out"
fi

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# collectord-db unhook: after it, the database is eamoon's alone again.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/unhook-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
db="$tmp/inverter.db"
echo "1..3"
python3 "$top_srcdir/tests/tools/eamoon_poller.py" "$db"
cat > "$tmp/c.conf" <<CONF
collector = { state_dir = "$tmp"; };
sources = ( { plugin = "jk_replay"; file = "$top_srcdir/etc/demo/jk_pb2a16s15p.hex"; } );
sinks = ( { plugin = "sqlite_merge"; path = "$db"; max_age = 3600; } );
CONF
"$top_builddir/core/collectord" -c "$tmp/c.conf" --once 2>"$tmp/err"
"$top_builddir/tools/collectord-db/collectord-db" status "$db" >"$tmp/st"
if grep -q "overlay trigger: installed" "$tmp/st" && grep -q "^battery 1:" "$tmp/st"; then
    echo "ok 1 - collectord-db status shows the hook and the patch"
else echo "not ok 1 - status"; sed 's/^/# /' "$tmp/st" "$tmp/err"; fi
"$top_builddir/tools/collectord-db/collectord-db" unhook "$db" >/dev/null
python3 "$top_srcdir/tests/tools/eamoon_poller.py" "$db"
if python3 "$top_srcdir/tests/tools/dashboard_view.py" "$db" --json | grep -q '"battery_voltage": "52.6"' &&
   ! python3 "$top_srcdir/tests/tools/dashboard_view.py" "$db" --json | grep -q bms_cell_count; then
    echo "ok 2 - after unhook new inverter rows are left as written"
else echo "not ok 2 - unhook"; fi
n=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"select count(*) from sqlite_master where name like 'collectord%'\").fetchone()[0], c.execute('pragma integrity_check').fetchone()[0])" "$db")
if [ "$n" = "0 ok" ]; then
    echo "ok 3 - no collectord object left, integrity ok"
else echo "not ok 3 - left: $n"; fi

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo pipeline under valgrind for a few cycles, with a SIGHUP reload and
# a SIGTERM: no error and no leak. Needs a build without sanitizers:
#   tests/valgrind/demo-valgrind.sh BUILDDIR
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?build directory}
tmp=$(mktemp -d /tmp/collectord-vg-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/tests/tools/eamoon_poller.py" "$tmp/inverter.db"
sed -e "s|etc/demo/|$top/etc/demo/|" -e "s|path = \"inverter.db\"|path = \"$tmp/inverter.db\"|" \
    -e 's|interval = 5;|interval = 0.5;|' -e "s|state_dir = \".\"|state_dir = \"$tmp\"|" \
    "$top/etc/demo.conf" > "$tmp/demo.conf"
COLLECTOR_PLUGIN_PATH="$build/plugins" valgrind --quiet --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=1 --log-file="$tmp/vg.log" \
    "$build/core/collectord" -c "$tmp/demo.conf" 2>"$tmp/err" &
pid=$!
# Conditions with deadlines, not sleeps: valgrind is slow, a loaded machine
# slower. wait_for SECONDS COMMAND...: poll until the command succeeds.
wait_for() {
    t=$(( $1 * 10 )); shift
    while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 0.1; t=$((t - 1)); done
    return 1
}
rows() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute('select count(*) from bms_readings').fetchone()[0])" "$tmp/inverter.db"; }
rows_at_least() { [ "$(rows 2>/dev/null || echo 0)" -ge "$1" ]; }
# two cycles, a reload once it runs (signals are blocked by then), two more
wait_for 120 grep -q "running .* instance(s) from" "$tmp/err"
wait_for 120 rows_at_least 2
n=$(rows)
kill -HUP "$pid"
wait_for 120 grep -q "SIGHUP: reloading" "$tmp/err"
wait_for 120 rows_at_least $((n + 2))
kill -TERM "$pid"
wait "$pid"
rc=$?
records=$(rows)
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/vg.log" ] && [ "$records" -ge 4 ] && grep -q "SIGHUP: reloading" "$tmp/err"; then
    echo "valgrind: demo ran $records cycles with a reload and a clean stop: no error, no leak"
    exit 0
fi
echo "valgrind: exit $rc, $records records"
cat "$tmp/vg.log" "$tmp/err" | tail -n 60
exit 1

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# jkbms-util --decode on real captures, text and JSON, and its failures.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
U="$top_builddir/tools/jkbms-util/jkbms-util"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jkbms-util-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "1..8"
"$U" --decode "$top_srcdir/etc/demo/jk_pb2a16s15p.hex" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^BATTERY STATUS' "$tmp/out")" -eq 2 ] &&
   grep -q 'Min: 3.216 V (cell 11)  Max: 3.246 V (cell 1)' "$tmp/out" &&
   grep -q '^Total voltage: 51.689 V' "$tmp/out" && grep -q '^Temperature: 17.7 C' "$tmp/out"; then
    echo "ok 1 - the BATTERY STATUS report, once per cell-info frame"
else
    echo "not ok 1 - report (exit $rc)"; sed 's/^/# /' "$tmp/out" "$tmp/err" | head -20
fi
"$U" --decode "$top_srcdir/etc/demo/jk_b2a24s20p.hex" --json >"$tmp/json" 2>"$tmp/err"
if python3 - "$tmp/json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2, rows
a, b = rows
assert a["protocol"] == "JK02_24S" and a["battery_voltage"] == 78.735 and len(a["cells"]) == 24
assert a["bms_cell_count"] == 24 and a["bms_soc"] == 85 and a["bms_hw_version"] == "10.XG"
assert b["temperatures"] == [-3.1, -2.9], b["temperatures"]
PY
then echo "ok 2 - --json: one object per frame, keys as the record"
else echo "not ok 2 - --json"; fi
"$U" --decode "$top_srcdir/tests/data/jk/jk04_cell_info.hex" --json >"$tmp/j4" 2>&1
if grep -q '"protocol":"JK04"' "$tmp/j4" && ! grep -q battery_current "$tmp/j4"; then
    echo "ok 3 - JK04 auto-detected, absent values absent"
else echo "not ok 3 - JK04"; sed 's/^/# /' "$tmp/j4"; fi
"$U" --decode "$top_srcdir/tests/data/jk/jk02_24s_v10_cell_info.hex" --protocol JK02_32S >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'does not fit the configured protocol JK02_32S' "$tmp/err"; then
    echo "ok 4 - a forced wrong protocol decodes nothing and says why"
else echo "not ok 4 - wrong protocol (exit $rc)"; sed 's/^/# /' "$tmp/err"; fi
printf 'AT\r\n00 11 22\n' > "$tmp/junk.hex"
"$U" --decode "$tmp/junk.hex" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q 'junk.hex: line 1: unexpected character' "$tmp/err"; then
    echo "ok 5 - a malformed hex dump: exit 1 naming file and line"
else echo "not ok 5 - bad hex (exit $rc)"; sed 's/^/# /' "$tmp/err"; fi
printf '00 11 22\n' > "$tmp/none.hex"
"$U" --decode "$tmp/none.hex" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q 'no valid cell-info frame' "$tmp/err"; then
    echo "ok 6 - no valid frame: a clear message, exit 1"
else echo "not ok 6 - no frame (exit $rc)"; fi
# Ctrl-C while a capture is written: its last line is cut anywhere
demo="$top_srcdir/etc/demo/jk_pb2a16s15p.hex"
size=$(wc -c <"$demo")
head -c $((size - 2)) "$demo" >"$tmp/cut.hex"
"$U" --decode "$tmp/cut.hex" --json >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] &&
   grep -q 'cut.hex:18: the last line is cut short (capture interrupted): left out' "$tmp/err"; then
    echo "ok 7 - a capture cut inside its last byte: the complete frame before it is read"
else echo "not ok 7 - cut capture (exit $rc)"; sed 's/^/# /' "$tmp/out" "$tmp/err" | head; fi
{ cat "$demo"; printf '55 aa eb 90 02 e'; } >"$tmp/cut2.hex"
"$U" --decode "$tmp/cut2.hex" --json >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ] && grep -q 'cut2.hex:19: ' "$tmp/err"; then
    echo "ok 8 - the next notification cut while written: every complete frame is read"
else echo "not ok 8 - cut capture (exit $rc)"; sed 's/^/# /' "$tmp/out" "$tmp/err" | head; fi

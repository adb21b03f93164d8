#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The ABI 1.1 lifecycle as a user meets it: --describe, ${VAR} in any
# setting, the interval floor, @include of what is not a file, the host's
# retry queue and --once waiting for the sinks.
set -u
. "${top_srcdir:?}/tests/tools/daemon_test.sh"
daemon_test_init lifecycle
unset COLLECTOR_INTERVAL_FLOOR_MS # the real floor here
CAP="$top_srcdir/etc/demo/jk_pb2a16s15p.hex"
echo "1..19"

# --- --describe ---
"$D" --describe soc_lifepo4 >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--describe prints the settings table" sh -c "[ $rc -eq 0 ] && grep -q '^  source  *string   default \"voltage\"' '$tmp/out' && grep -q 'one of: voltage, bms' '$tmp/out'"
"$D" --describe nope >/dev/null 2>"$tmp/err"; rc=$?
check "--describe of a missing plugin: exit 78 naming it" sh -c "[ $rc -eq 78 ] && grep -q 'no nope.so in' '$tmp/err'"

# --- declared settings: ${VAR} anywhere, one line per mistake ---
export COLLECTOR_TEST_DIR="$top_srcdir/etc/demo"
printf 'sources = ( { plugin = "jk_replay"; file = "${COLLECTOR_TEST_DIR}/jk_pb2a16s15p.hex"; loop = "${COLLECTOR_TEST_LOOP:-true}"; } );\n' > "$tmp/env.conf"
"$D" -c "$tmp/env.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
check '${VAR} and ${VAR:-default} expand in any setting, also into a boolean' test "$rc" -eq 0
expect78 'an unset variable without a default is named' \
    'file: environment variable COLLECTOR_TEST_NOPE is not set' \
    'sources = ( { plugin = "jk_replay"; file = "${COLLECTOR_TEST_NOPE}/x.hex"; } );'
expect78 'a wrong type names file:line and the setting' 'c.conf:1: jk_replay: loop: want true or false' \
    'sources = ( { plugin = "jk_replay"; file = "x"; loop = 3; } );'
expect78 'a value outside the declared range' 'timeout: out of range: want 0.1 to 600 s' \
    'sources = ( { plugin = "jk_ble"; address = "C8:47:8C:00:00:01"; timeout = 900; } );'
expect78 'a missing required setting' 'missing required setting "file"' \
    'sources = ( { plugin = "jk_replay"; } );'

# --- the interval floor ---
expect78 'an interval below the host floor of 1 s is refused' \
    'interval: 0.1 s is below the floor of 1 s for plugin t_counter' \
    'sources = ( { plugin = "t_counter"; interval = 0.1; } );'
printf 'sources = ( { plugin = "jk_replay"; file = "%s"; interval = 0.05; } );\n' "$CAP" > "$tmp/fast.conf"
"$D" -c "$tmp/fast.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
check "a plugin that declares a lower floor (replay) may go below 1 s" test "$rc" -eq 0
expect78 'but not below its own floor' 'interval: 0.001 s is below the floor of 0.01 s for plugin jk_replay' \
    "sources = ( { plugin = \"jk_replay\"; file = \"$CAP\"; interval = 0.001; } );"

# --- @include: regular files only, never an exit or a hang ---
mkdir -p "$tmp/incdir"
expect78 '@include of a directory is one clear error' '@include "incdir": a directory, not a regular file' \
    '@include "incdir"
sources = ( );'
mkfifo "$tmp/fifo"
expect78 '@include of a FIFO is one clear error, not a hang' '@include "fifo": a FIFO, not a regular file' \
    '@include "fifo"
sources = ( );'
printf 'collector = { interval = 1; };\nsources = ( { plugin = "t_counter"; name = "src"; } );\n' > "$tmp/run.conf"
daemon_bg "$tmp/log" -c "$tmp/run.conf"
wait_for 20 grep -q "running 1 instance" "$tmp/log"
printf '@include "incdir"\n' >> "$tmp/run.conf"
kill -HUP "$pid"
wait_for 20 grep -q "reload failed" "$tmp/log"
cp "$tmp/log" "$tmp/err"
check "a running daemon survives a SIGHUP onto @include of a directory" \
    sh -c "grep -q 'a directory, not a regular file' '$tmp/log' && kill -0 $pid"
kill -TERM "$pid"; wait "$pid"; pid=

# --- the host's retry queue, and --once waiting for delivery ---
cat > "$tmp/once.conf" <<CONF
collector = { interval = 1; flush_timeout = 5; };
sources = ( { plugin = "t_counter"; name = "src"; } );
sinks = ( { plugin = "t_filesink"; name = "out"; file = "$tmp/once.txt"; again = 3; } );
CONF
"$D" -c "$tmp/once.conf" --once 2>"$tmp/err"; rc=$?
check "--once: a sink that asks to retry 3 times still gets the record, exit 0" \
    sh -c "[ $rc -eq 0 ] && [ \"\$(cat '$tmp/once.txt' 2>/dev/null)\" = 'src 1 ' ]"
sed -i 's/again = 3;/again = 1000000;/; s/flush_timeout = 5;/flush_timeout = 1;/' "$tmp/once.conf"
"$D" -c "$tmp/once.conf" --once 2>"$tmp/err"; rc=$?
check "--once: a sink that never delivers is named, the record counted as dropped, exit 1" \
    sh -c "[ $rc -eq 1 ] && grep -q 'out - ERROR - 1 record(s) dropped: not delivered within 1 s' '$tmp/err' && grep -q 'out - ERROR - did not deliver 1 record(s)' '$tmp/err'"
# two such sinks share the one deadline: the second is told of the
# configured time too, not of what the first one left it (it said "0 s")
cat > "$tmp/two.conf" <<CONF
collector = { interval = 1; flush_timeout = 1; };
sources = ( { plugin = "t_counter"; name = "src"; } );
sinks = ( { plugin = "t_filesink"; name = "out1"; file = "$tmp/two1.txt"; again = 1000000; },
          { plugin = "t_filesink"; name = "out2"; file = "$tmp/two2.txt"; again = 1000000; } );
CONF
"$D" -c "$tmp/two.conf" --once 2>"$tmp/err"; rc=$?
check "--once: two sinks that never deliver are both told of flush_timeout (1 s), both named" \
    sh -c "[ $rc -eq 1 ] && grep -q 'out2 - ERROR - 1 record(s) dropped: not delivered within 1 s' '$tmp/err' && grep -q 'not delivered by sink(s): out1, out2' '$tmp/err'"
# A sink that takes every write and has it refused at flush (an InfluxDB
# answering 404): the run did not deliver, and the last line names the sink.
cat > "$tmp/refuse.conf" <<CONF
collector = { interval = 1; flush_timeout = 1; };
sources = ( { plugin = "t_counter"; name = "src"; } );
sinks = ( { plugin = "t_filesink"; name = "good"; file = "$tmp/good.txt"; },
          { plugin = "t_filesink"; name = "refusing"; file = "$tmp/refused.txt"; refuse = true; } );
CONF
"$D" -c "$tmp/refuse.conf" --once 2>"$tmp/err"; rc=$?
check "--once: a sink whose flush refuses what it took: exit 1, the sink named, the other delivered" \
    sh -c "[ $rc -eq 1 ] && [ \"\$(tail -n 1 '$tmp/err' | sed 's/.* - //')\" = '--once: not delivered by sink(s): refusing' ] && [ \"\$(cat '$tmp/good.txt' 2>/dev/null)\" = 'src 1 ' ]"

# --- the totals say what really happened (issue 25 #6) ---
# a sink that asks to wait, then refuses the record it kept: the retry line
# does not call it delivered, and the one line of totals adds up
sed -i 's/again = 1000000;/again = 2; fail = true;/; s/flush_timeout = 1;/flush_timeout = 5;/' "$tmp/once.conf"
"$D" -c "$tmp/once.conf" --once 2>"$tmp/err"; rc=$?
check "a kept record the sink then refuses is not called delivered" \
    sh -c "[ $rc -eq 1 ] && ! grep -q 'delivered the' '$tmp/err' && grep -q 'out - INFO - of the record(s) it had kept: 0 delivered, 1 refused (dropped)' '$tmp/err'"
check "one line of totals: received = written + dropped, with the reason" \
    sh -c "[ \$(grep -c 'out - .* record(s) received' '$tmp/err') -eq 1 ] && grep -q 'out - WARNING - 1 record(s) received: 0 written, 1 dropped (1 refused by the sink)' '$tmp/err'"

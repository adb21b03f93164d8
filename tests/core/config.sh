#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# What a config (or a variable it names) can do to the daemon, and what the
# host's own settings say (issue 23: declared host settings; issue 25,
# findings 1, 2 and 14): @include escapes, FIFOs and directories in every
# file a setting or a variable names, SIGTERM while a config loads, overlong
# strings, the interval limit, --describe of a path. Prints TAP.
set -u
. "${top_srcdir:?}/tests/tools/daemon_test.sh"
daemon_test_init config
unset JK_DEVICES_FILE JK_BMS_ADDRESS
echo "1..27"
mkfifo "$tmp/fifo"

# --- @include: what libconfig would open is what the host checks (25.1) ---
# libconfig reads "d\\e" as d\e: a directory here; the raw text d\\e is a
# regular file, which a checker reading the raw text let through.
mkdir "$tmp/d\\e"
printf 'sources = ( );\n' > "$tmp/d\\\\e"
printf '@include "d\\\\e"\nsources = ( );\n' > "$tmp/c.conf"
expect78 '@include "d\\e" beside a directory d\e and a file d\\e: exit 78, one line' \
    '@include "d\e": a directory, not a regular file'
printf '@include "fifo"\n' > "$tmp/c.conf"
expect78 '@include of a FIFO: exit 78 at once, one line' '@include "fifo": a FIFO, not a regular file'
printf '@include "/dev/null"\n' > "$tmp/c.conf"
expect78 '@include of a device: exit 78, one line' '@include "/dev/null": a device, not a regular file'

# an included file keeps its own name and line numbers in errors
printf '# one\n# two\nsources = ( { plugin = "t_counter"; colour = 1; } );\n' > "$tmp/inc.conf"
printf 'collector = { interval = 1; };\n@include "inc.conf"\n' > "$tmp/c.conf"
expect78 'an error in an included file names that file and its line' "inc.conf:3: t_counter: colour: unknown setting"

# a reload onto a bad include: the daemon keeps running its old config
printf 'collector = { interval = 1; };\nsources = ( { plugin = "t_counter"; name = "src"; } );\n' > "$tmp/run.conf"
daemon_bg "$tmp/log" -c "$tmp/run.conf"
wait_for 30 grep -q "running 1 instance" "$tmp/log"
cp "$tmp/run.conf" "$tmp/good.conf"
printf '@include "d\\\\e"\n' >> "$tmp/run.conf"
kill -HUP "$pid"
wait_for 20 grep -q "reload failed" "$tmp/log"
cp "$tmp/log" "$tmp/err"
check "SIGHUP onto @include \"d\\\\e\" (a directory): one line, the daemon keeps running" \
    sh -c "grep -q '@include \"d.e\": a directory, not a regular file' '$tmp/log' && kill -0 $pid"
cp "$tmp/good.conf" "$tmp/run.conf"
printf '@include "fifo"\n' >> "$tmp/run.conf"
lines_before=$(grep -c "reload failed" "$tmp/log")
kill -HUP "$pid"
more_failures() { [ "$(grep -c 'reload failed' "$tmp/log")" -gt "$lines_before" ]; }
wait_for 20 more_failures
cp "$tmp/log" "$tmp/err"
check "SIGHUP onto @include of a FIFO: refused, not a hang; the daemon keeps running" \
    sh -c "grep -q '@include \"fifo\": a FIFO, not a regular file' '$tmp/log' && kill -0 $pid"
kill -TERM "$pid"
wait_for 10 gone "$pid"
wait "$pid"; rc=$?; pid=
check "and SIGTERM then ends it cleanly" test "$rc" -eq 0

# --- every file a setting or a variable names: a FIFO is refused at once (25.2) ---
# (each config is valid with a regular file there: only the FIFO is wrong)
printf 'sinks = ( { plugin = "influxdb"; bucket = "b"; org = "o"; token_file = "%s"; } );\n' "$tmp/fifo" > "$tmp/c.conf"
expect78 'influxdb token_file a FIFO: refused by the PATH flag, one line' \
    "token_file: $tmp/fifo: a FIFO, not a regular file"
printf 'sinks = ( { plugin = "mqtt"; username = "u"; password_file = "%s"; } );\n' "$tmp/fifo" > "$tmp/c.conf"
expect78 'mqtt password_file a FIFO: refused, one line' \
    "password_file: $tmp/fifo: a FIFO, not a regular file"
printf 'sinks = ( { plugin = "influxdb"; database = "d"; username = "u"; password_file = "%s"; } );\n' "$tmp" > "$tmp/c.conf"
expect78 'influxdb password_file a directory: refused, one line' \
    "password_file: $tmp: a directory, not a regular file"
# an empty secret's file is a mistake, said the same way by both sinks
: > "$tmp/empty"
printf 'sinks = ( { plugin = "mqtt"; username = "u"; password_file = "%s"; } );\n' "$tmp/empty" > "$tmp/c.conf"
expect78 'mqtt password_file empty: refused, one line' "password_file: $tmp/empty: empty"
printf 'sinks = ( { plugin = "influxdb"; bucket = "b"; org = "o"; token_file = "%s"; } );\n' "$tmp/empty" > "$tmp/c.conf"
expect78 'influxdb token_file empty: refused, one line' "token_file: $tmp/empty: empty"
printf 'sources = ( { plugin = "jk_replay"; file = "%s"; } );\n' "$tmp/fifo" > "$tmp/c.conf"
expect78 "jk_replay's file a FIFO: refused, one line" "$tmp/fifo: a FIFO, not a regular file"
printf 'sources = ( { plugin = "jk_ble"; devices_file = "%s"; } );\n' "$tmp/fifo" > "$tmp/c.conf"
expect78 'jk_ble devices_file a FIFO: refused, one line' "devices_file: $tmp/fifo: a FIFO, not a regular file"
printf 'sources = ( { plugin = "jk_ble"; } );\n' > "$tmp/c.conf"
JK_DEVICES_FILE="$tmp/fifo"
export JK_DEVICES_FILE
expect78 'JK_DEVICES_FILE (from .env) a FIFO: refused, one line' "$tmp/fifo: a FIFO, not a regular file"
unset JK_DEVICES_FILE

# --- SIGTERM while a config loads (a plugin's create() that waits) ---
printf 'sinks = ( { plugin = "t_filesink"; file = "%s/o.txt"; create_ms = 60000; } );\n' "$tmp" > "$tmp/slow.conf"
daemon_bg "$tmp/err" -c "$tmp/slow.conf"
sleep 0.5
kill -TERM "$pid"
wait_for 2 gone "$pid"
check "SIGTERM during the first config load ends the daemon within 2 s" gone "$pid"
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
cp "$tmp/good.conf" "$tmp/run.conf"
daemon_bg "$tmp/log" -c "$tmp/run.conf"
wait_for 30 grep -q "running 1 instance" "$tmp/log"
cp "$tmp/slow.conf" "$tmp/run.conf"
kill -HUP "$pid"
wait_for 20 grep -q "SIGHUP: reloading" "$tmp/log"
sleep 0.5
kill -TERM "$pid"
wait_for 2 gone "$pid"
cp "$tmp/log" "$tmp/err"
check "SIGTERM during a reload that waits ends the daemon within 2 s, saying so" \
    sh -c "! kill -0 $pid 2>/dev/null && grep -q 'SIGTERM during a reload: the new configuration is abandoned' '$tmp/log'"
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=

# --- a reload whose new sink cannot start: it is left out, said once, the
# rest runs from the new config (runtime_switch: one meaning per return) ---
cat > "$tmp/run.conf" <<CONF
collector = { interval = 0.05; };
sources = ( { plugin = "t_counter"; name = "src"; } );
sinks = ( { plugin = "t_filesink"; name = "out"; file = "$tmp/out.txt"; } );
CONF
daemon_bg "$tmp/log" -c "$tmp/run.conf"
wait_for 30 grep -q "running 2 instance" "$tmp/log"
cat > "$tmp/run.conf" <<CONF
collector = { interval = 0.05; };
sources = ( { plugin = "t_counter"; name = "src"; } );
sinks = ( { plugin = "t_filesink"; name = "out"; file = "$tmp/out.txt"; },
          { plugin = "t_filesink"; name = "bad"; file = "$tmp/bad.txt"; fail_start = true; } );
CONF
kill -HUP "$pid"
wait_for 20 grep -q "reloaded" "$tmp/log"
cp "$tmp/log" "$tmp/err"
check "SIGHUP onto a sink that cannot start: one line names it, the others keep running" \
    sh -c "grep -q 'bad: plugin t_filesink could not start' '$tmp/log' &&
           grep -q 'reloaded .*: 2 instance(s) kept, 0 started, some could not start' '$tmp/log' &&
           ! grep -q 'reload failed' '$tmp/log' && kill -0 $pid"
kill -HUP "$pid" # the next reload tries it again
two_reloads() { [ "$(grep -c 'reloaded' "$tmp/log")" -ge 2 ]; }
wait_for 20 two_reloads
kill -TERM "$pid"
wait_for 10 gone "$pid"
wait "$pid"; rc=$?; pid=
cp "$tmp/log" "$tmp/err"
check "it is tried again at the next reload; SIGTERM then exits 0 and out got its records" \
    sh -c "[ $rc -eq 0 ] && [ \$(grep -c 'bad: plugin t_filesink could not start' '$tmp/log') -eq 2 ] &&
           grep -q '^src ' '$tmp/out.txt' && [ ! -e '$tmp/bad.txt' ]"

# --- limits (25.14): a long string is refused by its length, not parsed for minutes ---
{ printf 'sources = ( { plugin = "t_counter"; name = "'; head -c 100000 /dev/zero | tr '\0' a; printf '"; } );\n'; } > "$tmp/c.conf"
expect78 'a 100 kB string: refused by its length, one line' 'c.conf:1: a string longer than 65536 bytes: refused'
{ printf 'x = "'; head -c 50000000 /dev/zero | tr '\0' a; printf '";\n'; } > "$tmp/c.conf"
expect78 'a 50 MB file: refused by its size, one line' 'larger than 1048576 bytes: not a configuration file'
{ i=0; while [ $i -lt 9000 ]; do printf '# %0100d\n' 0; i=$((i + 1)); done; } > "$tmp/big.conf"
for i in 1 2 3 4 5; do printf '@include "big.conf"\n'; done > "$tmp/c.conf"
expect78 'one 0.9 MB file included 5 times: refused by the total, one line' \
    'c.conf:5: the configuration and its includes exceed 4194304 bytes: refused'
printf 'collector = { interval = 2592000; };\n' > "$tmp/c.conf"
expect78 'interval = 2592000 (30 days) says the real limit' \
    'c.conf:1: collector: interval: out of range: want 0.001 to 604800 s (7 days)'
printf 'collector = { interval = 1; colour = "red"; };\n' > "$tmp/c.conf"
expect78 'collector { } is checked by its table: an unknown key names the known ones' \
    'collector: colour: unknown setting (collector knows: interval, flush_timeout, log_level, plugin_dir, state_dir, control_socket, env_file)'

# --- --describe: the host's own table; a path is refused before any dlopen ---
"$D" --describe collector >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--describe collector prints the host's settings" \
    sh -c "[ $rc -eq 0 ] && grep -q '^  interval  *number   \[s\] default 30 (0.001 to 604800)' '$tmp/out' && grep -q '^  plugin  *string   required' '$tmp/out'"
export TP_EVIL_MARK="$tmp/mark"
"$D" --describe "../plugins/t_evil" >/dev/null 2>"$tmp/err"; rc=$?
check "--describe ../plugins/t_evil: refused by its name, the file never opened" \
    sh -c "[ $rc -eq 64 ] && [ ! -e '$tmp/mark' ] && grep -q 'is not a plugin name' '$tmp/err'"
unset TP_EVIL_MARK

# --- a secret in an included file others may read: that file is named ---
printf 'sinks = ( { plugin = "t_filesink"; file = "%s/p.txt"; password = "s3cret"; } );\n' "$tmp" > "$tmp/secret.conf"
chmod 644 "$tmp/secret.conf"
printf '@include "secret.conf"\n' > "$tmp/c.conf"
chmod 600 "$tmp/c.conf"
"$D" -c "$tmp/c.conf" --check >/dev/null 2>"$tmp/err"
check "a secret in a world-readable included file: the warning names that file, not the value" \
    sh -c "grep -q 'secret.conf:1: t_filesink: password is a secret, and .*secret.conf is readable by other users' '$tmp/err' && ! grep -q s3cret '$tmp/err'"
exit 0

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# ABI 1.2 commands through the daemon, with the t_switch test source (a
# simulated switch that confirms, keeps its old state, or waits at a gate):
# the control list at --check, the control socket and `collectord ctl`, the
# SO_PEERCRED check, one command at a time with a bounded queue, timed
# returns across a restart, the audit line, and events reaching only ABI 1.2
# sinks. Prints TAP.
set -u
. "${top_srcdir:?}/tests/tools/daemon_test.sh"
daemon_test_init control-test
export COLLECTOR_INTERVAL_FLOOR_MS=100
# the host's time limit for a command: long, so a slow machine (qemu) never
# fails a gated command by it; the silent source below gets 1 s of its own
export COLLECTOR_COMMAND_TIMEOUT_MS=30000
socket_dir # the other uid must reach the socket to be refused by its credentials
S="$stmp/ctl.sock"
ctl() { "$D" ctl --socket "$S" "$@"; }
start() { # start CONFIG: run the daemon, wait for its socket (the log keeps
    # every run's lines: wait for this run's, after those already there)
    _seen=$(wc -l 2>/dev/null < "$tmp/log" || echo 0)
    "$D" -c "$1" -f -v 2>>"$tmp/log" &
    pid=$!
    wait_for 60 sh -c "tail -n +$((_seen + 1)) '$tmp/log' | grep -q 'control socket $S'" &&
        wait_for 30 test -S "$S"
}
stop() { kill -TERM "$pid"; wait "$pid"; pid=; }

echo "1..46"

# --- the control list is checked at --check against the plugin's commands ---
expect78 "control naming a command the plugin lacks is refused at --check, with file:line" \
    'c.conf:2: b1: control: "heating": plugin t_switch has no such command (it offers: charge, discharge, balancer)' \
    'sources = ( { plugin = "t_switch"; name = "b1";
  control = ("charge", "heating"); } );'
expect78 "control on a plugin without commands is refused" \
    'control: "charge": plugin t_counter has no such command (it offers: none)' \
    'sources = ( { plugin = "t_counter"; control = ("charge"); } );'
expect78 "control on a sink is refused" "control: only sources take commands" \
    'sources = ( { plugin = "t_switch"; } );
sinks = ( { plugin = "t_filesink"; control = ("charge"); file = "/dev/null"; } );'

"$D" --describe t_switch >"$tmp/out" 2>&1
check "--describe lists the commands a source offers" \
    sh -c "grep -q 'commands (allowed one by one with control = (...)):' '$tmp/out' && grep -q '^  charge  *on|off' '$tmp/out'"

# --- a 1.0 and a 1.1 plugin load beside 1.2 ones ---
cat > "$tmp/run.conf" <<CONF
collector = { control_socket = "$S"; };
sources = ( { plugin = "t_switch"; name = "b1"; interval = 0.2; file = "$tmp/b1.dev";
              control = ("charge", "discharge"); },
            { plugin = "t_switch"; name = "b2"; interval = 0.2; file = "$tmp/b2.dev";
              behaviour = "keep"; control = ("charge"); },
            { plugin = "t_switch"; name = "b3"; interval = 0.2; file = "$tmp/b3.dev";
              gate = "$tmp/gate"; control = ("charge"); },
            { plugin = "t_counter11"; name = "old11"; interval = 0.2; },
            { plugin = "t_switch"; name = "b4"; interval = 0.2; flip_at = 10; },
            { plugin = "t_switch"; name = "b6"; interval = 0.2; file = "$tmp/b6.dev";
              control = ("discharge"); },
            { plugin = "t_switch"; name = "b7"; interval = 0.2; control = ("discharge"); },
            { plugin = "t_switch"; name = "b11"; interval = 0.2; behaviour = "refuse";
              control = ("charge"); },
            { plugin = "t_switch"; name = "b12"; interval = 0.2; fail_after = 2; },
            { plugin = "t_switch"; name = "b8"; interval = 0.2; file = "$tmp/b8.dev";
              control = ("discharge"); },
            { plugin = "t_switch"; name = "b13"; interval = 0.2; file = "$tmp/b13.dev";
              control = ("charge"); } );
calculators = ( { plugin = "t_trail10"; name = "c10"; }, { plugin = "t_trail"; name = "c12"; },
                { plugin = "bank"; name = "bank1"; members = ("b6", "b9"); },
                { plugin = "bank"; name = "bank2"; members = ("b7", "b8"); },
                { plugin = "alarms"; switch_window = 1.0; } );
sinks = ( { plugin = "t_filesink"; name = "new"; file = "$tmp/new.txt"; },
          { plugin = "t_filesink10"; name = "old10"; file = "$tmp/old10.txt"; },
          { plugin = "t_filesink11"; name = "old11sink"; file = "$tmp/old11.txt"; } );
CONF
"$D" -c "$tmp/run.conf" --check >"$tmp/out" 2>"$tmp/err"
check "a 1.0 sink and calculator, a 1.1 source and sink load beside 1.2 plugins" grep -q "configuration OK, 19 instance(s)" "$tmp/out"

start "$tmp/run.conf"
check "the control socket is 0660" test "$(stat -c %a "$S")" = 660
wait_for 30 sh -c "'$D' ctl --socket '$S' b1 | grep -q charge_switch"

# --- confirmed, refused, not confirmed ---
ctl b1 charge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "ctl exits 0 on a confirmed command" test "$rc" -eq 0 -a -n "$(grep 'b1: charge off: confirmed' "$tmp/out")"
check "the device received the command once" test "$(lines "$tmp/b1.dev" '^charge off applied$')" -eq 1
check "the audit line names origin, switch, request, outcome" \
    grep -q "b1 - INFO - command [0-9]* from socket uid $(id -u): charge off: confirmed" "$tmp/log"
ctl b1 balancer off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a switch not in control is refused, exit 1, one line" \
    test "$rc" -eq 1 -a "$(wc -l < "$tmp/err")" -eq 1 -a -n "$(grep 'refused: balancer is not allowed on b1' "$tmp/err")"
check "... and the device received nothing" test "$(lines "$tmp/b1.dev" '^balancer')" -eq 0
ctl b2 charge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a device that keeps its old state: exit 1, not confirmed, with what it reports" \
    test "$rc" -eq 1 -a -n "$(grep 'b2: charge off: not confirmed: the device reports charge_switch on' "$tmp/err")"
ctl nosuch charge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "an unknown battery is refused" test "$rc" -eq 1 -a -n "$(grep 'no source named "nosuch"' "$tmp/err")"

# a daemon of its own, with a time limit of 1 s
cat > "$tmp/silent.conf" <<CONF
collector = { control_socket = "$stmp/silent.sock"; state_dir = "$tmp/silent-state"; };
sources = ( { plugin = "t_switch"; name = "b10"; interval = 0.2; behaviour = "silent";
              control = ("charge"); } );
CONF
COLLECTOR_COMMAND_TIMEOUT_MS=1000 "$D" -c "$tmp/silent.conf" -f 2>"$tmp/silent.log" &
spid=$!
wait_for 60 grep -q "control socket $stmp/silent.sock" "$tmp/silent.log" &&
    wait_for 30 test -S "$stmp/silent.sock"
"$D" ctl --socket "$stmp/silent.sock" b10 charge off >"$tmp/out" 2>"$tmp/err"; rc=$?
kill -TERM "$spid"; wait "$spid"
check "a source that never reports: the host says failed after its time limit" \
    test "$rc" -eq 1 -a -n "$(grep 'b10: charge off: failed: no outcome from the source within 1 s' "$tmp/err")"
ctl b11 charge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a source that cannot start it: refused with its reason" \
    test "$rc" -eq 1 -a -n "$(grep 'b11: charge off: refused: the source did not start it: Operation not supported' "$tmp/err")"

# --- status ---
ctl b1 >"$tmp/out" 2>"$tmp/err"; rc=$?
check "ctl BATTERY prints the switch states of the newest record, and what it allows" \
    test "$rc" -eq 0 -a -n "$(grep 'b1: .*charge_switch off.*discharge_switch on' "$tmp/out")" -a -n "$(grep '^control: charge, discharge$' "$tmp/out")"
ctl b4 >"$tmp/out" 2>&1
check "... a source without control is read-only" grep -q '^control: none (read-only)$' "$tmp/out"
check "... states of a silent source are said to be stale, not served as live" \
    wait_for 30 sh -c "'$D' ctl --socket '$S' b12 | grep -q 'b12: .*charge_switch on.*STALE: not the state now'"

# --- the bank refuses what would leave no fresh pack able to discharge ---
ctl b6 discharge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "an unsafe bank command is refused with the bank's reason" \
    test "$rc" -eq 1 -a -n "$(grep 'refused: bank1: discharge off on b6 would leave no fresh pack of the bank able to discharge (b9: no fresh record); force overrides' "$tmp/err")"
check "... and the device received nothing" test "$(lines "$tmp/b6.dev" .)" -eq 0
ctl b6 discharge off --force >"$tmp/out" 2>"$tmp/err"; rc=$?
check "force overrides the bank (and the bank says so)" \
    test "$rc" -eq 0 -a -n "$(grep 'bank2\?.*forced' "$tmp/log")"
wait_for 30 sh -c "'$D' ctl --socket '$S' b8 | grep -q 'discharge_switch on'"
ctl b7 discharge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "with another fresh pack able to discharge, the bank lets it pass" test "$rc" -eq 0
newest() { "$D" ctl --socket "$S" b7 | sed -n 's/.*newest record \(.*\))/\1/p'; }
wait_for 30 sh -c "'$D' ctl --socket '$S' b7 | grep -q 'discharge_switch off'"
t0=$(newest); wait_for 30 sh -c "[ \"\$('$D' ctl --socket '$S' b7 | sed -n 's/.*newest record \(.*\))/\1/p')\" != '$t0' ]"
ctl b8 discharge off >"$tmp/out" 2>"$tmp/err"; rc=$?
check "... but not the last one: b7 is off now" \
    test "$rc" -eq 1 -a -n "$(grep 'bank2: discharge off on b8 would leave no fresh pack.*(b7: off)' "$tmp/err")" -a "$(lines "$tmp/b8.dev" .)" -eq 0

# --- one at a time: a slow command holds the next ones in a queue of 4 ---
rm -f "$tmp/gate"
qpids=
for i in 1 2 3 4 5; do
    ctl b3 charge off >"$tmp/q$i.out" 2>&1 &
    qpids="$qpids $!"
done
# the first waits at the gate, four wait in the queue: the sixth is refused
wait_for 60 sh -c "[ \$(grep -c 'b3 - DEBUG - command [0-9]* .*: queued' '$tmp/log') -ge 5 ] && grep -q 'b3 - DEBUG - command [0-9]*: charge off (from socket uid [0-9]*) to the device' '$tmp/log'"
ctl b3 charge on >"$tmp/q6.out" 2>&1
check "a command beyond the queue of 4 is refused as busy" grep -q "busy" "$tmp/q6.out"
touch "$tmp/gate"
for j in $qpids; do wait "$j"; done
check "the queued ones ran one after the other, each confirmed" \
    test "$(cat "$tmp"/q[1-5].out | grep -c 'b3: charge off: confirmed')" -eq 5 -a "$(lines "$tmp/b3.dev" '^charge off applied$')" -eq 5

# --- more commands than the daemon keeps (128): a finished one's place is reused ---
ok_many=0
for i in $(seq 1 70); do
    ctl b13 charge off >>"$tmp/many.out" 2>&1 && ok_many=$((ok_many + 1))
    ctl b13 charge on >>"$tmp/many.out" 2>&1 && ok_many=$((ok_many + 1))
done
check "140 commands one after another: each confirmed, each reached the device once" \
    test "$ok_many" -eq 140 -a "$(lines "$tmp/b13.dev" '^charge o[nf]f* applied$')" -eq 140

# --- a second daemon on the same socket leaves the first one's alone ---
printf 'collector = { control_socket = "%s"; };\nsources = ( { plugin = "t_switch"; name = "x"; } );\n' "$S" > "$tmp/second.conf"
"$D" -c "$tmp/second.conf" -f 2>"$tmp/second.log" &
pid2=$!
wait_for 60 grep -q "control socket" "$tmp/second.log"
kill -TERM "$pid2"; wait "$pid2"
check "a second daemon does not take a live control socket" \
    grep -q "control socket $S: another daemon answers on it: Address already in use (running without it)" "$tmp/second.log"
check "... and the first one still answers on it" sh -c "'$D' ctl --socket '$S' b1 | grep -q charge_switch"

# --- the SO_PEERCRED check ---
chmod 666 "$S" # so only the credentials check stands between nobody and the daemon
cp "$D" "$stmp/collectord" # nobody may not walk the path to $D (a 0700 home)
as_nobody "$stmp" ./collectord ctl --socket "$S" b1 charge on >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a peer of another uid is refused with one line" test "$rc" -eq 1 -a -n "$(grep 'refused: only root' "$tmp/err")"
check "... and the daemon says so in one line" grep -q "control socket: refused a peer with uid $(id -u nobody)" "$tmp/log"
check "... and nothing reached the device" test "$(lines "$tmp/b1.dev" '^charge on')" -eq 0
chmod 660 "$S"

# --- switch_changed: once for the change b4 made by itself, never for ours ---
wait_for 30 grep -q 'b4: alarm switch_changed' "$tmp/log"
check "a switch the device changed by itself raises switch_changed once, in one line" \
    test "$(grep -c 'b4: alarm switch_changed: charge_switch on -> off, charging_enabled on -> off without a command from collectord' "$tmp/log")" -eq 1


# --- timed: off for 2 s returns to on by itself ---
ctl b1 discharge off --for 2s >"$tmp/out" 2>"$tmp/err"; rc=$?
ctl b1 >"$tmp/status" 2>&1
check "ctl BATTERY shows the pending timed return" grep -q "pending: discharge returns to on in" "$tmp/status"
wait_for 30 grep -q "^discharge on applied" "$tmp/b1.dev"
check "a timed off returns to on after its duration (origin timer)" \
    test "$rc" -eq 0 -a -n "$(grep 'command [0-9]* from timer: discharge on: confirmed' "$tmp/log")"

# --- and across a restart ---
ctl b1 charge off --for 3s >"$tmp/out" 2>"$tmp/err"
check "the pending return is in the state directory" grep -q "^b1 charge on " "$tmp/state/control-returns"
stop
check "the daemon stopped with a return pending" test "$(lines "$tmp/b1.dev" '^charge on applied')" -eq 0
echo "b1 charge maybe 12" >> "$tmp/state/control-returns" # a damaged line
echo "ghost charge on 1" >> "$tmp/state/control-returns"   # a source no longer configured
start "$tmp/run.conf"
wait_for 60 grep -q "^charge on applied" "$tmp/b1.dev"
check "a damaged line in the state file is named (file:line) and skipped" \
    grep -q "ERROR - $tmp/state/control-returns:2: not a timed return, ignored" "$tmp/log"
check "after a restart the return still happens" grep -q "^charge on applied" "$tmp/b1.dev"
wait_for 30 sh -c "! grep -q charge '$tmp/state/control-returns'"
check "... and is then forgotten" test "$(lines "$tmp/state/control-returns" 'charge')" -eq 0
check "a return for a source no longer configured is dropped in one error line" \
    grep -q 'ghost - ERROR - pending return of charge to on dropped: no source named "ghost"; switch it yourself' "$tmp/log"
stop

check "no switch_changed for the changes collectord commanded (timed returns included)" \
    test "$(grep 'switch_changed:' "$tmp/log" | grep -vc 'b4:')" -eq 0

# --- a reload that removes a source ends its command as failed, not lost ---
rm -f "$tmp/gate2"
cat > "$tmp/reload.conf" <<CONF
collector = { control_socket = "$S"; };
sources = ( { plugin = "t_switch"; name = "r1"; interval = 0.2; gate = "$tmp/gate2";
              control = ("charge"); },
            { plugin = "t_switch"; name = "r2"; interval = 0.2; } );
CONF
mv "$tmp/log" "$tmp/log.1" # kept for the epilogue
start "$tmp/reload.conf"
ctl r1 charge off >"$tmp/r.out" 2>&1 &
rpid=$!
wait_for 60 grep -q "r1 - DEBUG - command [0-9]*: charge off (from socket uid [0-9]*) to the device" "$tmp/log"
sed -i '/name = "r1"/,/control = /d; s/^            { plugin = "t_switch"; name = "r2"/sources = ( { plugin = "t_switch"; name = "r2"/' "$tmp/reload.conf"
kill -HUP "$pid"
wait "$rpid"; rc=$?
check "a reload that removes the source: its command ends failed, said so" \
    test "$rc" -eq 1 -a -n "$(grep 'r1: charge off: failed: the source was stopped by a reload; its state is unknown' "$tmp/r.out")"
wait_for 30 grep -q "reloaded" "$tmp/log"
check "... and the daemon runs on with the new configuration" sh -c "'$D' ctl --socket '$S' r2 | grep -q charge_switch"
stop

# --- events: every 1.2 sink sees the outcomes, 1.0 and 1.1 sinks none ---
check "the 1.2 sink got the outcome events, through the 1.2 calculator only" \
    test "$(lines "$tmp/new.txt" '^b1 event charge off confirmed \[c12\]$')" -ge 1 -a "$(lines "$tmp/new.txt" '^b1 event balancer off refused \[c12\]$')" -eq 1 -a "$(lines "$tmp/new.txt" 'event.*c10')" -eq 0
check "... while measurements pass both calculators" test "$(lines "$tmp/new.txt" '^b1 [0-9]* c10,c12$')" -ge 1
check "the 1.0 and 1.1 sinks got records but no event" \
    test "$(lines "$tmp/old10.txt" '^b1 ')" -ge 1 -a "$(lines "$tmp/old10.txt" 'event')" -eq 0 -a "$(lines "$tmp/old11.txt" '^old11 ')" -ge 1 -a "$(lines "$tmp/old11.txt" 'event\|^b1 -1')" -eq 0
# on a failure, what the daemon said (a slow CI machine has shown failures
# that only its log could explain)
if [ "$failed" -ne 0 ]; then
    for f in "$tmp/log.1" "$tmp/log"; do
        [ -f "$f" ] && { echo "# --- ${f##*/}, last lines:"; tail -n 40 "$f" | sed 's/^/# /'; }
    done
fi
exit $failed

# SPDX-License-Identifier: GPL-2.0-or-later
# TAP for the daemon's shell tests, sourced after $D (collectord) and $tmp
# are set (tests/tools/daemon_test.sh sets them and sources this): ok,
# not_ok (with the first lines of $tmp/err), check, wait_for (a deadline,
# not a sleep), gone PID, lines, plays_nobody and as_nobody (the other
# user), and expect78 (--check refuses a config with
# exit 78 and one line holding a fixed string). $failed is 1 after a
# failure: end with `exit $failed`.
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err" 2>/dev/null | head -n 8; }
check() { # check DESCRIPTION COMMAND...
    d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# wait_for SECONDS COMMAND...: poll until the command succeeds
wait_for() {
    t=$(( $1 * 10 )); shift
    while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 0.1; t=$((t - 1)); done
    return 1
}
# lines FILE PATTERN: how many lines of FILE match (0 when it is absent)
lines() { if [ -f "$1" ]; then grep -c -- "$2" "$1" || true; else echo 0; fi; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# plays_nobody: this shell can play another user (root with runuser); a
# developer's own account cannot.
plays_nobody() { [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && runuser -u nobody true 2>/dev/null; }
# as_nobody DIR COMMAND...: COMMAND as nobody, working in DIR, naming what
# it touches relative to DIR. The build tree may sit in a home only its
# owner can enter (/root): nobody cannot walk the path down to DIR, but a
# working directory root entered before the switch serves.
as_nobody() { (cd "$1" && shift && exec runuser -u nobody -- "$@"); }
# expect78 DESCRIPTION FIXED-STRING [CONFIG-TEXT]: without the text, the
# config already in $tmp/c.conf. timeout: a hang is a failure, not a stuck
# suite; -k: a daemon that ignores SIGTERM while it waits is killed.
expect78() {
    [ $# -ge 3 ] && printf '%s\n' "$3" > "$tmp/c.conf"
    timeout -k 5 20 "$D" -c "$tmp/c.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
    if [ "$rc" -eq 78 ] && grep -qF -- "$2" "$tmp/err" && [ "$(wc -l < "$tmp/err")" -eq 1 ]; then
        ok "$1"
    else
        echo "# exit $rc" >> "$tmp/err"; not_ok "$1"
    fi
}

# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the shell tests that run collectord as a process:
#   . "$top_srcdir/tests/tools/daemon_test.sh"; daemon_test_init NAME
# D (the daemon), TP (the test plugins, first in COLLECTOR_PLUGIN_PATH), tmp
# (a private directory, removed at exit with any daemon left in $pid), and
# TAP helpers: ok, not_ok (prints $tmp/err), check DESCRIPTION COMMAND...,
# wait_for SECONDS COMMAND... (a deadline, not a sleep), gone PID.
: "${top_builddir:?}" "${top_srcdir:?}"
D="$top_builddir/core/collectord"
TP="$top_builddir/tests/abi/plugins"
n=0
pid=
daemon_test_init() {
    export COLLECTOR_PLUGIN_PATH="$TP:${COLLECTOR_PLUGIN_PATH:-}"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")
    export COLLECTOR_STATE_DIR="$tmp/state"
    trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
}
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
not_ok() {
    n=$((n + 1)); printf 'not ok %d - %s\n' "$n" "$1"
    sed 's/^/# /' "$tmp/err" 2>/dev/null | head -n 6
}
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
wait_for() {
    t=$(( $1 * 10 )); shift
    while [ "$t" -gt 0 ]; do "$@" && return 0; sleep 0.1; t=$((t - 1)); done
    return 1
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the shell tests that run collectord as a process:
#   . "$top_srcdir/tests/tools/daemon_test.sh"; daemon_test_init NAME
# D (the daemon), TP (the test plugins, first in COLLECTOR_PLUGIN_PATH), tmp
# (a private directory, removed at exit with any daemon left in $pid),
# COLLECTOR_STATE_DIR in it, daemon_bg (start the daemon), socket_dir (stmp,
# short paths for sockets), and the TAP helpers of tests/tools/tap.sh.
: "${top_builddir:?}" "${top_srcdir:?}"
D="$top_builddir/core/collectord"
TP="$top_builddir/tests/abi/plugins"
pid=
daemon_test_init() {
    export COLLECTOR_PLUGIN_PATH="$TP:${COLLECTOR_PLUGIN_PATH:-}"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")
    export COLLECTOR_STATE_DIR="$tmp/state"
    trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; [ -z "$stmp" ] || rm -rf "$stmp"' EXIT
}
# daemon_bg LOG ARGS...: collectord ARGS in the background, pid its pid, its
# stderr in LOG. This shell empties LOG first: the redirection of a
# background job is done by the child, so a wait_for on a reused LOG could
# read the last daemon's "running" line and signal a daemon not yet running.
daemon_bg() {
    _log=$1; shift
    : > "$_log"
    "$D" "$@" 2>>"$_log" &
    pid=$!
}
# socket_dir: stmp, a directory in /tmp for unix sockets (removed at exit):
# a socket path must fit in 108 bytes, and $tmp lies in the build tree, deep
# under make distcheck. 0755: another user may reach what is in it.
stmp=
socket_dir() { stmp=$(mktemp -d /tmp/collectord-sock-XXXXXX) && chmod 755 "$stmp"; }
. "$top_srcdir/tests/tools/tap.sh"

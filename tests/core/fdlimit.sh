#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Many instances against the open-file limit (issue 25.9): --check holds no
# fd per instance; a run that hits the limit says so in one line naming
# the limit, instead of a silent exit 78. Prints TAP.
set -u
. "${top_srcdir:?}/tests/tools/daemon_test.sh"
daemon_test_init fdlimit-test

echo "1..3"
{
    printf 'collector = { state_dir = "%s"; };\nsources = (\n' "$tmp/state"
    i=1
    while [ $i -le 600 ]; do
        printf '  { plugin = "t_counter"; name = "s%d"; interval = 30; }%s\n' $i \
            "$([ $i -lt 600 ] && echo ,)"
        i=$((i + 1))
    done
    printf ');\nsinks = ( { plugin = "t_filesink"; name = "out"; file = "%s"; } );\n' "$tmp/out.txt"
} > "$tmp/many.conf"

# 1. --check opens no fd per instance: 600 instances fit in 64 fds.
(ulimit -n 64 && exec "$D" -c "$tmp/many.conf" --check) >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--check of 600 instances under ulimit -n 64: exit 0, no fd per instance" \
    sh -c "[ $rc -eq 0 ] && grep -q '601 instance' '$tmp/out'"

# 2-3. A run that needs more fds than the limit: one line naming it.
(ulimit -n 1024 && exec timeout 120 "$D" -c "$tmp/many.conf") >/dev/null 2>"$tmp/err"; rc=$?
check "600 instances under ulimit -n 1024: the daemon does not start (exit $rc, not 0 or 124)" \
    sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
check "one line names the limit of 1024 open files" \
    sh -c "[ \"\$(grep -c 'limit of 1024 open files' '$tmp/err')\" -eq 1 ]"

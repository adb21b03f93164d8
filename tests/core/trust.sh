#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Code from another user never runs inside collectord: the loader checks the
# plugin's real path, and every directory up to /, before dlopen. Run as
# root, playing the other user with runuser -u nobody. A plugin whose
# constructor leaves a mark shows whether its code ran.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
D="$top_builddir/core/collectord"
EVIL="$top_builddir/tests/abi/plugins/t_evil.so"
unset COLLECTOR_PLUGIN_PATH
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trust-XXXXXX")
chmod 755 "$tmp"
export COLLECTOR_STATE_DIR="$tmp/state"
export TP_EVIL_MARK="$tmp/mark"
# What nobody must reach (a copy of the plugin, the sticky directory) lives
# under /tmp, in a directory anyone can enter: the build tree may sit in a
# 0700 home (/root) that nobody cannot enter.
ntmp=$(mktemp -d /tmp/trust-nobody-XXXXXX)
chmod 755 "$ntmp"
trap 'rm -rf "$tmp" "$ntmp"' EXIT
. "$top_srcdir/tests/tools/tap.sh"
echo "1..9"
if ! plays_nobody; then
    # CI runs as root; a developer's own account cannot play another user
    for i in 1 2 3 4 5 6 7 8 9; do echo "ok $i # SKIP needs root and runuser"; done
    exit 0
fi
conf() { printf 'collector = { plugin_dir = "%s"; };\nsources = ( { plugin = "t_evil"; } );\n' "$1" > "$tmp/c.conf"; }
refused() { # DESCRIPTION REASON: exit 78, one line naming the file and the reason, no mark
    rm -f "$tmp/mark"
    "$D" -c "$tmp/c.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
    if [ "$rc" -eq 78 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "t_evil.so: .*$2" "$tmp/err" &&
       [ ! -e "$tmp/mark" ]; then
        ok "$1"
    else
        echo "exit $rc, mark: $(ls "$tmp/mark" 2>/dev/null)" >> "$tmp/err"; not_ok "$1"
    fi
}

# control: from a trusted directory it loads, and its constructor runs
mkdir -p "$tmp/good"; cp "$EVIL" "$tmp/good/"; chmod 755 "$tmp/good"; chmod 644 "$tmp/good/t_evil.so"
conf "$tmp/good"
rm -f "$tmp/mark"
"$D" -c "$tmp/c.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 0 ] && [ -e "$tmp/mark" ]; then ok "control: a trusted plugin loads (its constructor ran)"
else not_ok "control: a trusted plugin loads (its constructor ran)"; fi

# a root-owned plugin dir whose t_evil.so is a symlink into a sticky
# world-writable directory, where nobody wrote the file
mkdir -p "$ntmp/sticky" "$tmp/plugins"; chmod 1777 "$ntmp/sticky"; chmod 755 "$tmp/plugins"
cp "$EVIL" "$ntmp/t_evil.so"; chmod 644 "$ntmp/t_evil.so"
runuser -u nobody -- cp "$ntmp/t_evil.so" "$ntmp/sticky/t_evil.so"
runuser -u nobody -- chmod 644 "$ntmp/sticky/t_evil.so"
ln -sf "$ntmp/sticky/t_evil.so" "$tmp/plugins/t_evil.so"
conf "$tmp/plugins"
refused "a symlink to a file nobody wrote in a sticky world-writable dir is refused" \
    "$ntmp/sticky/t_evil.so is owned by uid [0-9]*, not by root or this daemon's user"

# the same file, made root's: the sticky world-writable directory is refused
chown root "$ntmp/sticky/t_evil.so"
refused "a root-owned file in a sticky world-writable directory is refused too" \
    "$ntmp/sticky is writable by group or others"

# a directory nobody owns (0755), named through COLLECTOR_PLUGIN_PATH
mkdir -p "$tmp/theirs"; cp "$EVIL" "$tmp/theirs/"; chmod 644 "$tmp/theirs/t_evil.so"
chown -R nobody "$tmp/theirs"; chmod 755 "$tmp/theirs"
printf 'sources = ( { plugin = "t_evil"; } );\n' > "$tmp/c.conf"
rm -f "$tmp/mark"
COLLECTOR_PLUGIN_PATH="$tmp/theirs" "$D" -c "$tmp/c.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 78 ] && grep -q "t_evil.so: .*is owned by uid" "$tmp/err" && [ ! -e "$tmp/mark" ]; then
    ok "a foreign-owned directory from COLLECTOR_PLUGIN_PATH is refused, nothing of it runs"
else not_ok "a foreign-owned directory from COLLECTOR_PLUGIN_PATH is refused, nothing of it runs"; fi

# a root-owned file in a directory nobody owns
chown root "$tmp/theirs/t_evil.so"
conf "$tmp/theirs"
refused "a root-owned plugin in a directory another user owns is refused" \
    "$tmp/theirs is owned by uid"

# a directory writable by its group
mkdir -p "$tmp/group"; cp "$EVIL" "$tmp/group/"; chmod 644 "$tmp/group/t_evil.so"; chmod 775 "$tmp/group"
conf "$tmp/group"
refused "a group-writable plugin directory is refused" "$tmp/group is writable by group or others"

# the state directory: files in it are written as root
mkdir -p "$tmp/state-open"; chmod 777 "$tmp/state-open"
printf 'collector = { state_dir = "%s"; plugin_dir = "%s"; };\nsources = ( { plugin = "t_evil"; } );\n' \
    "$tmp/state-open" "$tmp/good" > "$tmp/c.conf"
"$D" -c "$tmp/c.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 78 ] && grep -q "state_dir $tmp/state-open: $tmp/state-open is writable by group or others" "$tmp/err"; then
    ok "a state directory others may write to is refused"
else not_ok "a state directory others may write to is refused"; fi

# Issue 25.2: eamoon's .env (JK_DEVICES_FILE) and its directory belong to
# another user, who puts a FIFO where jk_devices.yaml should be. --check
# refuses it at once with one line (before: it waited for a writer, deaf
# to SIGTERM). timeout -k: a daemon deaf to SIGTERM is killed, and fails.
mkdir -p "$tmp/eamoon"; chown nobody "$tmp/eamoon"
as_nobody "$tmp/eamoon" mkfifo jk_devices.yaml
printf 'sources = ( { plugin = "jk_ble"; } );\n' > "$tmp/c.conf"
JK_DEVICES_FILE="$tmp/eamoon/jk_devices.yaml" COLLECTOR_PLUGIN_PATH="$top_builddir/plugins" \
    timeout -k 5 20 "$D" -c "$tmp/c.conf" --check \
    >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 78 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] &&
   grep -q "jk_devices.yaml: a FIFO, not a regular file" "$tmp/err"; then
    ok "another user's FIFO as JK_DEVICES_FILE: refused at once, one line"
else echo "exit $rc" >> "$tmp/err"; not_ok "another user's FIFO as JK_DEVICES_FILE: refused at once, one line"; fi

# Issue 25.1: a config directory another user may write to gets an
# @include "d\\e": libconfig reads d\e, which that user made a directory
# (beside a regular file named d\\e). One line, exit 78, never flex's exit 2.
as_nobody "$tmp/eamoon" mkdir 'd\e'
as_nobody "$tmp/eamoon" sh -c "printf 'sources = ( );\n' > 'd\\\\e'"
printf '@include "d\\\\e"\n' > "$tmp/eamoon/c.conf"
timeout -k 5 20 "$D" -c "$tmp/eamoon/c.conf" --check >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 78 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] &&
   grep -q 'a directory, not a regular file' "$tmp/err"; then
    ok "another user's @include escape trick: exit 78 and one line, not exit 2"
else echo "exit $rc" >> "$tmp/err"; not_ok "another user's @include escape trick: exit 78 and one line, not exit 2"; fi

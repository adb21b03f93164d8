#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the .deb packages from a scratch copy of the source tree, so the tree
# itself stays clean:  etc/debian/build-deb.sh [OUTDIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-deb}
work=$(mktemp -d "${TMPDIR:-/tmp}/collectord-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/collectord-0.1.0" "$out"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$work/collectord-0.1.0")
cp -r "$top/etc/debian" "$work/collectord-0.1.0/debian"
(cd "$work/collectord-0.1.0" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
    tail -n 40 "$work/build.log"; exit 1; }
cp "$work"/*.deb "$out/"
ls "$out"/*.deb

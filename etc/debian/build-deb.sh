#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the .deb packages from a scratch copy of the source tree, so the tree
# itself stays clean:  etc/debian/build-deb.sh [OUTDIR [HOST_ARCH]]
# With HOST_ARCH (armhf, arm64) it cross-builds for that Debian architecture;
# the Build-Depends must then be installed for it (.ci/deps --cross).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-deb}
host_arch=${2:+--host-arch $2}
work=$(mktemp -d "${TMPDIR:-/tmp}/collectord-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/collectord-0.1.0" "$out"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$work/collectord-0.1.0")
cp -r "$top/etc/debian" "$work/collectord-0.1.0/debian"
# shellcheck disable=SC2086 # $host_arch: no word, or two
(cd "$work/collectord-0.1.0" && dpkg-buildpackage -us -uc -b $host_arch >"$work/build.log" 2>&1) || {
    tail -n 40 "$work/build.log"; exit 1; }
cp "$work"/*.deb "$out/"
ls "$out"/*.deb

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# CI's deployment checks (not in make check: they need packaging tools and
# a few minutes): systemd unit, compose file, man pages, Debian packages.
# Run from the top of a configured and built source tree.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
fail=0
stage=$(mktemp -d /tmp/collectord-stage-XXXXXX)
trap 'rm -rf "$stage"' EXIT
say() { echo "deploy: $*"; }

make -s install DESTDIR="$stage" >/dev/null 2>&1 || { say "make install failed"; exit 1; }
unit=$(find "$stage" -name collectord.service | head -n 1)
prefix=$(sed -n 's/^prefix=//p' sdk/collector-sdk.pc)
sed "s|$prefix/|$stage$prefix/|g" "$unit" > "$stage/collectord.service"
if out=$(systemd-analyze verify --man=no "$stage/collectord.service" 2>&1) && [ -z "$out" ]; then
    say "systemd-analyze verify: clean"
else
    say "systemd-analyze verify:"; echo "$out"; fail=1
fi
if docker-compose -f etc/docker/compose.yml config >/dev/null; then
    say "docker-compose config: valid"
else
    fail=1
fi
for m in docs/man/*.[158]; do
    w=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
    if [ -n "$w" ]; then say "$m: $w"; fail=1; fi
done
[ $fail -eq 0 ] && say "man pages render without warnings"
debs=$(mktemp -d /tmp/collectord-debs-XXXXXX)
if bash etc/debian/build-deb.sh "$debs" >/dev/null 2>&1; then
    c=$(dpkg -c "$debs"/collectord_*.deb)
    d=$(dpkg -c "$debs"/collectord-dev_*.deb)
    for f in ./usr/sbin/collectord ./usr/bin/jkbms-util /collector/plugins/jk_ble.so \
             /collector/plugins/sqlite_merge.so ./etc/collector/collector.conf \
             ./usr/lib/systemd/system/collectord.service ./usr/share/man/man5/collector.conf.5; do
        echo "$c" | grep -q -- "$f" || { say "collectord.deb lacks $f"; fail=1; }
    done
    echo "$d" | grep -q ./usr/include/collector/plugin.h || { say "-dev lacks plugin.h"; fail=1; }
    echo "$d" | grep -q collector-sdk.pc || { say "-dev lacks collector-sdk.pc"; fail=1; }
    # the SDK's docs (dh_compress may gzip the longer ones) and its examples, uncompressed
    for f in 'ABI\.md' 'custom-soc\.md' 'records\.md' examples/hello_source/Makefile \
             examples/hello_source/hello_source.c examples/soc_custom/Makefile \
             examples/soc_custom/soc_custom.c; do
        echo "$d" | grep -Eq " \./usr/share/doc/collectord-dev/$f(\.gz)?\$" ||
            { say "-dev lacks usr/share/doc/collectord-dev/$f"; fail=1; }
    done
    echo "$d" | grep -q 'examples/.*\.gz$' && { say "-dev compressed an example"; fail=1; }
    # the man pages name the packaged paths (/etc, /var, the multiarch libdir)
    x="$debs/x"
    dpkg-deb -x "$debs"/collectord_*.deb "$x"
    m8=$(zcat "$x/usr/share/man/man8/collectord.8.gz")
    m5=$(zcat "$x/usr/share/man/man5/collector.conf.5.gz")
    echo "$m8" | grep -q '^\.I /etc/collector/collector\.conf$' || { say "collectord.8 lacks /etc/collector"; fail=1; }
    echo "$m8" | grep -Eq '^\.I /usr/lib/.*/collector/plugins/$' || { say "collectord.8 lacks the plugin dir"; fail=1; }
    echo "$m5" | grep -q '/var/lib/collectord' || { say "collector.conf.5 lacks /var/lib/collectord"; fail=1; }
    if echo "$m8$m5" | grep -n '/usr/local\|%[a-z]*dir%'; then say "a man page names /usr/local or a placeholder"; fail=1; fi
    [ $fail -eq 0 ] && say "dpkg-buildpackage: $(ls "$debs" | tr '\n' ' ')"
else
    say "dpkg-buildpackage failed"; bash etc/debian/build-deb.sh "$debs" 2>&1 | tail -n 20; fail=1
fi
rm -rf "$debs"
exit $fail

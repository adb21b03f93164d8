#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The SDK as a third party uses it: install collectord to a staging prefix,
# find the SDK's docs and examples in $(docdir), build the installed
# examples/hello_source with its own Makefile and pkg-config only, drop the
# .so into a plugin directory and run collectord --once with it.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/oot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "1..8"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/sdk/collector-sdk.pc" 2>/dev/null)
[ -n "$prefix" ] || prefix=/usr/local
stage="$tmp/stage"
if env MAKEFLAGS= make -s -C "$top_builddir" install DESTDIR="$stage" >"$tmp/log" 2>&1 &&
   [ -f "$stage$prefix/include/collector/plugin.h" ]; then
    echo "ok 1 - make install DESTDIR stages the SDK header and collector-sdk.pc"
else
    echo "not ok 1 - make install DESTDIR"; tail -n 5 "$tmp/log" | sed 's/^/# /'; exit 1
fi
# A directory as this tree was configured (GNU make: the Makefile needs it anyway).
configured() {
    env MAKEFLAGS= make -s -C "$top_builddir" --no-print-directory \
        --eval "print-dir: ; @echo \$($1)" print-dir
}
docdir=$(configured docdir)
missing=""
for f in ABI.md custom-soc.md records.md examples/hello_source/hello_source.c \
         examples/hello_source/Makefile examples/soc_custom/soc_custom.c examples/soc_custom/Makefile; do
    cmp -s "$stage$docdir/$f" "$top_srcdir/$(case $f in examples/*) echo sdk/$f;; *) echo docs/$f;; esac)" ||
        missing="$missing $f"
done
if [ -n "$docdir" ] && [ -z "$missing" ]; then
    echo "ok 2 - the SDK docs and examples are installed in docdir ($docdir)"
else
    echo "not ok 2 - docdir '$docdir' lacks or differs:$missing"; exit 1
fi
pcdir=$(dirname "$(find "$stage" -name collector-sdk.pc | head -n 1)")
cp -r "$stage$docdir/examples/hello_source" "$tmp/src"
chmod -R u+w "$tmp/src"
# A PKG_CONFIG wrapper so the example's Makefile sees the staged prefix.
cat > "$tmp/pkg-config" <<PC
#!/bin/sh
exec pkg-config --define-variable=prefix="$stage$prefix" "\$@"
PC
chmod +x "$tmp/pkg-config"
export MAKEFLAGS= MFLAGS= # the example's own make, not a sub-make of this tree
# The configured compiler (make check exports it): the examples' `CC ?= cc`
# never applies, make defines CC, so a cross build would get the host's cc.
CC=${CC:-cc}
if PKG_CONFIG_PATH="$pcdir" make -s -C "$tmp/src" PKG_CONFIG="$tmp/pkg-config" \
       CC="$CC" CFLAGS="-O2 -Werror" >"$tmp/log" 2>&1 &&
   PKG_CONFIG_PATH="$pcdir" make -s -C "$tmp/src" PKG_CONFIG="$tmp/pkg-config" install >>"$tmp/log" 2>&1; then
    echo "ok 3 - the installed example builds with pkg-config --cflags collector-sdk only"
else
    echo "not ok 3 - example build"; tail -n 10 "$tmp/log" | sed 's/^/# /'; exit 1
fi
plugdir=$(PKG_CONFIG_PATH="$pcdir" "$tmp/pkg-config" --variable=plugindir collector-sdk)
if [ -f "$plugdir/hello_source.so" ] &&
   [ "$(nm -D --defined-only "$plugdir/hello_source.so" | awk '$2 == "T" {print $3}')" = "collector_plugin_entry" ]; then
    echo "ok 4 - installed into the SDK's plugindir, exporting only collector_plugin_entry"
else
    echo "not ok 4 - plugindir $plugdir"
fi
cat > "$tmp/c.conf" <<CONF
collector = { plugin_dir = "$plugdir"; state_dir = "$tmp/state"; };
sources = ( { plugin = "hello_source"; greeting = "out of tree"; } );
sinks = ( { plugin = "t_filesink"; file = "$tmp/out.txt"; } );
CONF
if COLLECTOR_PLUGIN_PATH="$top_builddir/tests/abi/plugins" \
   "$stage$prefix/sbin/collectord" -c "$tmp/c.conf" --once 2>"$tmp/err" &&
   grep -q "^hello_source -1 $" "$tmp/out.txt"; then
    echo "ok 5 - the installed collectord loads and runs it"
else
    echo "not ok 5 - run"; cat "$tmp/err" "$tmp/out.txt" 2>/dev/null | sed 's/^/# /'
    exit 1
fi

# The custom SOC example replaces soc_lifepo4: the battery_soc that reaches
# the sink is the NMC curve's.
cp -r "$stage$docdir/examples/soc_custom" "$tmp/soc"
chmod -R u+w "$tmp/soc"
if PKG_CONFIG_PATH="$pcdir" make -s -C "$tmp/soc" PKG_CONFIG="$tmp/pkg-config" \
       CC="$CC" CFLAGS="-O2 -Werror" >"$tmp/log" 2>&1 &&
   PKG_CONFIG_PATH="$pcdir" make -s -C "$tmp/soc" PKG_CONFIG="$tmp/pkg-config" install >>"$tmp/log" 2>&1; then
    echo "ok 6 - the installed examples/soc_custom builds out of tree"
else
    echo "not ok 6 - soc_custom build"; tail -n 10 "$tmp/log" | sed 's/^/# /'; exit 1
fi
cat > "$tmp/soc.conf" <<CONF
collector = { plugin_dir = "$plugdir"; state_dir = "$tmp/state"; };
sources = ( { plugin = "jk_replay"; name = "battery1";
              file = "$top_srcdir/etc/demo/jk_pb2a16s15p.hex"; } );
calculators = ( { plugin = "soc_custom"; } );
sinks = ( { plugin = "sqlite_merge"; path = "$tmp/inverter.db"; mode = "append"; } );
CONF
python3 - "$tmp/inverter.db" <<PY
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, payload TEXT, error TEXT)")
con.execute("INSERT INTO readings (created_at, payload) VALUES ('2026-01-15T16:43:23', ?)", (json.dumps({"battery_soc": "87"}),))
con.commit()
PY
# average cell 3.231 V: NMC curve 3.00..3.50 V = 0..10 % -> 4.6 % -> "5"
# (soc_lifepo4 would say 46)
soc=$("$stage$prefix/sbin/collectord" -c "$tmp/soc.conf" --once 2>"$tmp/err" &&
      python3 -c "import json,sqlite3,sys; print(json.loads(sqlite3.connect(sys.argv[1]).execute('SELECT payload FROM readings ORDER BY id DESC LIMIT 1').fetchone()[0])['battery_soc'])" "$tmp/inverter.db")
if [ "$soc" = "5" ]; then
    echo "ok 7 - the battery_soc reaching the sink is the drop-in plugin's"
else
    echo "not ok 7 - battery_soc = '$soc'"; sed 's/^/# /' "$tmp/err"; exit 1
fi

# The installed man pages name the configured paths (roff writes "-" as "\-").
mandir=$(configured mandir)
roff() { printf '%s\n' "$1" | sed 's/-/\\-/g'; }
conf8="$stage$mandir/man8/collectord.8"
conf5="$stage$mandir/man5/collector.conf.5"
if grep -qF "$(roff "$(configured confdir)")/collector.conf" "$conf8" &&
   grep -qF "$(roff "$(configured plugindir)")/" "$conf8" &&
   grep -qF "$(roff "$(configured collectorstatedir)")" "$conf5" &&
   ! grep -n '%[a-z]*dir%' "$conf8" "$conf5"; then
    echo "ok 8 - the man pages name the configured paths"
else
    echo "not ok 8 - man pages:"; grep -n 'collector' "$conf8" | sed 's/^/# /'
fi

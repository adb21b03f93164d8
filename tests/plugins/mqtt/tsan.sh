#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make tsan-mqtt`: the mqtt sink's glue test (a fake Paho calling back on
# threads of its own, stop() while callbacks are in flight) built with
# ThreadSanitizer in a tree of its own (TSan and ASan do not mix), and run.
# Not part of `make check`: it configures and builds a second tree.
set -eu
src=$(cd "${top_srcdir:-.}" && pwd)
out=${TSAN_TREE:-$(pwd)/tests/tmp/tsan-mqtt}
umask 022
rm -rf "$out"
mkdir -p "$out"
(cd "$src" && git ls-files -z | xargs -0 tar -c) | tar -x -C "$out"
chmod -R go-w "$out" # the plugin loader refuses group-writable directories
cd "$out"
./autogen.sh >autogen.log 2>&1
./configure CFLAGS="-fsanitize=thread -g -O1" LDFLAGS="-fsanitize=thread" >configure.log 2>&1
make -j2 plugins/mqtt/mqtt.so tests/plugins/mqtt/test_mqtt_sink >make.log 2>&1
COLLECTOR_PLUGIN_PATH="$out/plugins" CMOCKA_MESSAGE_OUTPUT=TAP TSAN_OPTIONS=halt_on_error=1 \
    tests/plugins/mqtt/test_mqtt_sink

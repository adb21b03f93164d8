# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/influxdb: InfluxDB line protocol over HTTP(S) (libcurl)
noinst_LIBRARIES += plugins/influxdb/liblineproto.a
plugins_influxdb_liblineproto_a_SOURCES = plugins/influxdb/line_protocol.c \
	plugins/influxdb/line_protocol.h
plugins_influxdb_liblineproto_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)

plugin_PROGRAMS += plugins/influxdb/influxdb.so
plugins_influxdb_influxdb_so_SOURCES = plugins/influxdb/influxdb.c \
	plugins/influxdb/influx_send.c plugins/influxdb/influx_send.h
plugins_influxdb_influxdb_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(LIBCURL_CFLAGS) $(JANSSON_CFLAGS)
plugins_influxdb_influxdb_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_influxdb_influxdb_so_LDADD = plugins/influxdb/liblineproto.a $(SAFEOPEN_LIBS) \
	$(LIBCURL_LIBS) $(JANSSON_LIBS)

check_PROGRAMS += tests/plugins/influxdb/test_line_protocol
TESTS += tests/plugins/influxdb/test_line_protocol
tests_plugins_influxdb_test_line_protocol_SOURCES = tests/plugins/influxdb/test_line_protocol.c
tests_plugins_influxdb_test_line_protocol_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_plugins_influxdb_test_line_protocol_LDADD = plugins/influxdb/liblineproto.a $(CMOCKA_LIBS) -lm

# against a real influxd (Debian's influxdb) and a listener of the test's own
TESTS += tests/plugins/influxdb/influxdb_e2e.py tests/plugins/influxdb/influxdb_http.py \
	tests/plugins/influxdb/influxdb_env.py
dist_noinst_SCRIPTS += tests/plugins/influxdb/influxdb_e2e.py \
	tests/plugins/influxdb/influxdb_http.py tests/plugins/influxdb/influxdb_env.py
dist_noinst_DATA += tests/plugins/influxdb/influx_fixtures.py
EXTRA_DIST += etc/grafana/collectord.json

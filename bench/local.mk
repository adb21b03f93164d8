# SPDX-License-Identifier: GPL-2.0-or-later
# bench/: `make bench` prints one JSON object per line
EXTRA_PROGRAMS += bench/bench_decode bench/bench_sqlite bench/bench_ble bench/bench_cycle bench/bench_mqtt bench/bench_footprint \
	bench/bench_poll bench/bench_influxdb bench/bench_pylon
BENCH_BINS += bench/bench_decode bench/bench_sqlite bench/bench_ble bench/bench_cycle bench/bench_mqtt bench/bench_footprint \
	bench/bench_poll bench/bench_influxdb bench/bench_pylon
bench_bench_decode_SOURCES = bench/bench_decode.c bench/bench_util.h
bench_bench_decode_LDADD = $(LIBJK_LIBS)
bench_bench_sqlite_SOURCES = bench/bench_sqlite.c bench/bench_util.h
bench_bench_sqlite_CFLAGS = $(TESTHOST_CFLAGS) $(SQLITE3_CFLAGS)
bench_bench_sqlite_LDADD = $(TESTHOST_LIBS) $(SQLITE3_LIBS)
CLEANFILES += $(BENCH_BINS)
bench_bench_ble_SOURCES = bench/bench_ble.c
bench_bench_ble_LDADD = $(JKBLE_LIBS)
bench_bench_cycle_SOURCES = bench/bench_cycle.c bench/bench_util.h
bench_bench_cycle_CFLAGS = $(TESTHOST_CFLAGS) $(SQLITE3_CFLAGS)
bench_bench_cycle_LDADD = $(TESTHOST_LIBS) $(SQLITE3_LIBS)
bench_bench_mqtt_SOURCES = bench/bench_mqtt.c bench/bench_util.h
bench_bench_mqtt_CFLAGS = $(TESTHOST_CFLAGS)
bench_bench_mqtt_LDADD = $(TESTHOST_LIBS)
bench_bench_footprint_SOURCES = bench/bench_footprint.c bench/bench_util.h
bench_bench_footprint_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS)
bench_bench_footprint_LDADD = $(SQLITE3_LIBS)
bench_bench_poll_SOURCES = bench/bench_poll.c bench/bench_util.h
bench_bench_poll_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS)
bench_bench_poll_LDADD = $(SQLITE3_LIBS)
bench_bench_influxdb_SOURCES = bench/bench_influxdb.c bench/bench_util.h
bench_bench_influxdb_CFLAGS = $(TESTHOST_CFLAGS)
bench_bench_influxdb_LDADD = $(TESTHOST_LIBS)
bench_bench_pylon_SOURCES = bench/bench_pylon.c bench/bench_util.h
bench_bench_pylon_CFLAGS = $(TESTHOST_CFLAGS)
bench_bench_pylon_LDADD = $(TESTHOST_LIBS)

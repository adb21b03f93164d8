# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libjk: the JK BMS protocol (framing, decoders, variant detection,
# captures, the record mapping), shared by jk_ble, jk_replay and jkbms-util.
noinst_LIBRARIES += plugins/libjk/libjk.a
plugins_libjk_libjk_a_SOURCES = \
	plugins/libjk/jk_bytes.h \
	plugins/libjk/jk_frame.c plugins/libjk/jk_frame.h \
	plugins/libjk/jk_control.c plugins/libjk/jk_control.h \
	plugins/libjk/jk_command.c plugins/libjk/jk_command.h \
	plugins/libjk/jk_decode.c plugins/libjk/jk_decode.h \
	plugins/libjk/jk_stream.c plugins/libjk/jk_stream.h \
	plugins/libjk/jk_metrics.c plugins/libjk/jk_metrics.h \
	plugins/libjk/jk_plaus.c plugins/libjk/jk_plaus.h \
	plugins/libjk/jk_capture.c plugins/libjk/jk_capture.h \
	plugins/libjk/jk_report.c plugins/libjk/jk_report.h \
	plugins/libjk/jk_uart.c plugins/libjk/jk_uart.h
plugins_libjk_libjk_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(JANSSON_CFLAGS)
LIBJK_LIBS = plugins/libjk/libjk.a $(JANSSON_LIBS) -lm

check_PROGRAMS += tests/plugins/libjk/test_libjk
TESTS += tests/plugins/libjk/test_libjk
tests_plugins_libjk_test_libjk_SOURCES = tests/plugins/libjk/test_libjk.c
tests_plugins_libjk_test_libjk_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_plugins_libjk_test_libjk_LDADD = $(LIBJK_LIBS) $(CMOCKA_LIBS) $(LIBS)

check_PROGRAMS += tests/plugins/libjk/test_jk_wired
TESTS += tests/plugins/libjk/test_jk_wired
tests_plugins_libjk_test_jk_wired_SOURCES = tests/plugins/libjk/test_jk_wired.c
tests_plugins_libjk_test_jk_wired_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_plugins_libjk_test_jk_wired_LDADD = $(LIBJK_LIBS) $(CMOCKA_LIBS) $(LIBS)

EXTRA_DIST += tests/data/jk/README.md $(wildcard $(srcdir)/tests/data/jk/*.hex) \
	$(wildcard $(srcdir)/tests/data/jk/*.json)
TESTS += tests/plugins/libjk/jkbms_util.sh
dist_noinst_SCRIPTS += tests/plugins/libjk/jkbms_util.sh

check_PROGRAMS += tests/plugins/libjk/test_jk_plaus
TESTS += tests/plugins/libjk/test_jk_plaus
tests_plugins_libjk_test_jk_plaus_SOURCES = tests/plugins/libjk/test_jk_plaus.c
tests_plugins_libjk_test_jk_plaus_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS)
tests_plugins_libjk_test_jk_plaus_LDADD = $(LIBJK_LIBS) $(CMOCKA_LIBS) $(LIBS)

check_PROGRAMS += tests/plugins/libjk/test_jk_control
TESTS += tests/plugins/libjk/test_jk_control
tests_plugins_libjk_test_jk_control_SOURCES = tests/plugins/libjk/test_jk_control.c
tests_plugins_libjk_test_jk_control_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_plugins_libjk_test_jk_control_LDADD = $(LIBJK_LIBS) $(CMOCKA_LIBS) $(LIBS)

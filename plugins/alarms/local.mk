# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/alarms: thresholds with hysteresis and the BMS's own error bits
plugin_PROGRAMS += plugins/alarms/alarms.so
plugins_alarms_alarms_so_SOURCES = plugins/alarms/alarms.c
plugins_alarms_alarms_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_alarms_alarms_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_alarms_alarms_so_LDADD = $(PLUGKIT_LIBS)

check_PROGRAMS += tests/plugins/alarms/test_alarms
TESTS += tests/plugins/alarms/test_alarms
tests_plugins_alarms_test_alarms_SOURCES = tests/plugins/alarms/test_alarms.c
tests_plugins_alarms_test_alarms_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_alarms_test_alarms_LDADD = $(TESTHOST_LIBS)

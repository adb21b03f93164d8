# SPDX-License-Identifier: GPL-2.0-or-later
# tests/abi: plugins built for the loader and daemon tests (tests/core/daemon.sh)
TPLUG_COMPILE = $(PLUGIN_COMPILE_FLAGS)
TPLUG_LINK = $(PLUGIN_LINK_FLAGS)
TPLUG_SRC = tests/abi/testplug.c
# Working plugins. t_counter is built against the frozen 1.0 header, so an
# "old" plugin keeps loading as the ABI grows.
check_PROGRAMS += tests/abi/plugins/t_counter.so tests/abi/plugins/t_trail.so \
	tests/abi/plugins/t_filesink.so
tests_abi_plugins_t_counter_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_counter_so_CPPFLAGS = $(COLLECTOR_TIME_CPPFLAGS) -I$(top_srcdir)/tests/abi/frozen-1.0 -DTP_COUNTER -DTP_NAME=t_counter
tests_abi_plugins_t_counter_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_counter_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_t_trail_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_trail_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_TRAIL -DTP_NAME=t_trail
tests_abi_plugins_t_trail_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_trail_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_t_filesink_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_filesink_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_FILESINK -DTP_NAME=t_filesink
tests_abi_plugins_t_filesink_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_filesink_so_LDFLAGS = $(TPLUG_LINK)
# ABI 1.2 commands (tests/core/control.sh): a source with a simulated switch,
# and sinks built against the frozen 1.0 and 1.1 headers, which load and
# never see an event; t_counter11 is a 1.1 source.
check_PROGRAMS += tests/abi/plugins/t_switch.so tests/abi/plugins/t_filesink10.so \
	tests/abi/plugins/t_filesink11.so tests/abi/plugins/t_counter11.so \
	tests/abi/plugins/t_trail10.so
tests_abi_plugins_t_switch_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_switch_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_SWITCH -DTP_NAME=t_switch
tests_abi_plugins_t_switch_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_switch_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_t_filesink10_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_filesink10_so_CPPFLAGS = $(COLLECTOR_TIME_CPPFLAGS) -I$(top_srcdir)/tests/abi/frozen-1.0 -DTP_FILESINK -DTP_NAME=t_filesink10
tests_abi_plugins_t_filesink10_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_filesink10_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_t_filesink11_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_filesink11_so_CPPFLAGS = $(COLLECTOR_TIME_CPPFLAGS) -I$(top_srcdir)/tests/abi/frozen-1.1 -DTP_FILESINK -DTP_NAME=t_filesink11
tests_abi_plugins_t_filesink11_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_filesink11_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_t_trail10_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_trail10_so_CPPFLAGS = $(COLLECTOR_TIME_CPPFLAGS) -I$(top_srcdir)/tests/abi/frozen-1.0 -DTP_TRAIL -DTP_NAME=t_trail10
tests_abi_plugins_t_trail10_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_trail10_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_t_counter11_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_counter11_so_CPPFLAGS = $(COLLECTOR_TIME_CPPFLAGS) -I$(top_srcdir)/tests/abi/frozen-1.1 -DTP_COUNTER -DTP_NAME=t_counter11
tests_abi_plugins_t_counter11_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_counter11_so_LDFLAGS = $(TPLUG_LINK)
# A source whose constructor leaves a mark: the loader's trust tests.
check_PROGRAMS += tests/abi/plugins/t_evil.so
tests_abi_plugins_t_evil_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_t_evil_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_COUNTER -DTP_EVIL -DTP_NAME=t_evil
tests_abi_plugins_t_evil_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_t_evil_so_LDFLAGS = $(TPLUG_LINK)
# Broken ones, each refused for one reason.
check_PROGRAMS += tests/abi/plugins/bad_major.so tests/abi/plugins/bad_minor.so \
	tests/abi/plugins/bad_size.so tests/abi/plugins/bad_null.so tests/abi/plugins/bad_entry.so
tests_abi_plugins_bad_major_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_bad_major_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_COUNTER -DTP_NAME=bad_major -DTP_MAJOR=2
tests_abi_plugins_bad_major_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_bad_major_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_bad_minor_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_bad_minor_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_COUNTER -DTP_NAME=bad_minor -DTP_MINOR=99
tests_abi_plugins_bad_minor_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_bad_minor_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_bad_size_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_bad_size_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_COUNTER -DTP_NAME=bad_size -DTP_SHORT
tests_abi_plugins_bad_size_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_bad_size_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_bad_null_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_bad_null_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_COUNTER -DTP_NAME=bad_null -DTP_NULL
tests_abi_plugins_bad_null_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_bad_null_so_LDFLAGS = $(TPLUG_LINK)
tests_abi_plugins_bad_entry_so_SOURCES = $(TPLUG_SRC)
tests_abi_plugins_bad_entry_so_CPPFLAGS = $(AM_CPPFLAGS) -DTP_COUNTER -DTP_NAME=bad_entry -DTP_NO_ENTRY
tests_abi_plugins_bad_entry_so_CFLAGS = $(TPLUG_COMPILE)
tests_abi_plugins_bad_entry_so_LDFLAGS = $(TPLUG_LINK)

EXTRA_DIST += tests/abi/frozen-1.0/collector/plugin.h tests/abi/frozen-1.1/collector/plugin.h
check_PROGRAMS += tests/abi/test_layout
TESTS += tests/abi/test_layout
tests_abi_test_layout_SOURCES = tests/abi/test_layout.c
tests_abi_test_layout_CFLAGS = $(AM_CFLAGS) -pedantic $(CMOCKA_CFLAGS)
tests_abi_test_layout_LDADD = $(CMOCKA_LIBS)

# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libpylon: the Pylontech LV protocols (RS485 frames and replies, CAN frames), pure code
noinst_LIBRARIES += plugins/libpylon/libpylon.a
plugins_libpylon_libpylon_a_SOURCES = plugins/libpylon/pylon.h plugins/libpylon/pylon_rs485.c \
	plugins/libpylon/pylon_can.c
plugins_libpylon_libpylon_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
LIBPYLON_LIBS = plugins/libpylon/libpylon.a

check_PROGRAMS += tests/plugins/pylontech/test_pylon
TESTS += tests/plugins/pylontech/test_pylon
tests_plugins_pylontech_test_pylon_SOURCES = tests/plugins/pylontech/test_pylon.c
tests_plugins_pylontech_test_pylon_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_plugins_pylontech_test_pylon_LDADD = $(LIBPYLON_LIBS) $(CMOCKA_LIBS)

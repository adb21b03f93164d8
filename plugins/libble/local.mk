# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libble: ATT/GATT client over any fd, the kernel's management
# packets (discovery), LE advertising data,
# and the socket code (L2CAP via libbluetooth, or unix:PATH for a simulator)
noinst_LIBRARIES += plugins/libble/libble.a
plugins_libble_libble_a_SOURCES = \
	plugins/libble/att.c plugins/libble/att.h \
	plugins/libble/gatt.c plugins/libble/gatt.h \
	plugins/libble/adv.c plugins/libble/adv.h \
	plugins/libble/mgmt.c plugins/libble/mgmt.h \
	plugins/libble/transport.c plugins/libble/transport.h
plugins_libble_libble_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(BLUEZ_CFLAGS)
LIBBLE_LIBS = plugins/libble/libble.a $(BLUEZ_LIBS)

check_PROGRAMS += tests/plugins/libble/test_libble
TESTS += tests/plugins/libble/test_libble
tests_plugins_libble_test_libble_SOURCES = tests/plugins/libble/test_libble.c
tests_plugins_libble_test_libble_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_plugins_libble_test_libble_LDADD = $(LIBBLE_LIBS) $(CMOCKA_LIBS) $(LIBS)

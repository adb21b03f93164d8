# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/jk_serial: JK BMS over RS485 Modbus RTU or the 0x4E57 UART protocol (libjkwire).
plugin_PROGRAMS += plugins/jk_serial/jk_serial.so
plugins_jk_serial_jk_serial_so_SOURCES = plugins/jk_serial/jk_serial.c
plugins_jk_serial_jk_serial_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_jk_serial_jk_serial_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_jk_serial_jk_serial_so_LDADD = $(JKWIRE_LIBS)

TESTS += tests/plugins/jk_serial/jk_serial_e2e.py
dist_noinst_SCRIPTS += tests/plugins/jk_serial/jk_serial_e2e.py tests/plugins/jk_serial/jk_serial_sim.py
EXTRA_DIST += tests/data/jk-uart/README.md $(wildcard $(srcdir)/tests/data/jk-uart/*.pdu) \
	$(wildcard $(srcdir)/tests/data/jk-uart/*.json)

check_PROGRAMS += tests/plugins/jk_serial/test_jk_serial
TESTS += tests/plugins/jk_serial/test_jk_serial
tests_plugins_jk_serial_test_jk_serial_SOURCES = tests/plugins/jk_serial/test_jk_serial.c
tests_plugins_jk_serial_test_jk_serial_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_jk_serial_test_jk_serial_LDADD = $(TESTHOST_LIBS)

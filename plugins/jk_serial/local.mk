# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/jk_serial: JK BMS over RS485 Modbus RTU or the 0x4E57 UART protocol (libjkwire).
plugin_PROGRAMS += plugins/jk_serial/jk_serial.so
plugins_jk_serial_jk_serial_so_SOURCES = plugins/jk_serial/jk_serial.c
plugins_jk_serial_jk_serial_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_jk_serial_jk_serial_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_jk_serial_jk_serial_so_LDADD = $(JKWIRE_LIBS)

TESTS += tests/plugins/jk_serial/jk_serial_e2e.py tests/plugins/jk_serial/jk_serial_field.py \
	tests/plugins/jk_serial/jk_switch_e2e.py
dist_noinst_SCRIPTS += tests/plugins/jk_serial/jk_serial_e2e.py tests/plugins/jk_serial/jk_serial_sim.py \
	tests/plugins/jk_serial/jk_serial_field.py tests/plugins/jk_serial/jk_switch_e2e.py \
	tests/plugins/jk_serial/jk_switch_sim.py

# `make soak-wired`: the field bus of jk_serial_field.py, 600 polls at 1 s by default
# (SOAK_WIRED_POLLS=N; four readers share the bus lock, so 300 take about ten minutes).
SOAK_WIRED_POLLS = 600
soak-wired: core/collectord tools/jkbms-util/jkbms-util $(plugin_PROGRAMS)
	$(MKDIR_P) tests/tmp
	TMPDIR='$(abs_top_builddir)/tests/tmp' top_srcdir='$(abs_top_srcdir)' \
	top_builddir='$(abs_top_builddir)' COLLECTOR_PLUGIN_PATH='$(abs_top_builddir)/plugins' \
	$(PYTHON3) $(srcdir)/tests/plugins/jk_serial/jk_serial_field.py --polls $(SOAK_WIRED_POLLS)
.PHONY: soak-wired
EXTRA_DIST += tests/data/jk-uart/README.md $(wildcard $(srcdir)/tests/data/jk-uart/*.pdu) \
	$(wildcard $(srcdir)/tests/data/jk-uart/*.json)

check_PROGRAMS += tests/plugins/jk_serial/test_jk_serial
TESTS += tests/plugins/jk_serial/test_jk_serial
tests_plugins_jk_serial_test_jk_serial_SOURCES = tests/plugins/jk_serial/test_jk_serial.c
tests_plugins_jk_serial_test_jk_serial_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_jk_serial_test_jk_serial_LDADD = $(TESTHOST_LIBS)

check_PROGRAMS += tests/plugins/jk_serial/test_jk_serial_command
TESTS += tests/plugins/jk_serial/test_jk_serial_command
tests_plugins_jk_serial_test_jk_serial_command_SOURCES = tests/plugins/jk_serial/test_jk_serial_command.c
tests_plugins_jk_serial_test_jk_serial_command_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_jk_serial_test_jk_serial_command_LDADD = $(TESTHOST_LIBS) -lutil

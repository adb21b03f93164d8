# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/jk_ble: JK BMS over Bluetooth LE
plugin_PROGRAMS += plugins/jk_ble/jk_ble.so
plugins_jk_ble_jk_ble_so_SOURCES = plugins/jk_ble/jk_ble.c
plugins_jk_ble_jk_ble_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_jk_ble_jk_ble_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_jk_ble_jk_ble_so_LDADD = $(JKBLE_LIBS)

TESTS += tests/plugins/jk_ble/jk_ble_e2e.py tests/plugins/jk_ble/jk_scan_e2e.py \
	tests/plugins/jk_ble/jk_name_e2e.py tests/plugins/jk_ble/jk_control_e2e.py
dist_noinst_SCRIPTS += tests/plugins/jk_ble/jk_ble_e2e.py tests/plugins/jk_ble/jk_sim.py \
	tests/plugins/jk_ble/jk_control_e2e.py \
	tests/plugins/jk_ble/jk_scan_e2e.py tests/plugins/jk_ble/mgmt_sim.py \
	tests/plugins/jk_ble/jk_name_e2e.py
EXTRA_DIST += tests/plugins/jk_ble/sims.py

check_PROGRAMS += tests/plugins/jk_ble/test_jk_devices
TESTS += tests/plugins/jk_ble/test_jk_devices
tests_plugins_jk_ble_test_jk_devices_SOURCES = tests/plugins/jk_ble/test_jk_devices.c
tests_plugins_jk_ble_test_jk_devices_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_plugins_jk_ble_test_jk_devices_LDADD = $(JKBLE_LIBS) $(CMOCKA_LIBS) $(LIBS)

check_PROGRAMS += tests/plugins/jk_ble/test_jk_ble_command
TESTS += tests/plugins/jk_ble/test_jk_ble_command
tests_plugins_jk_ble_test_jk_ble_command_SOURCES = tests/plugins/jk_ble/test_jk_ble_command.c
tests_plugins_jk_ble_test_jk_ble_command_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_jk_ble_test_jk_ble_command_LDADD = $(TESTHOST_LIBS)

# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libjkble: a JK BMS session over BLE (connect, subscribe, frames),
# jk_devices.yaml, and discovery; used by jk_ble and jkbms-util.
noinst_LIBRARIES += plugins/libjkble/libjkble.a
plugins_libjkble_libjkble_a_SOURCES = plugins/libjkble/jk_session.c plugins/libjkble/jk_session.h \
	plugins/libjkble/jk_devices.c plugins/libjkble/jk_devices.h \
	plugins/libjkble/jk_scan.c plugins/libjkble/jk_scan.h
plugins_libjkble_libjkble_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(BLUEZ_CFLAGS) $(YAML_CFLAGS)
JKBLE_LIBS = plugins/libjkble/libjkble.a $(LIBBLE_LIBS) $(YAML_LIBS) $(LIBJK_LIBS) $(SAFEOPEN_LIBS)

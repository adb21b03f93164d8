# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libjkwire: JK BMS over a wire, RS485 Modbus RTU (our own RTU exchanges: whole-exchange deadlines, the stop fd) and the
# 0x4E57 UART protocol; used by jk_serial and jkbms-util --serial.
noinst_LIBRARIES += plugins/libjkwire/libjkwire.a
plugins_libjkwire_libjkwire_a_SOURCES = plugins/libjkwire/jk_wire.c plugins/libjkwire/jk_wire.h \
	plugins/libjkwire/jk_wire_switch.c plugins/libjkwire/jk_wire_switch.h
plugins_libjkwire_libjkwire_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
JKWIRE_LIBS = plugins/libjkwire/libjkwire.a $(LIBJK_LIBS)

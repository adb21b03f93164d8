# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libstate: a state file written by a thread of the instance's own
# (through api->state_write), so no pipeline thread waits on an fsync
noinst_LIBRARIES += plugins/libstate/libstate.a
plugins_libstate_libstate_a_SOURCES = plugins/libstate/state_writer.c \
	plugins/libstate/state_writer.h
plugins_libstate_libstate_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)

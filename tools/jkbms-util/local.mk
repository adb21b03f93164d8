# SPDX-License-Identifier: GPL-2.0-or-later
# tools/jkbms-util: find, read and decode JK BMS devices from the command line.
bin_PROGRAMS += tools/jkbms-util/jkbms-util
tools_jkbms_util_jkbms_util_SOURCES = tools/jkbms-util/jkbms_util.c
tools_jkbms_util_jkbms_util_LDADD = $(JKBLE_LIBS) $(JKWIRE_LIBS)
tools_jkbms_util_jkbms_util_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

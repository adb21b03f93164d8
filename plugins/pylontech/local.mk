# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/pylontech: the inverter link, a Pylontech-compatible battery over RS485 or CAN
plugin_PROGRAMS += plugins/pylontech/pylontech.so
plugins_pylontech_pylontech_so_SOURCES = plugins/pylontech/pylontech.c \
	plugins/pylontech/links.c plugins/pylontech/links.h
plugins_pylontech_pylontech_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_pylontech_pylontech_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_pylontech_pylontech_so_LDADD = $(LIBPYLON_LIBS) $(PLUGKIT_LIBS) -lm

TESTS += tests/plugins/pylontech/pylon_e2e.py
dist_noinst_SCRIPTS += tests/plugins/pylontech/pylon_e2e.py tests/plugins/pylontech/pylon_client.py

# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/charge_limits: charge and discharge limits per battery and per bank
plugin_PROGRAMS += plugins/charge_limits/charge_limits.so
plugins_charge_limits_charge_limits_so_SOURCES = plugins/charge_limits/charge_limits.c \
	plugins/charge_limits/limits.c plugins/charge_limits/limits.h
plugins_charge_limits_charge_limits_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_charge_limits_charge_limits_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_charge_limits_charge_limits_so_LDADD = $(PLUGKIT_LIBS) -lm

check_PROGRAMS += tests/plugins/charge_limits/test_charge_limits
TESTS += tests/plugins/charge_limits/test_charge_limits
tests_plugins_charge_limits_test_charge_limits_SOURCES = \
	tests/plugins/charge_limits/test_charge_limits.c plugins/charge_limits/limits.c
tests_plugins_charge_limits_test_charge_limits_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_charge_limits_test_charge_limits_LDADD = $(PLUGKIT_LIBS) $(TESTHOST_LIBS) -lm

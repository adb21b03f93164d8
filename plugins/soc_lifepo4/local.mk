# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/soc_lifepo4: SOC from a voltage curve (plugins/libsoccurve)
plugin_PROGRAMS += plugins/soc_lifepo4/soc_lifepo4.so
plugins_soc_lifepo4_soc_lifepo4_so_SOURCES = plugins/soc_lifepo4/soc_lifepo4.c
plugins_soc_lifepo4_soc_lifepo4_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_soc_lifepo4_soc_lifepo4_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_soc_lifepo4_soc_lifepo4_so_LDADD = plugins/libsoccurve/libsoccurve.a -lm

check_PROGRAMS += tests/plugins/soc/test_soc_lifepo4
TESTS += tests/plugins/soc/test_soc_lifepo4
tests_plugins_soc_test_soc_lifepo4_SOURCES = tests/plugins/soc/test_soc_lifepo4.c
tests_plugins_soc_test_soc_lifepo4_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_soc_test_soc_lifepo4_LDADD = $(TESTHOST_LIBS)

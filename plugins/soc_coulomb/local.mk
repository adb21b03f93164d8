# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/soc_coulomb: SOC by coulomb counting
plugin_PROGRAMS += plugins/soc_coulomb/soc_coulomb.so
plugins_soc_coulomb_soc_coulomb_so_SOURCES = plugins/soc_coulomb/soc_coulomb.c
plugins_soc_coulomb_soc_coulomb_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_soc_coulomb_soc_coulomb_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_soc_coulomb_soc_coulomb_so_LDADD = plugins/libsoccurve/libsoccurve.a \
	$(PLUGKIT_LIBS) -lm

check_PROGRAMS += tests/plugins/soc/test_soc_coulomb
TESTS += tests/plugins/soc/test_soc_coulomb
tests_plugins_soc_test_soc_coulomb_SOURCES = tests/plugins/soc/test_soc_coulomb.c
tests_plugins_soc_test_soc_coulomb_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_soc_test_soc_coulomb_LDADD = $(TESTHOST_LIBS)
EXTRA_DIST += sdk/examples/soc_custom/soc_custom.c sdk/examples/soc_custom/Makefile \
	docs/custom-soc.md

# plugins/soc_lifepo4: SOC from a voltage curve (the curve code is shared)
noinst_LIBRARIES += plugins/soc_lifepo4/libsoccurve.a
plugins_soc_lifepo4_libsoccurve_a_SOURCES = plugins/soc_lifepo4/soc_curve.c \
	plugins/soc_lifepo4/soc_curve.h
plugins_soc_lifepo4_libsoccurve_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)

plugin_PROGRAMS += plugins/soc_lifepo4/soc_lifepo4.so
plugins_soc_lifepo4_soc_lifepo4_so_SOURCES = plugins/soc_lifepo4/soc_lifepo4.c
plugins_soc_lifepo4_soc_lifepo4_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_soc_lifepo4_soc_lifepo4_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_soc_lifepo4_soc_lifepo4_so_LDADD = plugins/soc_lifepo4/libsoccurve.a -lm

check_PROGRAMS += tests/plugins/soc/test_soc_lifepo4
TESTS += tests/plugins/soc/test_soc_lifepo4
tests_plugins_soc_test_soc_lifepo4_SOURCES = tests/plugins/soc/test_soc_lifepo4.c
tests_plugins_soc_test_soc_lifepo4_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_soc_test_soc_lifepo4_LDADD = $(TESTHOST_LIBS)

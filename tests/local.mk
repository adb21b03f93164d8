# SPDX-License-Identifier: GPL-2.0-or-later
# tests/: shared test support. Each component adds its own tests in its local.mk.
#
# A plugin test is a cmocka program (one group per binary, TAP output) linked with
#   prog_CFLAGS = $(TESTHOST_CFLAGS)
#   prog_LDADD  = $(TESTHOST_LIBS)
# and listed in check_PROGRAMS and TESTS.
check_LIBRARIES += tests/support/libtesthost.a
tests_support_libtesthost_a_SOURCES = tests/support/testhost.c tests/support/testhost.h
tests_support_libtesthost_a_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(CMOCKA_CFLAGS)

TESTHOST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests/support
TESTHOST_LIBS = tests/support/libtesthost.a core/libcollector_core.a $(JANSSON_LIBS) \
	$(LIBCONFIG_LIBS) $(CMOCKA_LIBS) $(LIBS)

# Unit tests of the host-side modules (records, settings, host API).
HOST_TEST_LDADD = core/libcollector_core.a $(JANSSON_LIBS) $(LIBCONFIG_LIBS) $(CMOCKA_LIBS) $(LIBS)
check_PROGRAMS += tests/host/test_record tests/host/test_settings
TESTS += tests/host/test_record tests/host/test_settings
tests_host_test_record_SOURCES = tests/host/test_record.c
tests_host_test_record_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_host_test_record_LDADD = $(HOST_TEST_LDADD)
tests_host_test_settings_SOURCES = tests/host/test_settings.c
tests_host_test_settings_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_host_test_settings_LDADD = $(HOST_TEST_LDADD)
check_PROGRAMS += tests/host/test_ctlproto
TESTS += tests/host/test_ctlproto
tests_host_test_ctlproto_SOURCES = tests/host/test_ctlproto.c
tests_host_test_ctlproto_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_host_test_ctlproto_LDADD = $(HOST_TEST_LDADD)
# A failing clock: the core's clock_gettime calls go through the test's wrapper
# (__clock_gettime64 is the name with _TIME_BITS=64 on 32-bit glibc).
check_PROGRAMS += tests/host/test_clock
TESTS += tests/host/test_clock
tests_host_test_clock_SOURCES = tests/host/test_clock.c
tests_host_test_clock_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_host_test_clock_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=clock_gettime -Wl,--wrap=__clock_gettime64
tests_host_test_clock_LDADD = $(HOST_TEST_LDADD)

# `make soak`: minutes, not part of make check (tests/soak/soak.py).
soak: core/collectord $(plugin_PROGRAMS)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	COLLECTOR_PLUGIN_PATH='$(abs_top_builddir)/plugins' COLLECTOR_INTERVAL_FLOOR_MS=10 \
	$(PYTHON3) $(srcdir)/tests/soak/soak.py $(SOAK_FLAGS)
.PHONY: soak
dist_noinst_SCRIPTS += tests/soak/soak.py
EXTRA_DIST += tests/valgrind/demo-valgrind.sh
EXTRA_DIST += tests/tools/waiting.py tests/tools/tap.py tests/tools/ports.py \
	tests/tools/daemon_test.sh tests/tools/tap.sh

# One freshness rule: the host's answer and the instant sqlite_merge, energy
# and bank act on (mqtt's in its own test, beside its fake Paho).
check_PROGRAMS += tests/plugins/freshness/test_freshness
TESTS += tests/plugins/freshness/test_freshness
tests_plugins_freshness_test_freshness_SOURCES = tests/plugins/freshness/test_freshness.c
tests_plugins_freshness_test_freshness_CFLAGS = $(TESTHOST_CFLAGS) $(SQLITE3_CFLAGS)
tests_plugins_freshness_test_freshness_LDADD = $(TESTHOST_LIBS) $(SQLITE3_LIBS)
# ... and the daemon's answers, asked by a test calculator
check_PROGRAMS += tests/plugins/freshness/plugins/t_fresh.so
tests_plugins_freshness_plugins_t_fresh_so_SOURCES = tests/plugins/freshness/t_fresh.c
tests_plugins_freshness_plugins_t_fresh_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
tests_plugins_freshness_plugins_t_fresh_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
TESTS += tests/plugins/freshness/fresh_e2e.py
dist_noinst_SCRIPTS += tests/plugins/freshness/fresh_e2e.py

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
TESTHOST_LIBS = tests/support/libtesthost.a core/libcollector_core.a \
	$(LIBCONFIG_LIBS) $(CMOCKA_LIBS) $(LIBS)

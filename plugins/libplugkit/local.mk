# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libplugkit: small helpers plugins share (a per-source table with one
# limit, complain once per cause, the state-file start/stop pair over
# libstate); linked into the plugins that need them, never into the core
noinst_LIBRARIES += plugins/libplugkit/libplugkit.a
plugins_libplugkit_libplugkit_a_SOURCES = \
	plugins/libplugkit/sources.c plugins/libplugkit/sources.h \
	plugins/libplugkit/complain.c plugins/libplugkit/complain.h \
	plugins/libplugkit/state.c plugins/libplugkit/state.h plugins/libplugkit/baud.h
plugins_libplugkit_libplugkit_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
PLUGKIT_LIBS = plugins/libplugkit/libplugkit.a plugins/libstate/libstate.a

check_PROGRAMS += tests/plugins/libplugkit/test_plugkit
TESTS += tests/plugins/libplugkit/test_plugkit
tests_plugins_libplugkit_test_plugkit_SOURCES = tests/plugins/libplugkit/test_plugkit.c
tests_plugins_libplugkit_test_plugkit_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_libplugkit_test_plugkit_LDADD = $(PLUGKIT_LIBS) $(TESTHOST_LIBS)

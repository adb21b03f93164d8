# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/bank: a virtual battery made of parallel packs
plugin_PROGRAMS += plugins/bank/bank.so
plugins_bank_bank_so_SOURCES = plugins/bank/bank.c
plugins_bank_bank_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_bank_bank_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_bank_bank_so_LDADD = $(PLUGKIT_LIBS) -lm

check_PROGRAMS += tests/plugins/bank/test_bank
TESTS += tests/plugins/bank/test_bank
tests_plugins_bank_test_bank_SOURCES = tests/plugins/bank/test_bank.c
tests_plugins_bank_test_bank_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_bank_test_bank_LDADD = $(TESTHOST_LIBS)

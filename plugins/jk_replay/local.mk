# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/jk_replay: replay a capture as if a JK BMS were sending it
plugin_PROGRAMS += plugins/jk_replay/jk_replay.so
plugins_jk_replay_jk_replay_so_SOURCES = plugins/jk_replay/jk_replay.c
plugins_jk_replay_jk_replay_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_jk_replay_jk_replay_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_jk_replay_jk_replay_so_LDADD = $(LIBJK_LIBS)

TESTS += tests/plugins/jk_replay/implausible_e2e.py
dist_noinst_SCRIPTS += tests/plugins/jk_replay/implausible_e2e.py

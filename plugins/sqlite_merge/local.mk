# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/sqlite_merge: the eamoon inverter.db sink
plugin_PROGRAMS += plugins/sqlite_merge/sqlite_merge.so
plugins_sqlite_merge_sqlite_merge_so_SOURCES = plugins/sqlite_merge/sqlite_merge.c \
	plugins/sqlite_merge/sqlite_merge.h plugins/sqlite_merge/sm_settings.c \
	plugins/sqlite_merge/sm_patch.c plugins/sqlite_merge/sm_db.c plugins/sqlite_merge/merge_sql.h
plugins_sqlite_merge_sqlite_merge_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(SQLITE3_CFLAGS) \
	$(JANSSON_CFLAGS)
plugins_sqlite_merge_sqlite_merge_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_sqlite_merge_sqlite_merge_so_LDADD = $(RECJSON_LIBS) $(SQLITE3_LIBS)

check_PROGRAMS += tests/plugins/sqlite_merge/test_sqlite_merge
TESTS += tests/plugins/sqlite_merge/test_sqlite_merge
tests_plugins_sqlite_merge_test_sqlite_merge_SOURCES = tests/plugins/sqlite_merge/test_sqlite_merge.c
tests_plugins_sqlite_merge_test_sqlite_merge_CFLAGS = $(TESTHOST_CFLAGS) $(SQLITE3_CFLAGS)
tests_plugins_sqlite_merge_test_sqlite_merge_LDADD = $(TESTHOST_LIBS) $(SQLITE3_LIBS)
TESTS += tests/plugins/sqlite_merge/dashboard_e2e.py
dist_noinst_SCRIPTS += tests/plugins/sqlite_merge/dashboard_e2e.py
TESTS += tests/plugins/sqlite_merge/unhook.sh
dist_noinst_SCRIPTS += tests/plugins/sqlite_merge/unhook.sh
TESTS += tests/plugins/sqlite_merge/lifecycle.sh
dist_noinst_SCRIPTS += tests/plugins/sqlite_merge/lifecycle.sh
TESTS += tests/plugins/sqlite_merge/freshness_e2e.py
dist_noinst_SCRIPTS += tests/plugins/sqlite_merge/freshness_e2e.py

# SPDX-License-Identifier: GPL-2.0-or-later
# tools/collectord-db: maintenance of collectord's hook in inverter.db
# (shares plugins/sqlite_merge/merge_sql.h with the sink).
bin_PROGRAMS += tools/collectord-db/collectord-db
tools_collectord_db_collectord_db_SOURCES = tools/collectord-db/collectord_db.c
tools_collectord_db_collectord_db_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS)
tools_collectord_db_collectord_db_LDADD = $(SQLITE3_LIBS)

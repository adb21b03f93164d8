# plugins/sqlite_merge: build rules (included from the top-level Makefile.am)

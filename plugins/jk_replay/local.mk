# plugins/jk_replay: build rules (included from the top-level Makefile.am)

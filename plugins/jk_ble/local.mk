# plugins/jk_ble: build rules (included from the top-level Makefile.am)

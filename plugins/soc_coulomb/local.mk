# plugins/soc_coulomb: build rules (included from the top-level Makefile.am)

# plugins/soc_lifepo4: build rules (included from the top-level Makefile.am)

# docs/
EXTRA_DIST += docs/sqlite-merge.md
EXTRA_DIST += docs/install.md
EXTRA_DIST += docs/PERFORMANCE.md

EXTRA_DIST += docs/ABI.md docs/records.md

# Man pages: made by make, not configure, from templates, so they name the
# configured paths; a "-" in a path becomes roff's "\-" (a plain ASCII '-').
dist_man_MANS += docs/man/jkbms-util.1
nodist_man_MANS = docs/man/collectord.8 docs/man/collector.conf.5
EXTRA_DIST += docs/man/collectord.8.in docs/man/collector.conf.5.in
CLEANFILES += $(nodist_man_MANS)
man_subst = $(SED) -e 's|%confdir%|$(subst -,\\-,$(confdir))|g' \
	-e 's|%plugindir%|$(subst -,\\-,$(plugindir))|g' \
	-e 's|%statedir%|$(subst -,\\-,$(collectorstatedir))|g'
docs/man/collectord.8: $(srcdir)/docs/man/collectord.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs/man && $(man_subst) $(srcdir)/docs/man/collectord.8.in > $@
docs/man/collector.conf.5: $(srcdir)/docs/man/collector.conf.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs/man && $(man_subst) $(srcdir)/docs/man/collector.conf.5.in > $@

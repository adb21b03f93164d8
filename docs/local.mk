# SPDX-License-Identifier: GPL-2.0-or-later
# docs/
EXTRA_DIST += docs/sqlite-merge.md
EXTRA_DIST += docs/install.md
EXTRA_DIST += docs/PERFORMANCE.md
EXTRA_DIST += docs/control.md

# The SDK's documentation and examples are installed: a plugin author needs
# nothing but `make install` (or the -dev package).
dist_doc_DATA = docs/ABI.md docs/custom-soc.md docs/records.md
sdkexamplesdir = $(docdir)/examples
hello_sourcedir = $(sdkexamplesdir)/hello_source
dist_hello_source_DATA = sdk/examples/hello_source/hello_source.c \
	sdk/examples/hello_source/Makefile
soc_customdir = $(sdkexamplesdir)/soc_custom
dist_soc_custom_DATA = sdk/examples/soc_custom/soc_custom.c sdk/examples/soc_custom/Makefile

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
# The PLUGINS section is docs/man/plugins.man, made from the plugins'
# settings tables (tests/core/man_current.sh checks it is current).
docs/man/collector.conf.5: $(srcdir)/docs/man/collector.conf.5.in $(srcdir)/docs/man/plugins.man Makefile
	$(AM_V_GEN)$(MKDIR_P) docs/man && $(man_subst) \
	  -e '/^\.\\" @PLUGINS@/r $(srcdir)/docs/man/plugins.man' \
	  -e '/^\.\\" @PLUGINS@/d' $(srcdir)/docs/man/collector.conf.5.in > $@
EXTRA_DIST += docs/man/plugins.man docs/man/plugin-sections.sh
# Rewrite the PLUGINS section of collector.conf(5) from the settings tables.
update-man: core/collectord $(plugin_PROGRAMS)
	sh $(srcdir)/docs/man/plugin-sections.sh $(abs_top_builddir) > $(srcdir)/docs/man/plugins.man
.PHONY: update-man

# docs/
EXTRA_DIST += docs/ABI.md
EXTRA_DIST += docs/sqlite-merge.md
dist_man_MANS += docs/man/collectord.8 docs/man/collector.conf.5 docs/man/jkbms-util.1
EXTRA_DIST += docs/install.md
EXTRA_DIST += docs/PERFORMANCE.md
EXTRA_DIST += docs/records.md
EXTRA_DIST += docs/man/plugins.man docs/man/plugin-sections.sh
# Rewrite the PLUGINS section of collector.conf(5) from the settings tables.
update-man: core/collectord $(plugin_PROGRAMS)
	sh $(srcdir)/docs/man/plugin-sections.sh $(abs_top_builddir) > $(srcdir)/docs/man/plugins.man
.PHONY: update-man

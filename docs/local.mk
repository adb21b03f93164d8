# docs/
EXTRA_DIST += docs/ABI.md
EXTRA_DIST += docs/sqlite-merge.md
dist_man_MANS += docs/man/collectord.8 docs/man/collector.conf.5 docs/man/jkbms-util.1
EXTRA_DIST += docs/install.md
EXTRA_DIST += docs/PERFORMANCE.md
EXTRA_DIST += docs/records.md

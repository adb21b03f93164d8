# docs/
EXTRA_DIST += docs/ABI.md
EXTRA_DIST += docs/sqlite-merge.md

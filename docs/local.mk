# docs/
EXTRA_DIST += docs/ABI.md

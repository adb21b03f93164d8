# tests/core: the daemon as a process
TESTS += tests/core/daemon.sh
dist_noinst_SCRIPTS += tests/core/daemon.sh

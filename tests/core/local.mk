# SPDX-License-Identifier: GPL-2.0-or-later
# tests/core: the daemon as a process
TESTS += tests/core/daemon.sh
dist_noinst_SCRIPTS += tests/core/daemon.sh
TESTS += tests/core/out_of_tree.sh
dist_noinst_SCRIPTS += tests/core/out_of_tree.sh
TESTS += tests/core/plugin_hygiene.sh
dist_noinst_SCRIPTS += tests/core/plugin_hygiene.sh
TESTS += tests/core/man_current.sh
dist_noinst_SCRIPTS += tests/core/man_current.sh
TESTS += tests/core/lifecycle.sh
dist_noinst_SCRIPTS += tests/core/lifecycle.sh
TESTS += tests/core/trust.sh
dist_noinst_SCRIPTS += tests/core/trust.sh
TESTS += tests/core/notify.py
dist_noinst_SCRIPTS += tests/core/notify.py
TESTS += tests/core/control.sh
dist_noinst_SCRIPTS += tests/core/control.sh

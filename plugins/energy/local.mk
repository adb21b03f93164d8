# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/energy: charged / discharged kWh per battery, time to full and to empty
plugin_PROGRAMS += plugins/energy/energy.so
plugins_energy_energy_so_SOURCES = plugins/energy/energy.c
plugins_energy_energy_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_energy_energy_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_energy_energy_so_LDADD = $(PLUGKIT_LIBS) -lm

check_PROGRAMS += tests/plugins/energy/test_energy
TESTS += tests/plugins/energy/test_energy
tests_plugins_energy_test_energy_SOURCES = tests/plugins/energy/test_energy.c
tests_plugins_energy_test_energy_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_energy_test_energy_LDADD = $(TESTHOST_LIBS)

# energy and bank in the daemon, on the replayed captures, through mqtt;
# t_load puts a constant load on the captures (taken at 0 A)
check_PROGRAMS += tests/plugins/energy/plugins/t_load.so
tests_plugins_energy_plugins_t_load_so_SOURCES = tests/plugins/energy/t_load.c
tests_plugins_energy_plugins_t_load_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
tests_plugins_energy_plugins_t_load_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
TESTS += tests/plugins/energy/insight_e2e.py
dist_noinst_SCRIPTS += tests/plugins/energy/insight_e2e.py

# SPDX-License-Identifier: GPL-2.0-or-later
# etc/: configuration samples and the demo
EXTRA_DIST += etc/demo.conf etc/demo/README.md etc/demo/jk_pb2a16s15p.hex \
	etc/demo/jk_b2a24s20p.hex tests/tools/eamoon_poller.py tests/tools/dashboard_view.py

# `make demo`: one inverter row as eamoon's poller writes it (when there is
# none), the capture replayed through collectord into ./inverter.db, and the
# newest row printed as the dashboard reads it.
demo: core/collectord $(plugin_PROGRAMS)
	@echo "== eamoon's poller: one inverter row into ./inverter.db"
	$(PYTHON3) $(srcdir)/tests/tools/eamoon_poller.py inverter.db --if-empty
	@echo "== collectord --once: jk_replay -> soc_lifepo4 -> sqlite_merge"
	cd $(srcdir) && COLLECTOR_PLUGIN_PATH='$(abs_top_builddir)/plugins' \
	  '$(abs_top_builddir)/core/collectord' -c etc/demo.conf --once
	@echo "== what the dashboard shows (newest row of ./inverter.db)"
	$(PYTHON3) $(srcdir)/tests/tools/dashboard_view.py inverter.db
.PHONY: demo
dist_conf_DATA += etc/collector.conf

# The systemd unit, with the configured paths filled in.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = etc/collectord.service
EXTRA_DIST += etc/collectord.service.in etc/docker/Dockerfile etc/docker/compose.yml \
	etc/docker/collectord.env
CLEANFILES += etc/collectord.service
etc/collectord.service: $(srcdir)/etc/collectord.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && sed -e 's|%sbindir%|$(sbindir)|g' -e 's|%confdir%|$(confdir)|g' \
	    $(srcdir)/etc/collectord.service.in > $@
TESTS += tests/deploy/configs.sh
dist_noinst_SCRIPTS += tests/deploy/configs.sh tests/deploy/ci-deploy.sh etc/debian/build-deb.sh
EXTRA_DIST += etc/debian/control etc/debian/rules etc/debian/changelog etc/debian/copyright \
	etc/debian/source/format etc/debian/collectord.install etc/debian/collectord-dev.install \
	etc/debian/collectord.postinst

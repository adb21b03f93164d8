# SPDX-License-Identifier: GPL-2.0-or-later
# sdk/: the public plugin header and its pkg-config file
collectorinclude_HEADERS += sdk/include/collector/plugin.h
pkgconfig_DATA += sdk/collector-sdk.pc
EXTRA_DIST += sdk/collector-sdk.pc.in
CLEANFILES += sdk/collector-sdk.pc

# Made by make, not configure, so ${prefix} stays a variable and
# `pkg-config --define-variable=prefix=...` works on a staged install. libdir
# keeps its multiarch part (Debian: lib/<triplet>), where the plugins go.
sdk/collector-sdk.pc: $(srcdir)/sdk/collector-sdk.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) sdk && \
	abi_major=`sed -n 's/^#define COLLECTOR_ABI_MAJOR \([0-9]*\)u$$/\1/p' $(srcdir)/sdk/include/collector/plugin.h` && \
	abi_minor=`sed -n 's/^#define COLLECTOR_ABI_MINOR \([0-9]*\)u$$/\1/p' $(srcdir)/sdk/include/collector/plugin.h` && \
	sed -e 's|%prefix%|$(prefix)|' -e 's|%exec_prefix%|$${prefix}|' \
	    -e 's|%libdir%|$${exec_prefix}/$(patsubst $(exec_prefix)/%,%,$(libdir))|' \
	    -e 's|%includedir%|$${prefix}/include|' -e 's|%VERSION%|$(VERSION)|' \
	    -e "s|%ABI_MAJOR%|$$abi_major|" -e "s|%ABI_MINOR%|$$abi_minor|" \
	    $(srcdir)/sdk/collector-sdk.pc.in > $@

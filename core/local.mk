# SPDX-License-Identifier: GPL-2.0-or-later
# core/: the collectord daemon and the host side of the plugin ABI
noinst_LIBRARIES += core/libcollector_core.a
core_libcollector_core_a_SOURCES = \
	core/log.c core/log.h \
	core/names.c core/names.h \
	core/clock.c core/clock.h \
	core/expand.c core/expand.h \
	core/envfile.c core/envfile.h \
	core/record.c core/record.h \
	core/fresh.c core/fresh.h \
	core/settings.c core/settings.h \
	core/hostdefs.c core/hostdefs.h \
	core/setdefs.c core/setdefs.h \
	core/describe.c core/describe.h \
	core/fingerprint.c core/fingerprint.h \
	core/statefile.c core/statefile.h \
	core/hostapi.c core/hostapi.h \
	core/loader.c core/loader.h \
	core/conf.c core/conf.h \
	core/instance.c core/instance.h \
	core/pipeline.c core/pipeline.h \
	core/sched.c core/sched.h \
	core/runtime.c core/runtime.h \
	plugins/libsafeopen/safe_open.c plugins/libsafeopen/safe_open.h \
	core/command.c core/command.h \
	core/ctlproto.c core/ctlproto.h \
	core/ctlsock.c core/ctlsock.h
core_libcollector_core_a_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS)

sbin_PROGRAMS += core/collectord
core_collectord_SOURCES = core/main.c core/notify.c core/notify.h core/ctl.c core/ctl.h
core_collectord_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS)
core_collectord_LDFLAGS = $(AM_LDFLAGS) -Wl,-z,relro,-z,now
core_collectord_LDADD = core/libcollector_core.a $(LIBCONFIG_LIBS) $(JANSSON_LIBS) $(LIBS)

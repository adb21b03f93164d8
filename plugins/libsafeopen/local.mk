# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libsafeopen: open a file a setting or a variable names without
# waiting on a FIFO or a device (the core's config loader and the plugins)
noinst_LIBRARIES += plugins/libsafeopen/libsafeopen.a
plugins_libsafeopen_libsafeopen_a_SOURCES = plugins/libsafeopen/safe_open.c \
	plugins/libsafeopen/safe_open.h
plugins_libsafeopen_libsafeopen_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
SAFEOPEN_LIBS = plugins/libsafeopen/libsafeopen.a

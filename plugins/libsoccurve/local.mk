# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/libsoccurve: the voltage -> SOC curves the SOC calculators share
noinst_LIBRARIES += plugins/libsoccurve/libsoccurve.a
plugins_libsoccurve_libsoccurve_a_SOURCES = plugins/libsoccurve/soc_curve.c \
	plugins/libsoccurve/soc_curve.h
plugins_libsoccurve_libsoccurve_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS)

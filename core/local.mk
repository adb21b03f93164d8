# core/: the collectord daemon
sbin_PROGRAMS += core/collectord
core_collectord_SOURCES = core/main.c

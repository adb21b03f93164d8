# plugins/jk_ble: JK BMS over Bluetooth LE, and the jkbms-util tool
bin_PROGRAMS += plugins/jk_ble/jkbms-util
plugins_jk_ble_jkbms_util_SOURCES = plugins/jk_ble/jkbms_util.c
plugins_jk_ble_jkbms_util_LDADD = $(LIBJK_LIBS)

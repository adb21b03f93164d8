# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/mqtt: MQTT sink with Home Assistant discovery (Eclipse Paho C, loaded
# at run time: libpaho-mqtt3a, or libpaho-mqtt3as when TLS is configured)
plugin_PROGRAMS += plugins/mqtt/mqtt.so
plugins_mqtt_mqtt_so_SOURCES = plugins/mqtt/mqtt.c
plugins_mqtt_mqtt_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(JANSSON_CFLAGS)
plugins_mqtt_mqtt_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
plugins_mqtt_mqtt_so_LDADD = $(RECJSON_LIBS)

TESTS += tests/plugins/mqtt/mqtt_e2e.py
dist_noinst_SCRIPTS += tests/plugins/mqtt/mqtt_e2e.py

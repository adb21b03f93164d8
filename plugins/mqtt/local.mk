# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/mqtt: MQTT sink with Home Assistant discovery (Eclipse Paho C, loaded
# at run time: libpaho-mqtt3a, or libpaho-mqtt3as when TLS is configured).
# The parts are a static library so the unit tests link them without the .so;
# mqtt.c is the glue and the descriptor.
noinst_LIBRARIES += plugins/mqtt/libmqttsink.a
plugins_mqtt_libmqttsink_a_SOURCES = plugins/mqtt/discovery.c plugins/mqtt/gate.c \
	plugins/mqtt/mqtt_settings.c plugins/mqtt/paho.c plugins/mqtt/window.c \
	plugins/mqtt/discovery.h plugins/mqtt/gate.h plugins/mqtt/mqtt_settings.h \
	plugins/mqtt/paho.h plugins/mqtt/window.h
plugins_mqtt_libmqttsink_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(JANSSON_CFLAGS)

plugin_PROGRAMS += plugins/mqtt/mqtt.so
plugins_mqtt_mqtt_so_SOURCES = plugins/mqtt/mqtt.c plugins/mqtt/mqtt.h
plugins_mqtt_mqtt_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
plugins_mqtt_mqtt_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
MQTTSINK_LIBS = plugins/mqtt/libmqttsink.a $(RECJSON_LIBS) plugins/libplugkit/libplugkit.a $(SAFEOPEN_LIBS)
plugins_mqtt_mqtt_so_LDADD = $(MQTTSINK_LIBS)

TESTS += tests/plugins/mqtt/mqtt_e2e.py
dist_noinst_SCRIPTS += tests/plugins/mqtt/mqtt_e2e.py
TESTS += tests/plugins/mqtt/mqtt_control.py
dist_noinst_SCRIPTS += tests/plugins/mqtt/mqtt_control.py
EXTRA_DIST += tests/plugins/mqtt/mqttlib.py

# Unit tests without a broker: the window, and the glue against a fake Paho.
check_PROGRAMS += tests/plugins/mqtt/test_mqtt_window tests/plugins/mqtt/test_mqtt_sink \
	tests/plugins/mqtt/test_mqtt_discovery
TESTS += tests/plugins/mqtt/test_mqtt_window tests/plugins/mqtt/test_mqtt_sink \
	tests/plugins/mqtt/test_mqtt_discovery
tests_plugins_mqtt_test_mqtt_window_SOURCES = tests/plugins/mqtt/test_mqtt_window.c
tests_plugins_mqtt_test_mqtt_window_CFLAGS = $(TESTHOST_CFLAGS)
tests_plugins_mqtt_test_mqtt_window_LDADD = $(MQTTSINK_LIBS) $(CMOCKA_LIBS)
tests_plugins_mqtt_test_mqtt_discovery_SOURCES = tests/plugins/mqtt/test_mqtt_discovery.c
tests_plugins_mqtt_test_mqtt_discovery_CFLAGS = $(TESTHOST_CFLAGS) $(JANSSON_CFLAGS)
tests_plugins_mqtt_test_mqtt_discovery_LDADD = $(MQTTSINK_LIBS) $(TESTHOST_LIBS)
tests_plugins_mqtt_test_mqtt_sink_SOURCES = tests/plugins/mqtt/test_mqtt_sink.c plugins/mqtt/mqtt.c
tests_plugins_mqtt_test_mqtt_sink_CFLAGS = $(TESTHOST_CFLAGS) $(JANSSON_CFLAGS)
tests_plugins_mqtt_test_mqtt_sink_LDADD = $(MQTTSINK_LIBS) $(TESTHOST_LIBS) -lpthread

# Against a real mosquitto: --check, --once, reloads, credentials, battery
# availability, and discovery for the insight metrics (a test calculator).
check_PROGRAMS += tests/plugins/mqtt/insight/t_insight.so
tests_plugins_mqtt_insight_t_insight_so_SOURCES = tests/plugins/mqtt/insight/t_insight.c
tests_plugins_mqtt_insight_t_insight_so_CFLAGS = $(PLUGIN_COMPILE_FLAGS)
tests_plugins_mqtt_insight_t_insight_so_LDFLAGS = $(PLUGIN_LINK_FLAGS)
TESTS += tests/plugins/mqtt/mqtt_lifecycle.py
dist_noinst_SCRIPTS += tests/plugins/mqtt/mqtt_lifecycle.py
TESTS += tests/plugins/mqtt/mqtt_names.py
dist_noinst_SCRIPTS += tests/plugins/mqtt/mqtt_names.py

# The glue test under ThreadSanitizer, in a tree of its own (not in check).
tsan-mqtt:
	top_srcdir='$(abs_top_srcdir)' $(SHELL) $(srcdir)/tests/plugins/mqtt/tsan.sh
.PHONY: tsan-mqtt
EXTRA_DIST += tests/plugins/mqtt/tsan.sh

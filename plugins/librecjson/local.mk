# SPDX-License-Identifier: GPL-2.0-or-later
# plugins/librecjson: a record's metrics as JSON, shared by sqlite_merge and mqtt
noinst_LIBRARIES += plugins/librecjson/librecjson.a
plugins_librecjson_librecjson_a_SOURCES = plugins/librecjson/record_json.c \
	plugins/librecjson/record_json.h
plugins_librecjson_librecjson_a_CFLAGS = $(PLUGIN_COMPILE_FLAGS) $(JANSSON_CFLAGS)
RECJSON_LIBS = plugins/librecjson/librecjson.a $(JANSSON_LIBS) -lm

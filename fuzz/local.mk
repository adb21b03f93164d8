# SPDX-License-Identifier: GPL-2.0-or-later
# fuzz/: libFuzzer targets (./configure CC=clang --enable-fuzz && make fuzz)
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
EXTRA_DIST += $(wildcard $(srcdir)/fuzz/corpus/*/*) fuzz/lsan.supp
if FUZZ
EXTRA_PROGRAMS += fuzz/jk_frames fuzz/jk_capture fuzz/ble_att fuzz/ble_mgmt fuzz/config \
	fuzz/jk_devices fuzz/jk_uart fuzz/jk_control
FUZZ_BINS += fuzz/jk_control fuzz/jk_frames fuzz/jk_capture fuzz/ble_att fuzz/ble_mgmt fuzz/config fuzz/jk_devices \
	fuzz/sqlite_merge fuzz/jk_uart
EXTRA_PROGRAMS += fuzz/sqlite_merge fuzz/influx_line fuzz/pylon
FUZZ_BINS += fuzz/influx_line fuzz/pylon
fuzz_pylon_SOURCES = fuzz/pylon.c plugins/libpylon/pylon_rs485.c plugins/libpylon/pylon_can.c
fuzz_pylon_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_pylon_LDFLAGS = $(FUZZ_FLAGS)
fuzz_influx_line_SOURCES = fuzz/influx_line.c plugins/influxdb/line_protocol.c
fuzz_influx_line_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_influx_line_LDFLAGS = $(FUZZ_FLAGS)
fuzz_sqlite_merge_SOURCES = fuzz/sqlite_merge.c plugins/sqlite_merge/sqlite_merge.c \
	plugins/sqlite_merge/sm_settings.c plugins/sqlite_merge/sm_patch.c \
	plugins/sqlite_merge/sm_db.c plugins/librecjson/record_json.c core/record.c \
	core/hostapi.c core/settings.c core/setdefs.c core/hostdefs.c core/expand.c \
	core/statefile.c core/log.c core/fresh.c plugins/libsafeopen/safe_open.c \
	plugins/libplugkit/sources.c plugins/libplugkit/complain.c
fuzz_sqlite_merge_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS) $(LIBCONFIG_CFLAGS) \
	$(SQLITE3_CFLAGS) $(JANSSON_CFLAGS)
fuzz_sqlite_merge_LDFLAGS = $(FUZZ_FLAGS)
fuzz_sqlite_merge_LDADD = $(LIBCONFIG_LIBS) $(SQLITE3_LIBS) $(JANSSON_LIBS) -lm
fuzz_config_SOURCES = fuzz/config.c core/conf.c core/expand.c core/names.c core/log.c \
	core/setdefs.c core/hostdefs.c core/settings.c core/envfile.c plugins/libsafeopen/safe_open.c
fuzz_config_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS) $(LIBCONFIG_CFLAGS)
fuzz_config_LDFLAGS = $(FUZZ_FLAGS)
fuzz_config_LDADD = $(LIBCONFIG_LIBS)
fuzz_jk_devices_SOURCES = fuzz/jk_devices.c plugins/libjkble/jk_devices.c plugins/libble/transport.c \
	plugins/libsafeopen/safe_open.c \
	plugins/libble/gatt.c plugins/libble/att.c
fuzz_jk_devices_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS) $(YAML_CFLAGS) $(BLUEZ_CFLAGS)
fuzz_jk_devices_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_devices_LDADD = $(YAML_LIBS) $(BLUEZ_LIBS)
fuzz_ble_att_SOURCES = fuzz/ble_att.c plugins/libble/att.c
fuzz_ble_att_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_ble_att_LDFLAGS = $(FUZZ_FLAGS)
fuzz_ble_mgmt_SOURCES = fuzz/ble_mgmt.c plugins/libble/mgmt.c plugins/libble/adv.c \
	plugins/libble/att.c
fuzz_ble_mgmt_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_ble_mgmt_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_frames_SOURCES = fuzz/jk_frames.c plugins/libjk/jk_frame.c plugins/libjk/jk_decode.c \
	plugins/libjk/jk_stream.c plugins/libjk/jk_plaus.c plugins/libjk/jk_metrics.c \
	plugins/libjk/jk_control.c
fuzz_jk_frames_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_jk_frames_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_frames_LDADD = -lm
fuzz_jk_control_SOURCES = fuzz/jk_control.c plugins/libjk/jk_control.c plugins/libjk/jk_frame.c \
	plugins/libjk/jk_decode.c plugins/libjk/jk_stream.c
fuzz_jk_control_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_jk_control_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_control_LDADD = -lm
fuzz_jk_uart_SOURCES = fuzz/jk_uart.c plugins/libjk/jk_uart.c plugins/libjk/jk_decode.c
fuzz_jk_uart_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_jk_uart_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_uart_LDADD = -lm
EXTRA_PROGRAMS += fuzz/ctl_request
FUZZ_BINS += fuzz/ctl_request
fuzz_ctl_request_SOURCES = fuzz/ctl_request.c core/ctlproto.c core/names.c
fuzz_ctl_request_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS) $(JANSSON_CFLAGS)
fuzz_ctl_request_LDFLAGS = $(FUZZ_FLAGS)
fuzz_ctl_request_LDADD = $(JANSSON_LIBS)
fuzz_jk_capture_SOURCES = fuzz/jk_capture.c plugins/libjk/jk_capture.c plugins/libsafeopen/safe_open.c
fuzz_jk_capture_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_jk_capture_LDFLAGS = $(FUZZ_FLAGS)
endif
EXTRA_DIST += fuzz/jk_frames.c fuzz/jk_capture.c fuzz/ble_att.c fuzz/ble_mgmt.c fuzz/config.c \
	fuzz/jk_devices.c fuzz/sqlite_merge.c fuzz/influx_line.c fuzz/jk_uart.c fuzz/pylon.c \
	fuzz/jk_control.c fuzz/ctl_request.c

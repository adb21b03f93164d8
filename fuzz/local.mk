# fuzz/: libFuzzer targets (./configure CC=clang --enable-fuzz && make fuzz)
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
EXTRA_DIST += $(wildcard $(srcdir)/fuzz/corpus/*/*)
if FUZZ
EXTRA_PROGRAMS += fuzz/jk_frames fuzz/jk_capture fuzz/ble_att fuzz/ble_adv
FUZZ_BINS += fuzz/jk_frames fuzz/jk_capture fuzz/ble_att fuzz/ble_adv
fuzz_ble_att_SOURCES = fuzz/ble_att.c plugins/libble/att.c
fuzz_ble_att_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_ble_att_LDFLAGS = $(FUZZ_FLAGS)
fuzz_ble_adv_SOURCES = fuzz/ble_adv.c plugins/libble/adv.c
fuzz_ble_adv_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_ble_adv_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_frames_SOURCES = fuzz/jk_frames.c plugins/libjk/jk_frame.c plugins/libjk/jk_decode.c \
	plugins/libjk/jk_stream.c
fuzz_jk_frames_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_jk_frames_LDFLAGS = $(FUZZ_FLAGS)
fuzz_jk_frames_LDADD = -lm
fuzz_jk_capture_SOURCES = fuzz/jk_capture.c plugins/libjk/jk_capture.c
fuzz_jk_capture_CFLAGS = $(COLLECTOR_WARN_CFLAGS) $(FUZZ_FLAGS)
fuzz_jk_capture_LDFLAGS = $(FUZZ_FLAGS)
endif
EXTRA_DIST += fuzz/jk_frames.c fuzz/jk_capture.c fuzz/ble_att.c fuzz/ble_adv.c

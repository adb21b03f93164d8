/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A JK BMS byte stream: frames assembled, the variant decided, the newest
 * device info, settings and cell info kept. Used by every JK source. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_STREAM_H
#define COLLECTORD_PLUGINS_LIBJK_JK_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"

struct jk_stream {
    struct jk_assembler as;
    int configured; /* JK_PROTO_* from the config; JK_PROTO_AUTO to detect */
    int proto;      /* the variant in use; JK_PROTO_AUTO until decided */
    int hint;       /* what the device info's versions say */
    int has_device_info;
    struct jk_device_info device_info;
    int has_settings_frame; /* of this link: a new link drops it */
    uint8_t settings_frame[JK_FRAME_LEN];
    unsigned long settings_frames; /* settings records seen */
    int has_cell_frame; /* a cell-info record not yet taken */
    uint8_t cell_frame[JK_FRAME_LEN];
    unsigned long cell_frames;   /* cell-info records seen */
    unsigned long misfits;       /* cell-info records refused by the variant check */
    unsigned long reported_bad, reported_junk, reported_misfits;
    char error[256];
};

void jk_stream_init(struct jk_stream *s, int proto);
/* The link went away: drop any partial record, untaken cell info and the
 * settings (the phone app may change them meanwhile); the device info and
 * the decided variant stay. */
void jk_stream_reset(struct jk_stream *s);
void jk_stream_feed(struct jk_stream *s, const uint8_t *data, size_t len);
/*
 * The newest cell info not yet taken: 0 and *out; -EAGAIN when none arrived;
 * -EPROTO when it cannot be decoded with a variant that fits (the record is
 * dropped, jk_stream_error() says why and what to configure).
 */
int jk_stream_take_cell_info(struct jk_stream *s, struct jk_cell_info *out);
/* The device info, or NULL when none was seen. */
const struct jk_device_info *jk_stream_device_info(const struct jk_stream *s);
/* The switch flags of this link's newest settings frame (jk_settings_switches,
 * -1 where the variant has none): 0, or -EAGAIN (none yet, or the variant
 * not known). */
int jk_stream_switches(const struct jk_stream *s, int flags[3]);
const char *jk_stream_error(const struct jk_stream *s);
/* 1 and a line in buf when bad frames, junk or refused records grew since the
 * last call (for a rate-limited debug log: at most once per poll). */
int jk_stream_counters_changed(struct jk_stream *s, char *buf, size_t cap);

#endif

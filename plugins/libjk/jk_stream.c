/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_stream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugins/libjk/jk_control.h"

void jk_stream_init(struct jk_stream *s, int proto)
{
    memset(s, 0, sizeof(*s));
    jk_assembler_init(&s->as);
    s->configured = proto;
    s->proto = proto;
}

void jk_stream_reset(struct jk_stream *s)
{
    jk_assembler_reset(&s->as);
    s->has_cell_frame = 0;
    s->has_settings_frame = 0;
}

static void on_frame(const uint8_t *frame, void *user)
{
    struct jk_stream *s = user;

    switch (frame[4]) {
    case JK_RECORD_DEVICE_INFO:
        if (jk_decode_device_info(frame, &s->device_info) == 0) {
            s->has_device_info = 1;
            s->hint = jk_detect_from_device_info(&s->device_info);
        }
        break;
    case JK_RECORD_SETTINGS:
        memcpy(s->settings_frame, frame, JK_FRAME_LEN);
        s->has_settings_frame = 1;
        s->settings_frames++;
        break;
    case JK_RECORD_CELL_INFO:
        memcpy(s->cell_frame, frame, JK_FRAME_LEN);
        s->has_cell_frame = 1;
        s->cell_frames++;
        break;
    default:
        break;
    }
}

void jk_stream_feed(struct jk_stream *s, const uint8_t *data, size_t len)
{
    jk_assembler_feed(&s->as, data, len, on_frame, s);
}

/* Decide the variant of `frame` in auto mode; JK_PROTO_AUTO if undecidable. */
static int detect(struct jk_stream *s, const uint8_t *frame)
{
    static const int all[] = {JK_PROTO_JK04, JK_PROTO_JK02_24S, JK_PROTO_JK02_32S};
    int fits[3], nfit = 0, only = JK_PROTO_AUTO;

    for (int i = 0; i < 3; i++) {
        fits[i] = jk_cell_info_fits(frame, all[i]);
        if (fits[i]) {
            nfit++;
            only = all[i];
        }
    }
    if (nfit == 1)
        return only;
    if (nfit > 1 && s->hint != JK_PROTO_AUTO && fits[s->hint - 1])
        return s->hint;
    if (nfit == 0)
        snprintf(s->error, sizeof(s->error),
                 "cell-info record fits none of JK04, JK02_24S, JK02_32S: set protocol = "
                 "\"...\" in the config%s%s",
                 s->has_device_info ? "; device says hw " : "",
                 s->has_device_info ? s->device_info.hw_version : "");
    else
        snprintf(s->error, sizeof(s->error),
                 "cell-info record fits %s%s%s%s%s and the device info does not decide: set "
                 "protocol = \"...\" in the config",
                 fits[0] ? "JK04 " : "", fits[1] ? "JK02_24S " : "", fits[2] ? "JK02_32S " : "",
                 s->has_device_info ? "(hw " : "",
                 s->has_device_info ? s->device_info.hw_version : "");
    return JK_PROTO_AUTO;
}

int jk_stream_take_cell_info(struct jk_stream *s, struct jk_cell_info *out)
{
    int proto;

    if (!s->has_cell_frame)
        return -EAGAIN;
    s->has_cell_frame = 0;
    proto = s->proto;
    if (proto != JK_PROTO_AUTO && jk_decode_cell_info_checked(s->cell_frame, proto, out) == 0)
        return 0;
    if (proto != JK_PROTO_AUTO) {
        if (s->configured != JK_PROTO_AUTO) {
            s->misfits++;
            snprintf(s->error, sizeof(s->error),
                     "cell-info record does not fit the configured protocol %s (implausible "
                     "cells, pack voltage or temperatures): check protocol = \"...\"",
                     jk_protocol_name(proto));
            return -EPROTO;
        }
        proto = JK_PROTO_AUTO; /* detected before, no longer fits: look again */
    }
    if (proto == JK_PROTO_AUTO) {
        proto = detect(s, s->cell_frame);
        if (proto == JK_PROTO_AUTO) {
            s->misfits++;
            return -EPROTO;
        }
        s->proto = proto;
    }
    return jk_decode_cell_info_checked(s->cell_frame, proto, out);
}

const struct jk_device_info *jk_stream_device_info(const struct jk_stream *s)
{
    return s->has_device_info ? &s->device_info : NULL;
}

int jk_stream_switches(const struct jk_stream *s, int flags[3])
{
    /* the variant to read it with: the decided one, else the device info's hint */
    int proto = s->proto != JK_PROTO_AUTO ? s->proto : s->hint;

    if (!s->has_settings_frame || proto == JK_PROTO_AUTO)
        return -EAGAIN;
    return jk_settings_switches(s->settings_frame, proto, flags) < 0 ? -EAGAIN : 0;
}

const char *jk_stream_error(const struct jk_stream *s)
{
    return s->error;
}

int jk_stream_counters_changed(struct jk_stream *s, char *buf, size_t cap)
{
    if (s->as.bad_frames == s->reported_bad && s->as.junk_bytes == s->reported_junk &&
        s->misfits == s->reported_misfits)
        return 0;
    snprintf(buf, cap,
             "so far: %lu record(s), %lu bad frame(s), %lu junk byte(s), %lu ack(s), %lu "
             "record(s) refused by the variant check",
             s->as.frames, s->as.bad_frames, s->as.junk_bytes, s->as.acks, s->misfits);
    s->reported_bad = s->as.bad_frames;
    s->reported_junk = s->as.junk_bytes;
    s->reported_misfits = s->misfits;
    return 1;
}

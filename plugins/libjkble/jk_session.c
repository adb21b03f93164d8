/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjkble/jk_session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugins/libble/transport.h"
#include "plugins/libjk/jk_frame.h"

#define JK_SERVICE 0xFFE0
#define JK_CHAR    0xFFE1
#define PROP_WRITE_NR 0x04
#define PROP_WRITE    0x08
#define PROP_NOTIFY   0x10
#define DEVICE_INFO_WAIT_MS 1500

static void on_notify(void *user, uint16_t handle, const uint8_t *value, size_t len)
{
    struct jk_session *s = user;

    if (s->notify_handle != 0 && handle != s->notify_handle)
        return;
    if (s->on_raw != NULL)
        s->on_raw(s->raw_user, value, len);
    jk_stream_feed(&s->stream, value, len);
}

static int have_cell(void *user)
{
    struct jk_session *s = user;
    return s->stream.has_cell_frame;
}

static int have_device_info(void *user)
{
    struct jk_session *s = user;
    return s->stream.has_device_info;
}

void jk_session_init(struct jk_session *s, int proto, int stop_fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->stop_fd = stop_fd;
    s->timeout_ms = 15000;
    jk_stream_init(&s->stream, proto);
    for (int i = 0; i < JK_SWITCH_COUNT; i++)
        s->switch_flags[i] = -1;
}

void jk_session_close(struct jk_session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->connected = 0;
    jk_stream_reset(&s->stream);
}

static int fail(struct jk_session *s, int rc, const char *step)
{
    if (s->error[0] == '\0') {
        if (rc == -EIO)
            snprintf(s->error, sizeof(s->error), "%s: %s: ATT error 0x%02x", s->address, step,
                     s->gatt.att_error);
        else
            snprintf(s->error, sizeof(s->error), "%s: %s: %s", s->address, step,
                     rc == -ENOTCONN ? "the BMS disconnected" : ble_errno_hint(-rc));
    }
    jk_session_close(s);
    return rc;
}

/* Find FFE0, the FFE1 to write commands to, the FFE1 that notifies and its
 * CCCD. Some modules have one FFE1 doing both, others two (write-only and
 * notify-only): never assume handle numbers. */
static int discover(struct jk_session *s, int64_t deadline)
{
    struct gatt_char chars[32];
    uint16_t start, end;
    int n, rc;

    rc = gatt_find_service(&s->gatt, JK_SERVICE, &start, &end, deadline);
    if (rc == -ENOENT) {
        snprintf(s->error, sizeof(s->error), "%s: no JK service FFE0: is this a JK BMS?",
                 s->address);
        return rc;
    }
    if (rc < 0)
        return rc;
    n = gatt_characteristics(&s->gatt, start, end, chars, 32, deadline);
    if (n < 0)
        return n;
    s->write_handle = s->notify_handle = 0;
    for (int i = 0; i < n; i++) {
        if (chars[i].uuid16 != JK_CHAR)
            continue;
        if (s->write_handle == 0 && (chars[i].props & (PROP_WRITE | PROP_WRITE_NR)))
            s->write_handle = chars[i].value;
        if (s->notify_handle == 0 && (chars[i].props & PROP_NOTIFY)) {
            s->notify_handle = chars[i].value;
            rc = gatt_find_cccd(&s->gatt, &chars[i], &s->cccd_handle, deadline);
            if (rc < 0 && rc != -ENOENT)
                return rc;
            if (rc == -ENOENT) {
                snprintf(s->error, sizeof(s->error), "%s: FFE1 has no CCCD", s->address);
                return rc;
            }
        }
    }
    if (s->write_handle == 0 || s->notify_handle == 0) {
        snprintf(s->error, sizeof(s->error),
                 "%s: service FFE0 lacks a writable and a notifying FFE1 characteristic",
                 s->address);
        return -ENOENT;
    }
    s->have_handles = 1;
    return 0;
}

/* The one way a frame goes to the BMS: a 20-byte frame on the write
 * characteristic. */
static int write_frame(struct jk_session *s, const uint8_t frame[JK_CMD_LEN], int64_t deadline)
{
    return gatt_write(&s->gatt, s->write_handle, frame, JK_CMD_LEN, 0, deadline);
}

static int send_command(struct jk_session *s, uint8_t cmd, int64_t deadline)
{
    uint8_t frame[JK_CMD_LEN];
    jk_build_command(cmd, frame);
    return write_frame(s, frame, deadline);
}

/* Take the adapter's connect lock before the deadline: the lock fd, -1 when
 * no lock is configured, or a negative errno. */
static int lock_adapter(struct jk_session *s, int64_t deadline)
{
    int fd;

    if (s->lock_path[0] == '\0')
        return -1;
    fd = open(s->lock_path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1; /* no lock to be had: connect anyway */
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        struct pollfd p = {s->stop_fd, POLLIN, 0};
        if (errno != EWOULDBLOCK || gatt_now_ms() >= deadline) {
            close(fd);
            return -ETIMEDOUT;
        }
        /* another battery is connecting on this adapter: wait a little */
        if (poll(&p, s->stop_fd >= 0 ? 1 : 0, 20) > 0) {
            close(fd);
            return -ECANCELED;
        }
    }
    return fd;
}

static int open_link(struct jk_session *s, int64_t deadline)
{
    static const uint8_t enable[2] = {0x01, 0x00};
    char err[256];
    int fd, rc, type, lock = lock_adapter(s, deadline);

    if (lock < -1) {
        snprintf(s->error, sizeof(s->error), "%s: %s", s->address,
                 lock == -ECANCELED ? "stopping" : "another battery kept the adapter busy");
        return lock;
    }
    rc = ble_connect(s->transport, s->adapter, s->address, s->address_type,
                     (int)(deadline - gatt_now_ms()), s->stop_fd, &fd, &type, err, sizeof(err));
    if (lock >= 0)
        close(lock); /* releases the flock */
    if (rc < 0) {
        snprintf(s->error, sizeof(s->error), "%s", err);
        return rc;
    }
    s->address_type = type; /* "auto" found it: no more guessing */
    s->fd = fd;
    s->connected = 1;
    jk_stream_reset(&s->stream);
    gatt_init(&s->gatt, fd, s->stop_fd, on_notify, s);
    if ((rc = gatt_exchange_mtu(&s->gatt, deadline)) < 0)
        return fail(s, rc, "MTU exchange");
    if (!s->have_handles && (rc = discover(s, deadline)) < 0)
        return fail(s, rc, "service discovery");
    /* notifications first, then device info, then cell info (spec section 4) */
    if ((rc = gatt_write(&s->gatt, s->cccd_handle, enable, 2, 1, deadline)) < 0)
        return fail(s, rc, "enabling notifications");
    if ((rc = send_command(s, 0x97, deadline)) < 0)
        return fail(s, rc, "device-info request");
    {
        int64_t wait = gatt_now_ms() + DEVICE_INFO_WAIT_MS;
        rc = gatt_pump(&s->gatt, wait < deadline ? wait : deadline, have_device_info);
        if (rc < 0)
            return fail(s, rc, "waiting for device info");
    }
    if ((rc = send_command(s, 0x96, deadline)) < 0)
        return fail(s, rc, "cell-info request");
    return 0;
}

/* Handles are valid for one firmware: when the device info reports another
 * version than the one they were found with, the next connection
 * rediscovers. */
static void check_firmware(struct jk_session *s)
{
    const struct jk_device_info *di = jk_stream_device_info(&s->stream);
    char fw[sizeof(s->firmware)];

    if (di == NULL)
        return;
    snprintf(fw, sizeof(fw), "%s/%s", di->hw_version, di->sw_version);
    if (s->firmware[0] != '\0' && strcmp(fw, s->firmware) != 0)
        s->have_handles = 0;
    memcpy(s->firmware, fw, sizeof(fw));
}

/* The flags of this link's settings frame, before the link (and with it the
 * frame) goes: none when it sent none. */
static void keep_switch_flags(struct jk_session *s)
{
    if (jk_stream_switches(&s->stream, s->switch_flags) < 0)
        for (int i = 0; i < JK_SWITCH_COUNT; i++)
            s->switch_flags[i] = -1;
}

static int read_once(struct jk_session *s, struct jk_cell_info *ci, int keep)
{
    int64_t deadline = gatt_now_ms() + s->timeout_ms;
    unsigned long before;
    int rc;

    s->error[0] = '\0';
    before = s->connected ? s->gatt.requests : 0;
    if (!s->connected && (rc = open_link(s, deadline)) < 0) {
        s->requests_last = s->gatt.requests;
        return rc;
    }
    /* Streaming since the last poll: take everything already queued, so the
     * newest frame wins; wait only if none came. */
    rc = gatt_pump(&s->gatt, gatt_now_ms(), NULL);
    if (rc == 0)
        rc = gatt_pump(&s->gatt, deadline, have_cell);
    if (rc < 0)
        return fail(s, rc, "waiting for cell info");
    rc = jk_stream_take_cell_info(&s->stream, ci);
    s->requests_last = s->gatt.requests - before;
    keep_switch_flags(s);
    if (rc == -EAGAIN) {
        snprintf(s->error, sizeof(s->error), "%s: no valid cell-info frame within %d ms",
                 s->address, s->timeout_ms);
        jk_session_close(s);
        return -ETIMEDOUT;
    }
    if (rc < 0) {
        snprintf(s->error, sizeof(s->error), "%s: %s", s->address, jk_stream_error(&s->stream));
        jk_session_close(s);
        return rc;
    }
    if (!keep)
        jk_session_close(s);
    return 0;
}

int jk_session_read(struct jk_session *s, struct jk_cell_info *ci, int keep)
{
    int rc = read_once(s, ci, keep);

    /* Without a bond handles hold for one connection only: after any poll
     * that got no valid frame they may be what went wrong, so the next
     * connection discovers again. */
    if (rc < 0)
        s->have_handles = 0;
    check_firmware(s);
    return rc;
}

/* ---- switch commands ---- */

/* gatt_pump() conditions: a counter passed s->wait_since. */
static int have_ack(void *user)
{
    const struct jk_session *s = user;
    return s->stream.as.acks > s->wait_since;
}

static int have_settings(void *user)
{
    const struct jk_session *s = user;
    return s->stream.settings_frames > s->wait_since;
}

static int64_t step_deadline(int64_t deadline, int step_ms)
{
    int64_t step = gatt_now_ms() + step_ms;
    return step < deadline ? step : deadline;
}

/* The variant, decided from a cell-info frame when the configuration and
 * the device info leave it open: JK_PROTO_* or a negative errno. */
static int switch_variant(struct jk_session *s, int64_t deadline)
{
    struct jk_cell_info ci;
    int rc;

    if (s->stream.proto != JK_PROTO_AUTO)
        return s->stream.proto;
    rc = gatt_pump(&s->gatt, deadline, have_cell);
    if (rc < 0)
        return fail(s, rc, "waiting for cell info to tell the variant");
    if (jk_stream_take_cell_info(&s->stream, &ci) < 0 || s->stream.proto == JK_PROTO_AUTO) {
        snprintf(s->error, sizeof(s->error),
                 "%s: cannot tell the frame layout, so no switch frame is sent: set protocol",
                 s->address);
        return -ENOPROTOOPT;
    }
    return s->stream.proto;
}

/* Write `frame`, then wait up to step_ms for `done` (a counter passing
 * `since`): 1 when it came, 0 when not (the link stays up), or the link's
 * error (closed; s->error names `what`). */
static int exchange(struct jk_session *s, const uint8_t frame[JK_CMD_LEN], unsigned long since,
                    int (*done)(void *), int step_ms, int64_t deadline, const char *what)
{
    int rc;

    s->wait_since = since;
    if ((rc = write_frame(s, frame, deadline)) < 0)
        return fail(s, rc, what);
    rc = gatt_pump(&s->gatt, step_deadline(deadline, step_ms), done);
    if (rc < 0)
        return fail(s, rc, what);
    return done(s);
}

/* Request the settings again and take the next cell info after them. */
static int read_back(struct jk_session *s, int sw, int on, int64_t deadline,
                     struct jk_switch_result *out)
{
    uint8_t request[JK_CMD_LEN];
    int flags[JK_SWITCH_COUNT], rc;

    jk_build_command(JK_CMD_CELL_INFO, request);
    rc = exchange(s, request, s->stream.settings_frames, have_settings, JK_READBACK_WAIT_MS,
                  deadline, "reading the settings back");
    if (rc < 0)
        return rc;
    if (rc == 0) {
        snprintf(s->error, sizeof(s->error),
                 "%s: %s acknowledged, but no settings frame came back: state unknown",
                 s->address, jk_switch_name(sw));
        return -ETIMEDOUT;
    }
    s->stream.has_cell_frame = 0; /* only a cell-info frame after the settings counts */
    rc = gatt_pump(&s->gatt, step_deadline(deadline, JK_READBACK_WAIT_MS), have_cell);
    if (rc < 0)
        return fail(s, rc, "waiting for the cell info read back");
    rc = jk_stream_take_cell_info(&s->stream, &out->ci);
    if (rc < 0) {
        snprintf(s->error, sizeof(s->error), "%s: %s acknowledged, but %s: state unknown",
                 s->address, jk_switch_name(sw),
                 rc == -EAGAIN ? "no cell-info frame came back" : jk_stream_error(&s->stream));
        return rc == -EAGAIN ? -ETIMEDOUT : rc;
    }
    out->has_ci = 1;
    keep_switch_flags(s);
    if (jk_stream_switches(&s->stream, flags) < 0) {
        snprintf(s->error, sizeof(s->error), "%s: the settings frame read back does not decode",
                 s->address);
        return -EPROTO;
    }
    out->state.flag = flags[sw];
    out->state.mosfet = sw == JK_SWITCH_CHARGE      ? out->ci.charging
                        : sw == JK_SWITCH_DISCHARGE ? out->ci.discharging
                                                    : -1;
    out->confirmed = jk_switch_confirmed(sw, on, &out->state, out->detail, sizeof(out->detail));
    return 0;
}

static int set_switch(struct jk_session *s, int sw, int on, struct jk_switch_result *out)
{
    int64_t deadline = gatt_now_ms() + s->timeout_ms;
    uint8_t frame[JK_CMD_LEN];
    int proto, rc;

    if (!s->connected) {
        if ((rc = open_link(s, deadline)) < 0)
            return rc;
        /* The BMS acks the 0x96 that opened the link too, after its settings
         * frame: let that ack pass before counting the write's. */
        s->wait_since = s->stream.settings_frames;
        rc = gatt_pump(&s->gatt, step_deadline(deadline, JK_SETTLE_MS), have_settings);
        if (rc == 0)
            rc = gatt_pump(&s->gatt, step_deadline(deadline, JK_ACK_AFTER_MS), NULL);
    } else {
        rc = gatt_pump(&s->gatt, gatt_now_ms(), NULL); /* what is queued */
    }
    if (rc < 0)
        return fail(s, rc, "before the write");
    proto = switch_variant(s, deadline);
    if (proto < 0)
        return proto;
    rc = jk_build_switch_frame(proto, sw, on, frame);
    if (rc < 0) {
        snprintf(s->error, sizeof(s->error), "%s: a %s BMS has no %s switch", s->address,
                 jk_protocol_name(proto), jk_switch_name(sw));
        return rc;
    }
    rc = exchange(s, frame, s->stream.as.acks, have_ack, JK_ACK_WAIT_MS, deadline,
                  "writing the switch frame");
    if (rc < 0)
        return rc;
    if (rc == 0) {
        snprintf(s->error, sizeof(s->error), "%s: %s %s: no acknowledgement: state unknown",
                 s->address, jk_switch_name(sw), on ? "on" : "off");
        return -ETIMEDOUT;
    }
    return read_back(s, sw, on, deadline, out);
}

int jk_session_set_switch(struct jk_session *s, int sw, int on, int keep,
                          struct jk_switch_result *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->state.flag = out->state.mosfet = -1;
    s->error[0] = '\0';
    rc = set_switch(s, sw, on, out);
    if (rc < 0 && rc != -EOPNOTSUPP && rc != -ENOPROTOOPT)
        s->have_handles = 0;
    if (!keep || (rc < 0 && rc != -EOPNOTSUPP && rc != -ENOPROTOOPT))
        jk_session_close(s);
    check_firmware(s);
    return rc;
}

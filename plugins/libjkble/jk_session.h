/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One JK BMS over a BLE (or simulated) link: connect, discover by UUID,
 * subscribe, request, and wait for a valid cell-info record. Used by the
 * jk_ble source and by jkbms-util. */
#ifndef COLLECTORD_PLUGINS_JK_BLE_JK_SESSION_H
#define COLLECTORD_PLUGINS_JK_BLE_JK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libble/gatt.h"
#include "plugins/libjk/jk_control.h"
#include "plugins/libjk/jk_stream.h"

struct jk_session {
    /* settings */
    char address[18];
    char adapter[32];
    char transport[256];
    int address_type; /* BLE_ADDR_*; AUTO becomes the type that connected */
    int timeout_ms;
    /* When set, connection attempts take this lock file first, so instances
     * sharing an adapter connect one at a time (the kernel's LE connect). */
    char lock_path[512];
    /* link */
    int fd;
    int stop_fd;
    int connected;
    struct gatt_client gatt;
    /* handles found by discovery, kept across reconnects while polls succeed
     * and the firmware version stays the same */
    int have_handles;
    uint16_t write_handle, notify_handle, cccd_handle;
    char firmware[20]; /* "hw/sw" of the last device info */
    struct jk_stream stream;
    /* optional raw capture of every notification (jkbms-util --hex) */
    void (*on_raw)(void *user, const uint8_t *data, size_t len);
    void *raw_user;
    unsigned long requests_last; /* ATT requests of the last jk_session_read */
    unsigned long wait_since;    /* a command step waits for a counter to pass this */
    /* The switch flags of the settings frame of the last read's link or a
     * command's read-back (JK_SWITCH_*; -1: none came, or the variant has none) */
    int switch_flags[JK_SWITCH_COUNT];
    char error[300];
};

void jk_session_init(struct jk_session *s, int proto, int stop_fd);
/* Read one cell-info record within s->timeout_ms: 0 and *ci; a negative
 * errno with s->error set. keep: leave the link up for the next call. */
int jk_session_read(struct jk_session *s, struct jk_cell_info *ci, int keep);
void jk_session_close(struct jk_session *s);

/* Bounds of a switch command's steps (each also within s->timeout_ms). */
#define JK_ACK_WAIT_MS      3000 /* the BMS acks in 85-247 ms (app captures) */
#define JK_READBACK_WAIT_MS 5000 /* settings answer, then the next cell info (~0.54 s) */
#define JK_SETTLE_MS        1500 /* a new link: the answer to its settings request */
#define JK_ACK_AFTER_MS     250  /* ... and the ack that follows that answer */

/*
 * Set switch `sw` (JK_SWITCH_*) to `on` over the link (connecting first if
 * needed), then read back: the write frame on the write characteristic, its
 * acknowledgement awaited, then a settings request (0x96) answered by a new
 * settings frame and the next cell-info frame after it.
 * 0 and *out when the BMS acknowledged and answered the read-back (confirmed
 * or not); -EOPNOTSUPP when the variant has no such switch, -ENOPROTOOPT
 * when the variant cannot be told (nothing written in both cases); else a
 * negative errno with s->error, the state unknown (no ack, no read-back,
 * link lost). keep: leave the link up afterwards.
 */
int jk_session_set_switch(struct jk_session *s, int sw, int on, int keep,
                          struct jk_switch_result *out);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One JK BMS pack on a serial line: RS485 Modbus RTU (JK-PB, through
 * libmodbus) or the 0x4E57 UART protocol of older packs. Opens the port,
 * takes the bus for one exchange at a time, reads one pack, and says what
 * went wrong in one line naming the device and the slave. Used by the
 * jk_serial plugin and `jkbms-util --serial`. */
#ifndef COLLECTORD_PLUGINS_JK_SERIAL_JK_WIRE_H
#define COLLECTORD_PLUGINS_JK_SERIAL_JK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"

#define JK_WIRE_MODBUS 0
#define JK_WIRE_UART   1

/* Modbus map of the JK-PB series: register addresses count bytes. */
#define JK_MB_LIVE_BASE 0x1200
#define JK_MB_LIVE_LEN  272 /* bytes read from the live block, two reads of 68 registers */
#define JK_MB_INFO_BASE 0x1400
#define JK_MB_INFO_LEN  96 /* bytes read from the device-info block, one read */

/* "modbus" / "uart" -> JK_WIRE_*; -EINVAL. */
int jk_wire_protocol_parse(const char *name, int *out);
const char *jk_wire_protocol_name(int protocol);

/* Sees every raw exchange (for --hex): `sent` 1 for bytes written, 0 read. */
typedef void (*jk_wire_raw_fn)(void *user, int sent, const uint8_t *data, size_t len);

struct jk_wire_port; /* the open port (opaque) */

struct jk_wire {
    char device[256];
    int protocol; /* JK_WIRE_* */
    int slave;    /* Modbus address 1-15 */
    int baudrate;
    int timeout_ms;        /* for one answer */
    int stop_fd;           /* readable when the caller wants to give up, or -1 */
    jk_wire_raw_fn on_raw; /* may be NULL */
    void *raw_user;
    struct jk_wire_port *port; /* NULL while closed */
    char error[512];           /* why the last call failed */
};

/* Fill the settings (device borrowed, copied; -ENAMETOOLONG). Closed. */
int jk_wire_init(struct jk_wire *w, const char *device, int protocol, int slave, int baudrate,
                 int timeout_ms);
/* Open the device: 0, or a negative errno with w->error (-ENOENT: no such
 * device, -EACCES: permission, the line names the dialout group). */
int jk_wire_open(struct jk_wire *w);
/* Close it. Safe when closed. */
void jk_wire_close(struct jk_wire *w);
/* 1 while open. */
int jk_wire_is_open(const struct jk_wire *w);

/*
 * Read the pack once, holding the bus (an exclusive flock(2) on the device,
 * shared by every opener, across instances and processes) for the exchange.
 * 0 and *ci, *di (*has_di 1 when device info came); or a negative errno with
 * w->error: -ETIMEDOUT no answer, -EBADMSG bad CRC/checksum or a frame that
 * does not decode, -EPROTO an exception response, -ENODEV the device went
 * away (closed; reopen later), -EBUSY the bus stayed taken, -ECANCELED stop.
 */
int jk_wire_read(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                 int *has_di);

#endif

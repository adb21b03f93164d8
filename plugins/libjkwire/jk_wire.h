/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One JK BMS pack on a serial line: RS485 Modbus RTU (JK-PB: the trigger
 * protocol of JK's own bus master, FC 0x03 register reads, or listening to
 * a master pack) or the 0x4E57 UART protocol of older packs. Opens the
 * port, takes the bus for one read at a time, reads one pack, and says what
 * went wrong in one line naming the device and the slave. Every exchange
 * is our own RTU code over the raw port, so each one has a whole-answer
 * deadline and watches the stop fd. Used by the jk_serial plugin and
 * `jkbms-util --serial`. */
#ifndef COLLECTORD_PLUGINS_JK_SERIAL_JK_WIRE_H
#define COLLECTORD_PLUGINS_JK_SERIAL_JK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "plugins/libjk/jk_decode.h"

#define JK_WIRE_MODBUS 0
#define JK_WIRE_UART   1

/* How a JK-PB is asked (Modbus only). */
#define JK_WIRE_TRIGGER   0 /* FC 0x10 to 0x1620 (0x161E, 0x161C): the 300-byte frame */
#define JK_WIRE_REGISTERS 1 /* FC 0x03 register reads (needs a warm bus) */

/* Who drives the bus (Modbus only). */
#define JK_BUS_AUTO   0 /* listen first: a master pack heard -> listen, else master */
#define JK_BUS_MASTER 1 /* we poll */
#define JK_BUS_LISTEN 2 /* a master pack polls: decode what the packs answer it, write nothing */

/* Modbus map of the JK-PB series: register addresses count bytes. */
#define JK_MB_LIVE_BASE 0x1200
#define JK_MB_LIVE_LEN  0x100 /* live block image: the documented spans up to T5 (0xFC) */
#define JK_MB_INFO_BASE 0x1400
#define JK_MB_INFO_REGS 20   /* the documented info block, 0x1400-0x1427 */
#define JK_MB_INFO_LEN  0x60 /* image with the optional name, date and serial */
#define JK_MB_MAX_REGS  32   /* registers per read unless max_registers says more */

/* The trigger protocol: FC 0x10 writes whose answer is a 300-byte frame. */
#define JK_TRIGGER_STATUS   0x1620 /* frame type 0x02, the BLE cell-info layout */
#define JK_TRIGGER_SETTINGS 0x161E /* frame type 0x01 */
#define JK_TRIGGER_ABOUT    0x161C /* frame type 0x03, the device-info layout */
#define JK_TRIGGER_ANSWER   310    /* from 55 AA: frame 300, 00, FC 0x10 ack 8, 00 */

/* The names of the settings' values, NULL-terminated, indexed by their
 * constants: JK_WIRE_MODBUS / _UART, JK_WIRE_TRIGGER / _REGISTERS, JK_BUS_*. */
extern const char *const jk_wire_protocols[];
extern const char *const jk_wire_requests[];
extern const char *const jk_wire_bus_modes[];

/* "modbus" / "uart" -> JK_WIRE_*; -EINVAL. */
int jk_wire_protocol_parse(const char *name, int *out);
const char *jk_wire_protocol_name(int protocol);
/* "trigger" / "registers" -> JK_WIRE_TRIGGER / _REGISTERS; -EINVAL. */
int jk_wire_request_parse(const char *name, int *out);
/* "auto" / "master" / "listen" -> JK_BUS_*; -EINVAL. */
int jk_wire_bus_mode_parse(const char *name, int *out);

/* Sees every raw exchange (for --hex): `sent` 1 for bytes written, 0 read.
 * Passcodes and passwords are zeroed before it sees them. */
typedef void (*jk_wire_raw_fn)(void *user, int sent, const uint8_t *data, size_t len);

struct jk_wire_port; /* the open port (opaque) */

struct jk_wire {
    char device[256];
    int protocol; /* JK_WIRE_MODBUS / _UART */
    int slave;    /* Modbus address 1-15; 0 (the master pack) only when listening */
    int baudrate;
    int timeout_ms;        /* for one whole exchange, request to last byte */
    int request;           /* JK_WIRE_TRIGGER (default) or JK_WIRE_REGISTERS */
    int bus_mode;          /* JK_BUS_AUTO (default), _MASTER or _LISTEN */
    int max_registers;     /* per FC 0x03 read, default JK_MB_MAX_REGS */
    int gap_ms;            /* quiet time before every command, default 100 */
    int listen_ms;         /* auto: how long to listen for a master first, default 300 */
    int listen_timeout_ms; /* listen: how long one read waits for this pack's frame */
    int stop_fd;           /* readable when the caller wants to give up, or -1 */
    jk_wire_raw_fn on_raw; /* may be NULL */
    void *raw_user;
    struct jk_wire_port *port; /* NULL while closed */
    char error[512];           /* why the last call failed */
    char notice[512];          /* the bus mode, once decided or changed: say it, then clear */
    int notice_mode;           /* the JK_BUS_* mode `notice` announces, or -1 (another notice) */
};

/* Fill the settings (device borrowed, copied; -ENAMETOOLONG) and the
 * defaults of the others (trigger, auto, 32 registers, 100 ms gap). Closed. */
int jk_wire_init(struct jk_wire *w, const char *device, int protocol, int slave, int baudrate,
                 int timeout_ms);
/* Open the device: 0, or a negative errno with w->error (-ENOENT: no such
 * device, -EACCES: permission, the line names the dialout group). */
int jk_wire_open(struct jk_wire *w);
/* Close it. Safe when closed. */
void jk_wire_close(struct jk_wire *w);

/*
 * Read the pack once, holding the bus (an exclusive flock(2) on the device,
 * shared by every opener, across instances and processes) for the exchanges:
 * each command after gap_ms of quiet, each answer within timeout_ms as a
 * whole (a pack that trickles bytes does not stretch it), one retry on a
 * timeout or a bad CRC, stop_fd watched throughout. When listening, nothing
 * is written: the read waits up to listen_timeout_ms for what this pack
 * answers the master. 0 and *ci, *di (*has_di 1 when device info came); or
 * a negative errno with w->error: -ETIMEDOUT no answer, -EBADMSG bad
 * CRC/checksum or a frame that does not decode, -EPROTO an exception
 * response, -ENODEV the device went away (closed; reopen later), -EBUSY the
 * bus stayed taken, -ECANCELED stop. w->notice may be set either way.
 */
int jk_wire_read(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                 int *has_di);

/*
 * For the other modules of libjkwire (jk_wire_switch.c), between
 * jk_wire_hold_bus() and jk_wire_release_bus():
 * - jk_wire_hold_bus: open the port if closed, take the bus lock, and make
 *   sure the bus is ours to drive (auto: listen first): 0, -EPERM when a
 *   master pack polls it (nothing may be written; the lock is not held),
 *   or another negative errno, w->error saying why.
 * - jk_wire_command: after the quiet gap, send `req` (`len` bytes) and take
 *   the answer of w's slave with req's function code, `want` bytes with a
 *   good CRC, into `answer` (an echo of req by the adapter is skipped): 0,
 *   -EPROTO for an exception answer, -EPERM when a master pack spoke up in
 *   the gap (nothing sent), -ETIMEDOUT, -EBADMSG. Never retried.
 * - jk_wire_read_registers: FC 0x03 of n registers at reg into out (2n
 *   bytes), after the gap, retried once on a timeout or a bad CRC.
 */
int jk_wire_hold_bus(struct jk_wire *w);
void jk_wire_release_bus(struct jk_wire *w);
int jk_wire_command(struct jk_wire *w, const uint8_t *req, size_t len, uint8_t *answer,
                    size_t want);
int jk_wire_read_registers(struct jk_wire *w, int reg, int n, uint8_t *out);

#endif

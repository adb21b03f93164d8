/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A JK-PB's switches over RS485 Modbus RTU: the FC 0x10 write (quantity 2,
 * uint32 big-endian) of the facts sheet, its echo checked byte for byte,
 * then the read-back of the switch register and of the MOSFETs (0x12C0).
 * Used by jk_serial and `jkbms-util --serial --set`. */
#ifndef COLLECTORD_PLUGINS_LIBJKWIRE_JK_WIRE_SWITCH_H
#define COLLECTORD_PLUGINS_LIBJKWIRE_JK_WIRE_SWITCH_H

#include "plugins/libjk/jk_control.h"
#include "plugins/libjkwire/jk_wire.h"

/* How often 0x12C0 is read while the flag agrees and the MOSFET not yet
 * (its latency is unmeasured), each after the bus's quiet gap. */
#define JK_WIRE_MOSFET_READS 3

/*
 * Set switch `sw` (JK_SWITCH_*) of w's slave to `on` and read it back,
 * holding the bus for the whole. 0 and *out when the slave echoed the write
 * and answered the read-back (confirmed or not); -EOPNOTSUPP on the 0x4E57
 * UART link and -EPERM when a master pack drives the bus, nothing written;
 * else a negative errno (no or another echo, no read-back: the state is
 * unknown). w->error says why in each case. Opens the port if closed.
 */
int jk_wire_set_switch(struct jk_wire *w, int sw, int on, struct jk_switch_result *out);

/* The three switch flags of w's slave (flags[JK_SWITCH_*], 0/1) by one FC 0x03
 * read of 0x1070..0x107B, for the records: 0, or a negative errno with
 * w->error (a master pack drives the bus: -EPERM, nothing sent). */
int jk_wire_read_switches(struct jk_wire *w, int flags[JK_SWITCH_COUNT]);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* links: the wires the pylontech sink answers on. A serial port (RS485
 * adapter) set raw 8N1 at a baud rate, and a CAN link: SocketCAN
 * ("can0"), or "unix:PATH", a SOCK_SEQPACKET stand-in carrying one 16-byte
 * struct can_frame per packet (tests, and a CAN bridge of the user's own).
 * Each returns a non-blocking fd or a negative errno, with one line in
 * `err` saying why. */
#ifndef COLLECTORD_PLUGINS_PYLONTECH_LINKS_H
#define COLLECTORD_PLUGINS_PYLONTECH_LINKS_H

#include <stddef.h>

/* The baud rates the serial link takes (0 ends the list). */
extern const long links_baud_rates[];

int links_open_serial(const char *device, long baud, char *err, size_t size);
int links_open_can(const char *interface, char *err, size_t size);
/* 1 when `interface` is a usable CAN interface name or unix:PATH. */
int links_can_name_ok(const char *interface);

#endif

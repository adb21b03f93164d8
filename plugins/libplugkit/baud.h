/* SPDX-License-Identifier: GPL-2.0-or-later */
/* baud: a serial port's bit rate as the termios constant, for every plugin
 * that opens a port (jk_serial's packs, the pylontech inverter link). */
#ifndef COLLECTORD_PLUGINS_LIBPLUGKIT_BAUD_H
#define COLLECTORD_PLUGINS_LIBPLUGKIT_BAUD_H

#include <termios.h>

/* B9600 ... B230400, or B0 for a rate 8N1 RS485 adapters do not take. */
static inline speed_t plugkit_baud(long baud)
{
    switch (baud) {
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    case 230400:
        return B230400;
    default:
        return B0;
    }
}

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Discovery of JK BMS devices through the kernel's management interface
 * (mgmt.h): jkbms-util --scan. Runs over any fd carrying one mgmt packet per
 * message: the kernel's HCI_CHANNEL_CONTROL socket, or "unix:PATH" to a
 * simulated kernel. */
#ifndef COLLECTORD_PLUGINS_JK_BLE_JK_SCAN_H
#define COLLECTORD_PLUGINS_JK_BLE_JK_SCAN_H

#include <stdio.h>

#include "plugins/libjkble/jk_devices.h"

struct jk_found {
    struct jk_device dev; /* address, address_type and name */
    int rssi;
};

/*
 * Discover for `seconds` (or until stop_fd is readable) over the mgmt socket
 * fd on controller `index`, or (-1) on the first of the kernel's list that
 * is powered with LE on (Read Controller Information for each), collecting
 * JK devices into out. When none fits, one line names each controller's
 * state (powered off, BR/EDR only, LE switched off). Starts an LE discovery
 * (public and random addresses); a Discovering 0 is not its end (the kernel
 * pauses and resumes discoveries): only when no Discovering 1 follows
 * within a second is it started again. Stops it before returning, also
 * when stopped. When a discovery already runs (Busy) it says so on `note`
 * and listens to that one's Device Found events. Returns the count found,
 * -ECANCELED when stopped, or a negative errno with one line in err (no
 * permission, adapter off or blocked, no adapter...).
 * want_name (NULL: none): also report a device advertising exactly this
 * name though it does not look like a JK BMS, and end the discovery as soon
 * as it is seen. note may be NULL.
 */
int jk_scan_fd(int fd, int index, int seconds, int stop_fd, const char *want_name,
               struct jk_found *out, size_t cap, FILE *note, char *err, size_t err_size);

/* jk_scan_fd on the kernel's mgmt socket (transport NULL, "" or "bluetooth")
 * or on unix:PATH; adapter "hciN" (NULL or "": the first that fits). */
int jk_scan(const char *transport, const char *adapter, int seconds, int stop_fd,
            const char *want_name, struct jk_found *out, size_t cap, FILE *note, char *err,
            size_t err_size);

#endif

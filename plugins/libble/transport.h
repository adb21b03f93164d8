/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening the ATT channel to a peer: an LE L2CAP socket on fixed channel 4
 * (libbluetooth), or "unix:PATH", an AF_UNIX SOCK_SEQPACKET socket to a
 * simulator, one packet per PDU.
 *
 * The unix transport opens with a link-setup packet, the stand-in for the
 * kernel's part of an LE connect (the address and its type):
 *   we send    00 <type: 01 public, 02 random> <address: 17 ASCII characters>
 *   answer     00 <errno, LE16> (0: connected; else the connect's errno)
 *   or silence, as the kernel gives for a peer that never shows up (a wrong
 *   address type): the connect times out.
 * Then ATT PDUs as over L2CAP (0x00 is no ATT opcode). The simulators:
 * tests/plugins/jk_ble/jk_sim.py (a BMS) and mgmt_sim.py (the kernel's
 * management socket, which relays a link setup to a BMS simulator). */
#ifndef COLLECTORD_PLUGINS_LIBBLE_TRANSPORT_H
#define COLLECTORD_PLUGINS_LIBBLE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define BLE_ADDR_AUTO   0
#define BLE_ADDR_PUBLIC 1
#define BLE_ADDR_RANDOM 2

/* "auto", "public", "random" -> BLE_ADDR_*; -EINVAL. */
int ble_address_type_parse(const char *s, int *out);
/* 1 if s looks like AA:BB:CC:DD:EE:FF. */
int ble_address_valid(const char *s);

/*
 * Connect within timeout_ms (also woken by stop_fd). transport NULL, "" or
 * "bluetooth" means Bluetooth on `adapter` ("hci0"; NULL = the default);
 * "unix:PATH" a simulator, which also plays the kernel's part of the connect
 * (see unix_link_setup in transport.c). On success *fd_out and *type_used
 * (BLE_ADDR_PUBLIC or _RANDOM). On failure a negative errno and one line in
 * err saying what happened and what to do. address_type AUTO tries public for
 * a third of timeout_ms, then random (only after a timeout) for another
 * third (again after a pause while it meets EBUSY: ble_auto_retry_ms), and
 * reports the first attempt's error.
 */
int ble_connect(const char *transport, const char *adapter, const char *address,
                int address_type, int timeout_ms, int stop_fd, int *fd_out, int *type_used,
                char *err, size_t err_size);

/* address_type AUTO: a second attempt (random) that meets EBUSY, the first
 * one still being torn down by the kernel, is made again after a pause. */
#define BLE_BUSY_PAUSE_MS 250
#define BLE_BUSY_RETRIES  3
/* The pause (ms) before the next random attempt after one that returned rc
 * with `retries` retries made and left_ms of its time left; -1: no retry. */
int ble_auto_retry_ms(int rc, int retries, int64_t left_ms);

/* The errno to report when hci_devid() / hci_devba() failed with err:
 * ENETDOWN (the adapter is not up) and EAFNOSUPPORT as they are; any
 * other failure means no such adapter (ENODEV). */
int ble_adapter_errno(int err);

/* The one line for a failed connect to address (type BLE_ADDR_*) with errno
 * e: EACCES / EBADE (HCI 0x05, 0x18 / 0x06) are an authentication failure,
 * a stale bond (`bluetoothctl remove ADDR`); the rest as ble_errno_hint. */
void ble_connect_error(char *err, size_t err_size, const char *address, int type, int e);

/* Wait for a non-blocking connect on fd: 0, or a negative errno (SO_ERROR;
 * -ECONNRESET for a hang-up without an error; -ETIMEDOUT; -ECANCELED). */
int ble_wait_connected(int fd, int timeout_ms, int stop_fd);

/* 1 for "unix:PATH", 0 for Bluetooth (NULL, "" or "bluetooth"), else -EINVAL. */
int ble_transport_is_unix(const char *transport);
/* A non-blocking AF_UNIX SOCK_SEQPACKET socket connected to path: the fd, or
 * a negative errno with one line in err. */
int ble_unix_open(const char *path, char *err, size_t err_size);

/* One line for an errno met on a Bluetooth socket (socket, bind, connect,
 * discovery), saying what to do: the kernel's codes, as bt_to_errno() maps
 * HCI status codes (ENOSYS for 0x3E, which it has no errno for). */
const char *ble_errno_hint(int err);

#endif

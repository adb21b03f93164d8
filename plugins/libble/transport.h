/* Opening the ATT channel to a peer: an LE L2CAP socket on fixed channel 4
 * (libbluetooth), or "unix:PATH", an AF_UNIX SOCK_SEQPACKET socket to a
 * simulated peripheral speaking the same ATT, one PDU per packet. */
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
 * Connect within timeout_ms (also woken by stop_fd). transport NULL or ""
 * means Bluetooth on `adapter` ("hci0"; NULL = the default). On failure a
 * negative errno and one line in err saying what happened and what to do
 * (no Bluetooth in this kernel, no adapter, missing capability, ...).
 * address_type AUTO tries public, then random.
 */
int ble_connect(const char *transport, const char *adapter, const char *address,
                int address_type, int timeout_ms, int stop_fd, int *fd_out, char *err,
                size_t err_size);

/* A one-line explanation of a socket() / bind() errno for AF_BLUETOOTH. */
const char *ble_errno_hint(int err);

#endif

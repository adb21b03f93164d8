/* LE discovery of JK BMS devices on an HCI adapter (jkbms-util --scan). */
#ifndef COLLECTORD_PLUGINS_JK_BLE_JK_SCAN_H
#define COLLECTORD_PLUGINS_JK_BLE_JK_SCAN_H

#include <stdio.h>

#include "plugins/jk_ble/jk_devices.h"

struct jk_found {
    struct jk_device dev;
    int rssi;
};

/* Listen for advertising reports for `seconds` on `adapter` (NULL: the
 * default) and collect JK devices. Starts an active scan when the controller
 * accepts one; when refused (bluetoothd scanning already) says so on `note`
 * and listens to the reports of that scan. The count found, or a negative
 * errno with one line in err (no Bluetooth, no adapter, no permission). */
int jk_scan(const char *adapter, int seconds, struct jk_found *out, size_t cap, FILE *note,
            char *err, size_t err_size);

#endif

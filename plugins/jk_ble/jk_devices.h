/* jk_devices.yaml, the seed's device list: a mapping from BLE address to
 * {address, last_seen, name}. */
#ifndef COLLECTORD_PLUGINS_JK_BLE_JK_DEVICES_H
#define COLLECTORD_PLUGINS_JK_BLE_JK_DEVICES_H

#include <stddef.h>

/* The first device's address (and name, may be "") from `path`: 0, -ENOENT
 * (no file or no device), -EINVAL with "path:line: ..." in err. */
int jk_devices_first(const char *path, char *address, size_t address_cap, char *name,
                     size_t name_cap, char *err, size_t err_size);

#endif

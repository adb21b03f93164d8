/* jk_devices.yaml, the seed's device list: a mapping from BLE address to
 * {address, last_seen, name}. */
#ifndef COLLECTORD_PLUGINS_JK_BLE_JK_DEVICES_H
#define COLLECTORD_PLUGINS_JK_BLE_JK_DEVICES_H

#include <stddef.h>

/* The first device's address (and name, may be "") from `path`: 0, -ENOENT
 * (no file or no device), -EINVAL with "path:line: ..." in err. */
int jk_devices_first(const char *path, char *address, size_t address_cap, char *name,
                     size_t name_cap, char *err, size_t err_size);

struct jk_device {
    char address[18];
    char name[64];
    char last_seen[40];
};

/* Every device of `path` in file order (at most cap): the count, 0 when the
 * file is missing, -EINVAL with "path:line: ..." in err. */
int jk_devices_load(const char *path, struct jk_device *out, size_t cap, char *err,
                    size_t err_size);
/* Write devices in the seed's format (address -> address, last_seen, name),
 * through a temp file renamed over `path`. */
int jk_devices_save(const char *path, const struct jk_device *devs, size_t n, char *err,
                    size_t err_size);

#endif

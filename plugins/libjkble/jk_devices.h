/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_devices.yaml, the seed's device list: a mapping from BLE address to
 * {address, last_seen, name}, plus address_type (public or random), which
 * jkbms-util --scan adds and the seed's reader ignores. */
#ifndef COLLECTORD_PLUGINS_JK_BLE_JK_DEVICES_H
#define COLLECTORD_PLUGINS_JK_BLE_JK_DEVICES_H

#include <stddef.h>

struct jk_device {
    char address[18];
    int address_type; /* BLE_ADDR_*: AUTO when the file does not say */
    char name[64];
    char last_seen[40];
};

/* The first device from `path`: 0 and *out, -ENOENT (no file or no device),
 * -EINVAL with "path:line: ..." in err. */
int jk_devices_first(const char *path, struct jk_device *out, char *err, size_t err_size);
/* The device named exactly `name` in `path`: 0 and *out, -ENOENT (no file
 * or no such device), -EINVAL with err set. */
int jk_devices_by_name(const char *path, const char *name, struct jk_device *out, char *err,
                       size_t err_size);
/* The address type recorded for `address` in `path`: BLE_ADDR_PUBLIC or
 * _RANDOM, AUTO when unknown (no file, no entry, no address_type), or
 * -EINVAL with err set. */
int jk_devices_address_type(const char *path, const char *address, char *err, size_t err_size);

/* Every device of `path` in file order (at most cap): the count, 0 when the
 * file is missing, -EINVAL with "path:line: ..." in err (also for a FIFO, a
 * device or a directory, refused without waiting on it). */
int jk_devices_load(const char *path, struct jk_device *out, size_t cap, char *err,
                    size_t err_size);
/* Write devices in the seed's format (address -> address, last_seen, name),
 * through a temp file renamed over `path`. */
int jk_devices_save(const char *path, const struct jk_device *devs, size_t n, char *err,
                    size_t err_size);

#endif

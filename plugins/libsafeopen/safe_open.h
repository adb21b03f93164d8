/* SPDX-License-Identifier: GPL-2.0-or-later */
/* safe_open: open a file named by a setting or a variable to read it,
 * without waiting on whatever is behind the name. A FIFO blocks open(2)
 * until a writer comes; a device or /dev/zero never ends; a directory makes
 * stdio and flex fail late and vaguely. Used by the core (the config file
 * and its includes) and by every plugin that reads a file a setting names. */
#ifndef COLLECTORD_PLUGINS_LIBSAFEOPEN_SAFE_OPEN_H
#define COLLECTORD_PLUGINS_LIBSAFEOPEN_SAFE_OPEN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Refuse a symbolic link as the last component (O_NOFOLLOW): for a name in
 * a directory another user may write to. */
#define SAFE_OPEN_NOFOLLOW 0x1u

/*
 * Open `path` read-only with O_NONBLOCK (so a FIFO or a device answers at
 * once), check with fstat that it is a regular file, then clear O_NONBLOCK.
 * 0 and *fd_out (owned by the caller: close) or a negative errno and one
 * line in `err`: "<path>: <reason>" (-EISDIR a directory, -EINVAL a FIFO,
 * socket or device, -ELOOP a symlink refused by SAFE_OPEN_NOFOLLOW, else
 * open's own errno).
 */
int safe_open_read(const char *path, unsigned flags, int *fd_out, char *err, size_t err_size);
/* The same as a stdio stream (owned by the caller: fclose). */
int safe_fopen_read(const char *path, unsigned flags, FILE **out, char *err, size_t err_size);
/* The whole file, read as safe_open_read opens it: at most `max` bytes
 * (-EFBIG beyond, "<path>: larger than N bytes"), NUL-terminated after
 * *len_out bytes, in a buffer sized to the file (owned by the caller: free). */
int safe_read_all(const char *path, unsigned flags, size_t max, char **out, size_t *len_out,
                  char *err, size_t err_size);
/* A secret's file (a token, a password): its first line, CR/LF removed, in
 * `out` (at most cap - 1 bytes), the file opened as safe_open_read opens it.
 * 0, -ENODATA when that line is empty, or safe_open_read's errors (and
 * -EIO for a failed read), each with one line in `err`. */
int safe_read_line(const char *path, unsigned flags, char *out, size_t cap, char *err,
                   size_t err_size);
/* What a file of this st_mode is, for an error line: "a directory",
 * "a FIFO", "a device", "a socket", "a regular file", ... */
const char *safe_open_kind(mode_t mode);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* statefile: an instance's small state files, written so that a planted
 * symlink or a crash can never damage anything. */
#ifndef COLLECTORD_CORE_STATEFILE_H
#define COLLECTORD_CORE_STATEFILE_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p `path`, the missing parts with `mode`. 0 or -errno. */
int statefile_make_dirs(const char *path, mode_t mode);

/* 1 when `name` is a plain file name: 1 to 128 bytes of [A-Za-z0-9._-],
 * not starting with '.'. */
int statefile_name_ok(const char *name);

/*
 * Replace `dir`/`name` with `len` bytes of `data`: a fresh file
 * `dir`/.`name`.XXXXXX made by mkstemp (O_CREAT|O_EXCL, so never through a
 * symlink), written, fsynced, renamed over `name` (rename replaces a symlink
 * itself, never its target), then the directory is fsynced. The file is
 * 0600. 0 or a negative errno; on failure `name` is unchanged.
 */
int statefile_write(const char *dir, const char *name, const void *data, size_t len);

/* Read `dir`/`name` (O_NOFOLLOW, a regular file only) into `buf`, at most
 * `size` bytes; *len gets the count. -ENOENT when absent, -ELOOP for a
 * symlink, -EFBIG when larger than `size`. */
int statefile_read(const char *dir, const char *name, void *buf, size_t size, size_t *len);

#endif

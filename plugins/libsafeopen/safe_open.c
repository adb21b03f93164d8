/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libsafeopen/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *safe_open_kind(mode_t mode)
{
    if (S_ISREG(mode))
        return "a regular file";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

int safe_open_read(const char *path, unsigned flags, int *fd_out, char *err, size_t err_size)
{
    int oflags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    struct stat st;
    int fd, rc;

    if (flags & SAFE_OPEN_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    fd = open(path, oflags);
    if (fd < 0) {
        rc = -errno;
        if (rc == -ELOOP && (flags & SAFE_OPEN_NOFOLLOW))
            snprintf(err, err_size, "%s: a symbolic link, refused here (name the file itself)",
                     path);
        else
            snprintf(err, err_size, "%s: %s", path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        snprintf(err, err_size, "%s: %s", path, strerror(-rc));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        snprintf(err, err_size, "%s: %s, not a regular file", path, safe_open_kind(st.st_mode));
        goto fail;
    }
    if (fcntl(fd, F_SETFL, O_RDONLY) != 0) {
        rc = -errno;
        snprintf(err, err_size, "%s: %s", path, strerror(-rc));
        goto fail;
    }
    *fd_out = fd;
    return 0;
fail:
    close(fd);
    return rc;
}

int safe_fopen_read(const char *path, unsigned flags, FILE **out, char *err, size_t err_size)
{
    FILE *fp;
    int fd = -1;
    int rc = safe_open_read(path, flags, &fd, err, err_size);

    if (rc < 0)
        return rc;
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        rc = -errno;
        snprintf(err, err_size, "%s: %s", path, strerror(-rc));
        close(fd);
        return rc;
    }
    *out = fp;
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libsafeopen/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

int safe_read_all(const char *path, unsigned flags, size_t max, char **out, size_t *len_out,
                  char *err, size_t err_size)
{
    struct stat st;
    size_t cap, len = 0;
    char *buf = NULL;
    int fd = -1;
    int rc = safe_open_read(path, flags, &fd, err, err_size);

    if (rc < 0)
        return rc;
    /* room for the file as it is now and one byte more (to see it is too
     * long), grown if it grows while read */
    cap = fstat(fd, &st) == 0 && (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
    for (;;) {
        ssize_t n;
        if (buf == NULL || len == cap) {
            char *bigger;
            if (buf != NULL)
                cap = cap > max / 2 ? max + 1 : cap * 2;
            bigger = realloc(buf, cap + 1);
            if (bigger == NULL) {
                rc = -ENOMEM;
                snprintf(err, err_size, "%s: out of memory", path);
                break;
            }
            buf = bigger;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            snprintf(err, err_size, "%s: %s", path, strerror(-rc));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            rc = -EFBIG;
            snprintf(err, err_size, "%s: larger than %zu bytes", path, max);
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *len_out = len;
    return 0;
}

int safe_read_line(const char *path, unsigned flags, char *out, size_t cap, char *err,
                   size_t err_size)
{
    FILE *fp = NULL;
    size_t n;
    int failed, rc = safe_fopen_read(path, flags, &fp, err, err_size);

    out[0] = '\0';
    if (rc < 0)
        return rc;
    n = fread(out, 1, cap - 1, fp);
    failed = ferror(fp);
    fclose(fp);
    if (failed) {
        out[0] = '\0';
        snprintf(err, err_size, "%s: cannot read it", path);
        return -EIO;
    }
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (out[0] == '\0') {
        snprintf(err, err_size, "%s: empty", path);
        return -ENODATA;
    }
    return 0;
}

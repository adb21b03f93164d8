/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/names.h"

/* The size of the 1.0 descriptor: everything up to and including destroy. */
#define PLUGIN_V1_0_SIZE                                                                          \
    (offsetof(struct collector_plugin, destroy) + sizeof(((struct collector_plugin *)0)->destroy))

const char *loader_kind_name(uint32_t kind)
{
    switch (kind) {
    case COLLECTOR_KIND_SOURCE:
        return "source";
    case COLLECTOR_KIND_CALCULATOR:
        return "calculator";
    case COLLECTOR_KIND_SINK:
        return "sink";
    default:
        return "unknown";
    }
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int loader_find(const char *name, const char *path, char *out, size_t out_size)
{
    const char *dir = path;

    if (name == NULL || path == NULL)
        return -ENOENT;
    if (!names_is_symbol(name))
        return -EINVAL; /* no '/', no "..": only a name is looked up */
    while (dir != NULL && *dir != '\0') {
        const char *end = strchr(dir, ':');
        int dlen = (int)(end ? (size_t)(end - dir) : strlen(dir));
        if (dlen > 0) {
            int n = snprintf(out, out_size, "%.*s/%s.so", dlen, dir, name);
            if (n < 0 || (size_t)n >= out_size)
                return -ENAMETOOLONG;
            if (is_regular(out))
                return 0;
            n = snprintf(out, out_size, "%.*s/%s/%s.so", dlen, dir, name, name);
            if (n < 0 || (size_t)n >= out_size)
                return -ENAMETOOLONG;
            if (is_regular(out))
                return 0;
        }
        dir = end ? end + 1 : NULL;
    }
    return -ENOENT;
}

static int refuse(char *err, size_t err_size, int rc, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int refuse(char *err, size_t err_size, int rc, const char *file, const char *fmt, ...)
{
    char reason[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (err != NULL && err_size > 0)
        snprintf(err, err_size, "%s: %s", file, reason);
    return rc;
}

/* The plugin file's base name without ".so". */
static void stem(const char *file, char *out, size_t out_size)
{
    const char *base = strrchr(file, '/');
    size_t n;

    base = base ? base + 1 : file;
    n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".so") == 0)
        n -= 3;
    snprintf(out, out_size, "%.*s", (int)n, base);
}

/* One step of the trust walk: `path` must be owned by root or by us and
 * not writable by group or others (what sshd's StrictModes asks). */
static int trusted_node(const char *file, const char *path, int is_file, int sticky_ok,
                        char *err, size_t err_size)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return refuse(err, err_size, -errno, file, "cannot check %s: %s", path, strerror(errno));
    if (!is_file && !S_ISDIR(st.st_mode))
        return refuse(err, err_size, -ENOTDIR, file, "%s is not a directory", path);
    if (is_file && !S_ISREG(st.st_mode))
        return refuse(err, err_size, -EINVAL, file, "not a regular file");
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return refuse(err, err_size, -EPERM, file,
                      "%s is owned by uid %u, not by root or this daemon's user: not trusted",
                      path, (unsigned)st.st_uid);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(sticky_ok && (st.st_mode & S_ISVTX)))
        return refuse(err, err_size, -EPERM, file,
                      "%s is writable by group or others: not trusted (chmod go-w %s)",
                      path, path);
    return 0;
}

/* The walk from `path` (a regular file when is_file, else a directory) up
 * to /, after symlinks. */
static int check_trust(const char *path, int is_file, int sticky_ok, char *real,
                       size_t real_size, char *err, size_t err_size)
{
    char buf[PATH_MAX], *slash;
    int rc;

    if (realpath(path, buf) == NULL)
        return refuse(err, err_size, -errno, path, "%s", strerror(errno));
    if (strlen(buf) >= real_size)
        return refuse(err, err_size, -ENAMETOOLONG, path, "path too long");
    snprintf(real, real_size, "%s", buf);
    rc = trusted_node(path, buf, is_file, 0, err, err_size);
    /* Every directory up to / (realpath: no symlinks left). */
    while (rc == 0 && (slash = strrchr(buf, '/')) != NULL) {
        if (slash == buf) {
            buf[1] = '\0';
            rc = trusted_node(path, buf, 0, sticky_ok, err, err_size);
            break;
        }
        *slash = '\0';
        rc = trusted_node(path, buf, 0, sticky_ok, err, err_size);
    }
    return rc;
}

int loader_check_trust(const char *file, char *real, size_t real_size, char *err,
                       size_t err_size)
{
    return check_trust(file, 1, 0, real, real_size, err, err_size);
}

int loader_check_trust_dir(const char *dir, char *err, size_t err_size)
{
    char real[PATH_MAX];
    struct stat st;

    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return refuse(err, err_size, -ENOTDIR, dir, "not a directory");
    /* Files in it are made with O_EXCL and renamed: a sticky /tmp above a
     * directory of our own cannot swap them (tmpfiles' rule, not sshd's). */
    return check_trust(dir, 0, 1, real, sizeof(real), err, err_size);
}

int loader_open(const char *file, uint32_t want_kind, struct loaded_plugin **out, char *err,
                size_t err_size)
{
    struct loaded_plugin *lp = NULL;
    collector_plugin_entry_fn entry;
    const struct collector_plugin *d;
    struct stat st;
    char expect[256];
    void *sym;
    size_t copy;
    int rc;

    char real[PATH_MAX];

    if (stat(file, &st) != 0)
        return refuse(err, err_size, -ENOENT, file, "no such plugin file");
    if (!S_ISREG(st.st_mode))
        return refuse(err, err_size, -EINVAL, file, "not a regular file");
    /* Before dlopen: a constructor runs as soon as the file is mapped. */
    rc = loader_check_trust(file, real, sizeof(real), err, err_size);
    if (rc < 0)
        return rc;
    lp = calloc(1, sizeof(*lp));
    if (lp == NULL)
        return refuse(err, err_size, -ENOMEM, file, "out of memory");
    snprintf(lp->path, sizeof(lp->path), "%s", file);

    dlerror();
    /* The real path that was checked, and never unmapped: a thread a plugin
     * started (a client library's, say) may still return through its code
     * after destroy(). */
    lp->handle = dlopen(real, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (lp->handle == NULL) {
        const char *why = dlerror();
        rc = refuse(err, err_size, -ENOEXEC, file, "not a loadable shared object (%s)",
                    why ? why : "dlopen failed");
        goto fail;
    }
    dlerror();
    sym = dlsym(lp->handle, "collector_plugin_entry");
    if (sym == NULL) {
        rc = refuse(err, err_size, -ENOENT, file,
                    "no collector_plugin_entry symbol: not a collectord plugin");
        goto fail;
    }
    /* POSIX guarantees a data pointer from dlsym converts to a function pointer. */
    memcpy(&entry, &sym, sizeof(entry));
    d = entry();
    if (d == NULL) {
        rc = refuse(err, err_size, -EINVAL, file, "collector_plugin_entry returned NULL");
        goto fail;
    }
    if (d->abi_major != COLLECTOR_ABI_MAJOR) {
        rc = refuse(err, err_size, -EPROTO, file,
                    "built for ABI %u.x; this collectord speaks ABI %u.%u: rebuild it against "
                    "collector-sdk %u",
                    (unsigned)d->abi_major, COLLECTOR_ABI_MAJOR, COLLECTOR_ABI_MINOR,
                    COLLECTOR_ABI_MAJOR);
        goto fail;
    }
    if (d->abi_minor > COLLECTOR_ABI_MINOR) {
        rc = refuse(err, err_size, -EPROTO, file,
                    "needs ABI %u.%u; this collectord has ABI %u.%u: upgrade collectord",
                    (unsigned)d->abi_major, (unsigned)d->abi_minor, COLLECTOR_ABI_MAJOR,
                    COLLECTOR_ABI_MINOR);
        goto fail;
    }
    if (d->struct_size < PLUGIN_V1_0_SIZE) {
        rc = refuse(err, err_size, -EPROTO, file,
                    "descriptor struct_size %u is smaller than the ABI 1.0 descriptor (%zu)",
                    (unsigned)d->struct_size, (size_t)PLUGIN_V1_0_SIZE);
        goto fail;
    }
    /* Copy what both sides know; a shorter (older) descriptor leaves NULLs. */
    copy = d->struct_size < sizeof(lp->desc) ? d->struct_size : sizeof(lp->desc);
    memcpy(&lp->desc, d, copy);

    if (!names_is_symbol(lp->desc.name)) {
        rc = refuse(err, err_size, -EINVAL, file, "invalid plugin name (want [a-z0-9_]+)");
        goto fail;
    }
    stem(file, expect, sizeof(expect));
    if (strcmp(expect, lp->desc.name) != 0) {
        rc = refuse(err, err_size, -EINVAL, file, "plugin calls itself \"%s\", file says \"%s\"",
                    lp->desc.name, expect);
        goto fail;
    }
    if (lp->desc.kind < COLLECTOR_KIND_SOURCE || lp->desc.kind > COLLECTOR_KIND_SINK) {
        rc = refuse(err, err_size, -EINVAL, file, "unknown plugin kind %u",
                    (unsigned)lp->desc.kind);
        goto fail;
    }
    if (want_kind != 0 && lp->desc.kind != want_kind) {
        rc = refuse(err, err_size, -EINVAL, file,
                    "plugin \"%s\" is a %s, but the config lists it under %ss", lp->desc.name,
                    loader_kind_name(lp->desc.kind), loader_kind_name(want_kind));
        goto fail;
    }
    if (lp->desc.create == NULL || lp->desc.destroy == NULL ||
        (lp->desc.kind == COLLECTOR_KIND_SOURCE && lp->desc.poll == NULL) ||
        (lp->desc.kind == COLLECTOR_KIND_CALCULATOR && lp->desc.process == NULL) ||
        (lp->desc.kind == COLLECTOR_KIND_SINK && lp->desc.write == NULL)) {
        rc = refuse(err, err_size, -EINVAL, file, "a %s needs create, %s and destroy callbacks",
                    loader_kind_name(lp->desc.kind),
                    lp->desc.kind == COLLECTOR_KIND_SOURCE       ? "poll"
                    : lp->desc.kind == COLLECTOR_KIND_CALCULATOR ? "process"
                                                                 : "write");
        goto fail;
    }
    *out = lp;
    return 0;
fail:
    loader_close(lp);
    return rc;
}

int loader_takes_kind(const struct loaded_plugin *lp, uint32_t record_kind)
{
    return record_kind != COLLECTOR_RECORD_EVENT ||
           (lp->desc.abi_minor >= 2 && (lp->desc.flags & COLLECTOR_PLUGIN_EVENTS) != 0);
}

void loader_close(struct loaded_plugin *lp)
{
    if (lp == NULL)
        return;
    if (lp->handle != NULL)
        dlclose(lp->handle);
    free(lp);
}

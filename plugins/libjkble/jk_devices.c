/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjkble/jk_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <unistd.h>

#include <yaml.h>

#include "plugins/libble/transport.h"
#include "plugins/libsafeopen/safe_open.h"

int jk_devices_first(const char *path, struct jk_device *out, char *err, size_t err_size)
{
    struct jk_device first;
    int n = jk_devices_load(path, &first, 1, err, err_size);

    if (n < 0)
        return n;
    if (n == 0)
        return -ENOENT;
    if (!ble_address_valid(first.address)) {
        snprintf(err, err_size, "%s: first device \"%s\" is not a BLE address", path,
                 first.address);
        return -EINVAL;
    }
    *out = first;
    return 0;
}

int jk_devices_by_name(const char *path, const char *name, struct jk_device *out, char *err,
                       size_t err_size)
{
    struct jk_device devs[64];
    int n = jk_devices_load(path, devs, 64, err, err_size);

    for (int i = 0; i < n; i++)
        if (strcmp(devs[i].name, name) == 0 && ble_address_valid(devs[i].address)) {
            *out = devs[i];
            return 0;
        }
    return n < 0 ? n : -ENOENT;
}

int jk_devices_address_type(const char *path, const char *address, char *err, size_t err_size)
{
    struct jk_device devs[64];
    int n = jk_devices_load(path, devs, 64, err, err_size);

    for (int i = 0; i < n; i++)
        if (strcasecmp(devs[i].address, address) == 0)
            return devs[i].address_type;
    return n < 0 ? n : BLE_ADDR_AUTO;
}

/* `path` opened for reading, or NULL with *rc: 0 when it is not there (or
 * cannot be read: no list), -EPERM / -EINVAL with err set. In a directory
 * root does not own, a link is not followed (its owner could point it at a
 * root-only file, whose text would end up in the list written back); a FIFO
 * or a device is never read (no hang). */
static FILE *open_list(const char *path, char *err, size_t err_size, int *rc)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    struct stat st = {0};
    unsigned flags = 0;
    FILE *fp = NULL;

    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (stat(dir, &st) != 0 || st.st_uid != 0)
        flags |= SAFE_OPEN_NOFOLLOW;
    /* named by a setting or by $JK_DEVICES_FILE (eamoon's .env): a FIFO or a
     * device is refused at once, never waited on */
    *rc = safe_fopen_read(path, flags, &fp, err, err_size);
    if (*rc == -ENOENT) {
        *rc = 0; /* no file: no devices */
        return NULL;
    }
    if (*rc == -ELOOP) {
        snprintf(err, err_size,
                 "%s is a symbolic link in %s, a directory uid %u owns: not followed", path, dir,
                 (unsigned)st.st_uid);
        *rc = -EPERM;
    } else if (*rc < 0) {
        *rc = -EINVAL;
    }
    return fp;
}

int jk_devices_load(const char *path, struct jk_device *out, size_t cap, char *err,
                    size_t err_size)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, done = 0, rc = 0, want_value = 0;
    size_t n = 0;
    char key[64] = "";
    struct jk_device cur;
    FILE *fp = open_list(path, err, err_size, &rc);

    if (fp == NULL)
        return rc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return -ENOMEM;
    }
    yaml_parser_set_input_file(&parser, fp);
    memset(&cur, 0, sizeof(cur));
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, err_size, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "YAML syntax error");
            rc = -EINVAL;
            break;
        }
        if (ev.type == YAML_MAPPING_START_EVENT) {
            depth++;
        } else if (ev.type == YAML_MAPPING_END_EVENT) {
            if (--depth == 1 && cur.address[0] != '\0' && n < cap)
                out[n++] = cur;
            if (depth == 1)
                memset(&cur, 0, sizeof(cur));
        } else if (ev.type == YAML_SCALAR_EVENT) {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth == 1) {
                memset(&cur, 0, sizeof(cur));
                snprintf(cur.address, sizeof(cur.address), "%s", v); /* the key */
            } else if (depth == 2 && !want_value) {
                snprintf(key, sizeof(key), "%s", v);
                want_value = 1;
            } else if (depth == 2) {
                if (strcmp(key, "address") == 0)
                    snprintf(cur.address, sizeof(cur.address), "%s", v);
                else if (strcmp(key, "name") == 0)
                    snprintf(cur.name, sizeof(cur.name), "%s", v);
                else if (strcmp(key, "last_seen") == 0)
                    snprintf(cur.last_seen, sizeof(cur.last_seen), "%s", v);
                else if (strcmp(key, "address_type") == 0 &&
                         (ble_address_type_parse(v, &cur.address_type) < 0 ||
                          cur.address_type == BLE_ADDR_AUTO)) {
                    snprintf(err, err_size, "%s:%zu: address_type \"%s\": want public or random",
                             path, ev.start_mark.line + 1, v);
                    rc = -EINVAL;
                    done = 1;
                }
                want_value = 0;
            }
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = 1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    return rc < 0 ? rc : (int)n;
}

static int emit_scalar(yaml_emitter_t *em, const char *v, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)v, (int)strlen(v),
                                 1, 1, style);
    return yaml_emitter_emit(em, &ev);
}

int jk_devices_save(const char *path, const struct jk_device *devs, size_t n, char *err,
                    size_t err_size)
{
    char tmp[4200];
    yaml_emitter_t em;
    yaml_event_t ev;
    FILE *fp;
    int ok, fd, e;

    /* A fresh temporary file (mkstemp: O_EXCL, so never through a link
     * someone planted beside it, as root in a shared directory), renamed over
     * the file: readers see the old list or the new one. */
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        e = errno;
        snprintf(err, err_size, "%s: %s", path, strerror(e));
        return -e;
    }
    if (fchmod(fd, 0644) != 0 || (fp = fdopen(fd, "w")) == NULL) {
        e = errno;
        close(fd);
        unlink(tmp);
        snprintf(err, err_size, "%s: %s", tmp, strerror(e));
        return -e;
    }
    yaml_emitter_initialize(&em);
    yaml_emitter_set_output_file(&em, fp);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    ok = yaml_emitter_emit(&em, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    ok = ok && yaml_emitter_emit(&em, &ev);
    for (size_t i = 0; ok && i < n; i++) {
        ok = emit_scalar(&em, devs[i].address, YAML_ANY_SCALAR_STYLE);
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        ok = ok && yaml_emitter_emit(&em, &ev);
        /* keys in sorted order, as the seed's yaml.dump writes them */
        ok = ok && emit_scalar(&em, "address", YAML_ANY_SCALAR_STYLE) &&
             emit_scalar(&em, devs[i].address, YAML_ANY_SCALAR_STYLE);
        if (devs[i].address_type == BLE_ADDR_PUBLIC || devs[i].address_type == BLE_ADDR_RANDOM)
            ok = ok && emit_scalar(&em, "address_type", YAML_ANY_SCALAR_STYLE) &&
                 emit_scalar(&em, devs[i].address_type == BLE_ADDR_RANDOM ? "random" : "public",
                             YAML_ANY_SCALAR_STYLE);
        ok = ok && emit_scalar(&em, "last_seen", YAML_ANY_SCALAR_STYLE) &&
             emit_scalar(&em, devs[i].last_seen, YAML_SINGLE_QUOTED_SCALAR_STYLE) &&
             emit_scalar(&em, "name", YAML_ANY_SCALAR_STYLE) &&
             emit_scalar(&em, devs[i].name, YAML_ANY_SCALAR_STYLE);
        yaml_mapping_end_event_initialize(&ev);
        ok = ok && yaml_emitter_emit(&em, &ev);
    }
    yaml_mapping_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_emitter_delete(&em);
    if (fclose(fp) != 0 || !ok) {
        snprintf(err, err_size, "%s: cannot write", tmp);
        unlink(tmp);
        return -EIO;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        snprintf(err, err_size, "%s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

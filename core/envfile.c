/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "core/envfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <collector/plugin.h>

#include "core/log.h"
#include "plugins/libsafeopen/safe_open.h"

#define ENVFILE_MAX (64 * 1024)

const char *const envfile_names[] = {
    "JK_BMS_ADDRESS", "JK_DEVICES_FILE", "JK_BMS_POLL_INTERVAL", "DB_PATH", NULL,
};

/* Which of envfile_names an earlier import set (so a reload may change it). */
static unsigned char imported[sizeof(envfile_names) / sizeof(envfile_names[0])];

static int name_index(const char *name, size_t n)
{
    for (int i = 0; envfile_names[i] != NULL; i++)
        if (strlen(envfile_names[i]) == n && memcmp(envfile_names[i], name, n) == 0)
            return i;
    return -1;
}

/* The whole file, NUL-terminated (owned by the caller), never through a
 * link; a FIFO or a device is refused at once. */
static int read_whole(const char *path, char **out, char *err, size_t err_size)
{
    char why[512];
    size_t len;
    int rc = safe_read_all(path, SAFE_OPEN_NOFOLLOW, ENVFILE_MAX, out, &len, why, sizeof(why));

    if (rc < 0)
        snprintf(err, err_size, "env_file %s", why);
    return rc;
}

/* One value: quoted ('...' literal, "..." literal too: no escapes are
 * needed for these names), or bare up to a " #" comment; trimmed. NULL
 * for an unterminated quote or a control character. Edits `v` in place. */
static char *parse_value(char *v)
{
    char *end;

    v += strspn(v, " \t");
    if (*v == '\'' || *v == '"') {
        end = strchr(v + 1, *v);
        if (end == NULL)
            return NULL;
        *end = '\0';
        v++;
    } else {
        for (end = v; *end != '\0' && !(*end == '#' && end > v && (end[-1] == ' ' || end[-1] == '\t'));
             end++)
            ;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        *end = '\0';
    }
    for (const char *p = v; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return NULL;
    return v;
}

int envfile_import(const char *path, char *err, size_t err_size)
{
    char *buf = NULL, *line, *next;
    char taken[256] = "";
    unsigned char seen[sizeof(imported)] = {0};
    unsigned lineno = 0, ignored = 0;
    int rc = read_whole(path, &buf, err, err_size);

    if (rc < 0)
        return rc;
    for (line = buf; rc == 0 && line != NULL; line = next) {
        char *eq, *name, *value;
        size_t n;
        int i;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        name = line + strspn(line, " \t");
        if (*name == '#' || *name == '\0' || *name == '\r')
            continue;
        if (strncmp(name, "export ", 7) == 0)
            name += 7 + strspn(name + 7, " \t");
        eq = strchr(name, '=');
        if (eq == NULL) {
            ignored++;
            continue;
        }
        for (n = (size_t)(eq - name); n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'); n--)
            ;
        i = name_index(name, n);
        if (i < 0) {
            ignored++; /* not ours: LD_*, proxies, eamoon's own settings */
            continue;
        }
        value = parse_value(eq + 1);
        if (value == NULL) {
            snprintf(err, err_size, "%s:%u: %s: an unterminated quote or a control character",
                     path, lineno, envfile_names[i]);
            rc = -EINVAL;
            break;
        }
        seen[i] = 1;
        if (getenv(envfile_names[i]) != NULL && !imported[i]) {
            log_msg(LOG_CORE, COLLECTOR_LOG_INFO,
                    "%s:%u: %s is set in the environment already: that value is kept", path,
                    lineno, envfile_names[i]);
            continue;
        }
        if (setenv(envfile_names[i], value, 1) != 0) {
            rc = -errno;
            snprintf(err, err_size, "%s:%u: %s: %s", path, lineno, envfile_names[i],
                     strerror(-rc));
            break;
        }
        imported[i] = 1;
        n = strlen(taken);
        snprintf(taken + n, sizeof(taken) - n, "%s%s", n ? ", " : "", envfile_names[i]);
    }
    free(buf);
    /* A name the file no longer holds goes with it (a reload). */
    for (size_t i = 0; rc == 0 && envfile_names[i] != NULL; i++) {
        if (imported[i] && !seen[i]) {
            unsetenv(envfile_names[i]);
            imported[i] = 0;
        }
    }
    if (rc == 0)
        log_msg(LOG_CORE, COLLECTOR_LOG_DEBUG, "env_file %s: imported %s; %u other line(s) ignored",
                path, taken[0] ? taken : "nothing", ignored);
    return rc;
}

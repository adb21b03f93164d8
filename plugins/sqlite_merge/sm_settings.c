/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqlite_merge settings: what the host checked, read into the sink's
 * state, and the cross-checks only the sink can make (which database, which
 * batteries), so `collectord --check` refuses a bad deployment. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "plugins/sqlite_merge/sqlite_merge.h"


/* eamoon's keys and their formats (eamoon-compat.md 2.2). */
static const struct field default_fields[] = {
    {"battery_voltage", FMT_FIXED, 1}, {"battery_current", FMT_FIXED, 1},
    {"battery_soc", FMT_FIXED, 0},     {"battery_power", FMT_FIXED, 0},
    {"temperature", FMT_FIXED, 0},     {"bms_cell_count", FMT_INT, 0},
    {"bms_cell_min_v", FMT_FIXED, 3},  {"bms_cell_max_v", FMT_FIXED, 3},
    {"bms_cell_delta_v", FMT_FIXED, 3}, {"bms_name", FMT_AS_IS, 0},
    {"bms_address", FMT_AS_IS, 0},
};

static int add_field(struct merge *m, const char *name)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strcmp(m->fields[i].name, name) == 0)
            return 0;
    if (m->nfields == MAX_FIELDS || strlen(name) >= sizeof(m->fields[0].name))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(default_fields) / sizeof(default_fields[0]); i++) {
        if (strcmp(default_fields[i].name, name) == 0) {
            m->fields[m->nfields++] = default_fields[i];
            return 0;
        }
    }
    snprintf(m->fields[m->nfields].name, sizeof(m->fields[0].name), "%s", name);
    m->fields[m->nfields].fmt = FMT_AS_IS;
    m->nfields++;
    return 0;
}

/* fields = ("+bms_soc", "+cells") extends the default keys; a list without
 * "+" replaces them. */
static int read_fields(struct merge *m, const collector_settings *s)
{
    const struct collector_host_api *api = m->api;
    const collector_settings *list;
    size_t n;
    int extend = 1;

    m->nfields = 0;
    if (api->setting_child(s, "fields", &list) != 0) {
        for (size_t i = 0; i < sizeof(default_fields) / sizeof(default_fields[0]); i++)
            m->fields[m->nfields++] = default_fields[i];
        return 0;
    }
    n = api->setting_count(list);
    for (size_t i = 0; i < n; i++) {
        const collector_settings *e;
        const char *name;
        if (api->setting_element(list, i, &e) != 0 || api->setting_string(e, NULL, &name) != 0) {
            api->setting_error(m->host, s, "fields", "want a list of metric names");
            return -EINVAL;
        }
        if (name[0] != '+')
            extend = 0;
    }
    if (extend)
        for (size_t i = 0; i < sizeof(default_fields) / sizeof(default_fields[0]); i++)
            m->fields[m->nfields++] = default_fields[i];
    for (size_t i = 0; i < n; i++) {
        const collector_settings *e;
        const char *name;
        api->setting_element(list, i, &e);
        api->setting_string(e, NULL, &name);
        if (name[0] == '+')
            name++;
        if (name[0] == '\0' || add_field(m, name) < 0) {
            api->setting_error(m->host, e, NULL, "bad or too many field names (\"%s\")", name);
            return -EINVAL;
        }
    }
    return 0;
}

/* The database file must be a file the dashboard can open: not :memory:,
 * and when it exists, an SQLite database (or empty). */
static int check_path(struct merge *m, const collector_settings *s, const char *path)
{
    const struct collector_host_api *api = m->api;
    static const char magic[16] = "SQLite format 3";
    char head[16], why[PATH_MAX * 2 + 160];
    struct stat st;
    FILE *fp;
    size_t got;

    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0) {
        api->setting_error(m->host, s, "path",
                           "\"%s\" is not a file eamoon's dashboard can read: give the path "
                           "of inverter.db",
                           path);
        return -EINVAL;
    }
    if (sm_path_refused(path, why, sizeof(why)) < 0) {
        api->setting_error(m->host, s, "path", "%s", why);
        return -EINVAL;
    }
    if (stat(path, &st) != 0)
        return 0; /* created by start() */
    if (!S_ISREG(st.st_mode)) {
        api->setting_error(m->host, s, "path", "%s is not a regular file", path);
        return -EINVAL;
    }
    if (st.st_size == 0)
        return 0;
    fp = fopen(path, "rb");
    if (fp == NULL)
        return 0; /* start() says why it cannot open it */
    got = fread(head, 1, sizeof(head), fp);
    fclose(fp);
    if (got != sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0) {
        api->setting_error(m->host, s, "path", "%s exists and is not an SQLite database", path);
        return -EINVAL;
    }
    return 0;
}

/* One database, one sink: two in append mode add two rows per record, an
 * append sink drops the trigger an overlay sink needs, and two overlay sinks
 * fight over the same patches. A file that exists is known by its device
 * and inode (a hard link or another path to it is the same database); one
 * that does not yet by its directory's real path and its name. */
static int claim_database(struct merge *m, const collector_settings *s)
{
    const struct collector_host_api *api = m->api;
    char key[PATH_MAX + 32], dir[PATH_MAX];
    const char *slash = strrchr(m->path, '/'), *other = NULL;
    struct stat st;
    int rc;

    if (stat(m->path, &st) == 0) {
        snprintf(key, sizeof(key), "sqlite_merge:file %ju:%ju", (uintmax_t)st.st_dev,
                 (uintmax_t)st.st_ino);
    } else {
        snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - m->path) : 1,
                 slash ? (slash == m->path ? "/" : m->path) : ".");
        snprintf(key, sizeof(key), "sqlite_merge:path ");
        if (realpath(dir, key + strlen(key)) == NULL)
            snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s", dir);
        snprintf(key + strlen(key), sizeof(key) - strlen(key), "/%s",
                 slash ? slash + 1 : m->path);
    }
    /* its own name as the mode: any other sink on the file differs */
    rc = api->claim(m->host, key, api->instance_name(m->host), &other);
    if (rc == -EBUSY) {
        api->setting_error(m->host, s, "path",
                           "%s is the database sink \"%s\" writes too (the same file, by "
                           "device and inode or real path): one sqlite_merge sink per "
                           "database, or every record is written twice",
                           m->path, other ? other : "?");
        return -EINVAL;
    }
    return rc < 0 ? rc : 0;
}

/* batteries = (...) names sources that exist, exactly; and no more
 * batteries can arrive than the sink has room for. */
static int check_batteries(struct merge *m, const collector_settings *s)
{
    const struct collector_host_api *api = m->api;
    const char *names[64];
    int n;

    if ((n = api->producers(m->host, names, 64)) < 0)
        return 0; /* a host that cannot say */
    if (n > MAX_BATTERIES && m->fixed_index == 0) {
        api->setting_error(m->host, s, NULL,
                           "%d sources make records, and one sqlite_merge sink takes at most %d "
                           "batteries: set battery_index on more sinks, or split them",
                           n, MAX_BATTERIES);
        return -EINVAL;
    }
    /* the numbers of the sources batteries = (...) leaves out (sqlite_merge.c) */
    for (int k = 0; k < n && k < 64 && m->nproducers < MAX_BATTERIES; k++)
        if (strlen(names[k]) < sizeof(m->producers[0]))
            memcpy(m->producers[m->nproducers++], names[k], strlen(names[k]) + 1);
    for (size_t i = 0; i < m->norder; i++) {
        const char *hint = NULL;
        int found = 0;
        for (int k = 0; k < n && k < 64 && !found; k++) {
            found = strcmp(names[k], m->order[i]) == 0;
            if (!found && strcasecmp(names[k], m->order[i]) == 0)
                hint = names[k];
        }
        if (found)
            continue;
        if (hint != NULL)
            api->setting_error(m->host, s, "batteries",
                               "\"%s\" matches no source: did you mean \"%s\"? (names are "
                               "case-sensitive)",
                               m->order[i], hint);
        else
            api->setting_error(m->host, s, "batteries",
                               "\"%s\" matches no source of this configuration", m->order[i]);
        return -EINVAL;
    }
    return 0;
}

int sm_settings_read(struct merge *m, const collector_settings *s)
{
    const struct collector_host_api *api = m->api;
    const char *path = "", *mode = "overlay", *journal = "wal";
    int64_t idx = 0, days = 30, busy = 5000;
    const collector_settings *list, *e;
    const char *name;

    /* Types, ranges, allowed values and defaults: the host checked them. */
    api->setting_string(s, "path", &path);
    api->setting_string(s, "mode", &mode);
    api->setting_double(s, "max_age", &m->max_age);
    api->setting_int(s, "battery_index", &idx);
    api->setting_bool(s, "history", &m->history);
    api->setting_int(s, "history_days", &days);
    api->setting_string(s, "journal_mode", &journal);
    api->setting_int(s, "busy_timeout", &busy);
    m->overlay = strcmp(mode, "overlay") == 0;
    m->fixed_index = (int)idx;
    m->history_days = (int)days;
    m->keep_journal = strcmp(journal, "keep") == 0;
    m->busy_ms = (int)busy;
    if (api->setting_child(s, "batteries", &list) == 0) {
        size_t n = api->setting_count(list);
        if (n > MAX_BATTERIES) {
            api->setting_error(m->host, s, "batteries",
                               "%zu batteries: one sqlite_merge sink takes at most %d", n,
                               MAX_BATTERIES);
            return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
            if (api->setting_element(list, i, &e) != 0 || api->setting_string(e, NULL, &name) != 0 ||
                strlen(name) >= 64 || name[0] == '\0') {
                api->setting_error(m->host, s, "batteries",
                                   "want source instance names, in battery order");
                return -EINVAL;
            }
            for (size_t k = 0; k < m->norder; k++) {
                if (strcmp(m->order[k], name) == 0) {
                    api->setting_error(m->host, e, NULL, "\"%s\" is listed twice", name);
                    return -EINVAL;
                }
            }
            memcpy(m->order[m->norder++], name, strlen(name) + 1);
        }
    }
    if (read_fields(m, s) < 0 || check_path(m, s, path) < 0)
        return -EINVAL;
    m->path = strdup(path);
    if (m->path == NULL)
        return -ENOMEM;
    if (claim_database(m, s) < 0 || check_batteries(m, s) < 0)
        return -EINVAL;
    return 0;
}

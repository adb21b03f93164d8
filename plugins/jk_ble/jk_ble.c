/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_ble: a JK BMS over Bluetooth LE (or a simulated one over unix:PATH). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libjkble/jk_devices.h"
#include "plugins/libjkble/jk_scan.h"
#include "plugins/libjkble/jk_session.h"
#include "plugins/libble/transport.h"
#include "plugins/libjk/jk_command.h"
#include "plugins/libjk/jk_metrics.h"

struct jkble {
    const struct collector_host_api *api;
    collector_host *host;
    int keep;
    struct jk_session s;
    char last_error[300]; /* logged once per change */
    int failing;
    struct jk_plaus_tally plaus; /* implausible values of this battery */
    /* Found by name: with no address configured, a discovery at the first
     * poll finds the device advertising want_name; the address is kept in
     * the state file "<instance>.found" and forgotten after FORGET_AFTER failed polls,
     * so a replaced BMS of the same name is found again. */
    char want_name[64];
    int type_setting; /* address_type as configured (BLE_ADDR_AUTO: learn it) */
    int by_discovery; /* s.address came from a discovery or its state file */
    int state_tried;  /* the state file was read (on the first poll only) */
    char state_file[160]; /* "<instance>.found" */
    int misses;       /* polls failed in a row at that address */
};

#define FORGET_AFTER 3

static const char *const protocols[] = {"auto", "JK04", "JK02_24S", "JK02_32S", NULL};
static const char *const address_types[] = {"auto", "public", "random", NULL};

static const struct collector_setting_def setting_defs[] = {
    {.name = "address", .type = COLLECTOR_SETTING_STRING,
     .description = "the BMS (AA:BB:CC:DD:EE:FF); unset: the device called bms_name, else "
                    "JK_BMS_ADDRESS, else the first device of devices_file"},
    {.name = "bms_name", .type = COLLECTOR_SETTING_STRING,
     .description = "the name the BMS advertises (JK-B2A24S15P, or the one set in the JK "
                    "app), used when address is unset: taken from devices_file, else found "
                    "by a discovery when polling starts and kept in the state directory; "
                    "discovery needs CAP_NET_ADMIN (a drop-in for the unit: "
                    "AmbientCapabilities=CAP_NET_ADMIN)"},
    {.name = "adapter", .type = COLLECTOR_SETTING_STRING, .default_value = "",
     .description = "the local adapter (hci0, hci1, ...); empty: the first one"},
    {.name = "address_type", .type = COLLECTOR_SETTING_STRING, .default_value = "auto",
     .allowed = address_types,
     .description = "auto: the type jkbms-util --scan recorded, else public, then random"},
    {.name = "protocol", .type = COLLECTOR_SETTING_STRING, .default_value = "auto",
     .allowed = protocols, .description = "the frame layout; auto detects it"},
    {.name = "timeout", .type = COLLECTOR_SETTING_DOUBLE, .default_value = "15",
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .min = 0.1, .max = 600, .unit = "s",
     .description = "the whole of one poll: connect, discover, read"},
    {.name = "keep_connected", .type = COLLECTOR_SETTING_BOOL, .default_value = "false",
     .description = "stay connected between polls (a phone app cannot connect meanwhile)"},
    {.name = "devices_file", .type = COLLECTOR_SETTING_STRING,
     .description = "jk_devices.yaml as jkbms-util --scan writes it (default $JK_DEVICES_FILE, "
                    "else ./jk_devices.yaml)"},
    {.name = "transport", .type = COLLECTOR_SETTING_STRING, .default_value = "",
     .description = "bluetooth (empty: the same), or unix:PATH for a simulated BMS"},
    {.name = NULL},
};

static int jkble_create(const struct collector_host_api *api, collector_host *host,
                        const collector_settings *s, void **state_out)
{
    struct jkble *b = calloc(1, sizeof(*b));
    const char *address = NULL, *name = NULL, *adapter = "", *type = "auto", *proto = "auto";
    const char *transport = "";
    const char *devices = getenv("JK_DEVICES_FILE");
    struct jk_device dev;
    char err[512];
    double timeout = 15;
    int p, t, rc;

    if (b == NULL)
        return -ENOMEM;
    b->api = api;
    b->host = host;
    /* Types, ranges, allowed values and defaults come checked from the host. */
    api->setting_string(s, "protocol", &proto);
    api->setting_string(s, "address_type", &type);
    api->setting_double(s, "timeout", &timeout);
    api->setting_bool(s, "keep_connected", &b->keep);
    api->setting_string(s, "adapter", &adapter);
    api->setting_string(s, "transport", &transport);
    api->setting_string(s, "devices_file", &devices);
    if (jk_protocol_parse(proto, &p) < 0 || ble_address_type_parse(type, &t) < 0)
        goto bad;
    jk_session_init(&b->s, p, api->stop_fd(host));
    b->s.address_type = t;
    b->s.timeout_ms = (int)(timeout * 1000);
    snprintf(b->s.adapter, sizeof(b->s.adapter), "%s", adapter);
    snprintf(b->s.transport, sizeof(b->s.transport), "%s", transport);
    if (transport[0] != '\0' && strncmp(transport, "unix:", 5) != 0 &&
        strcmp(transport, "bluetooth") != 0) {
        api->setting_error(host, s, "transport", "want \"bluetooth\" or \"unix:PATH\"");
        goto bad;
    }
    b->type_setting = t;
    /* The address: the setting; else the device called bms_name (from
     * jk_devices.yaml, else found by a discovery when polling starts); else
     * the seed's JK_BMS_ADDRESS; else the first device of jk_devices.yaml
     * (written by jkbms-util --scan). */
    api->setting_string(s, "address", &address);
    api->setting_string(s, "bms_name", &name);
    if (address == NULL && name != NULL) {
        if (name[0] == '\0' || strlen(name) >= sizeof(b->want_name)) {
            api->setting_error(host, s, "bms_name", "want 1 to %zu bytes",
                               sizeof(b->want_name) - 1);
            goto bad;
        }
        rc = jk_devices_by_name(devices ? devices : "jk_devices.yaml", name, &dev, err,
                                sizeof(err));
        if (rc == -EINVAL) {
            api->setting_error(host, s, "devices_file", "%s", err);
            goto bad;
        }
        if (rc < 0) { /* not listed: discover it (not here: --check starts nothing) */
            snprintf(b->want_name, sizeof(b->want_name), "%s", name);
            snprintf(b->state_file, sizeof(b->state_file), "%s.found", api->instance_name(host));
            goto located;
        }
        address = dev.address;
        if (b->s.address_type == BLE_ADDR_AUTO)
            b->s.address_type = dev.address_type;
    }
    if (address == NULL && getenv("JK_BMS_ADDRESS") && *getenv("JK_BMS_ADDRESS"))
        address = getenv("JK_BMS_ADDRESS");
    if (address == NULL) {
        const char *file = devices ? devices : "jk_devices.yaml";
        rc = jk_devices_first(file, &dev, err, sizeof(err));
        if (rc == -EINVAL) {
            api->setting_error(host, s, "devices_file", "%s", err);
            goto bad;
        }
        if (rc < 0) {
            api->setting_error(host, s, "address",
                               "no address: set address, JK_BMS_ADDRESS, or run `jkbms-util "
                               "--scan` to write %s",
                               file);
            goto bad;
        }
        address = dev.address;
        if (b->s.address_type == BLE_ADDR_AUTO)
            b->s.address_type = dev.address_type;
    } else if (b->s.address_type == BLE_ADDR_AUTO && ble_address_valid(address)) {
        /* the address type jkbms-util --scan recorded for this device */
        rc = jk_devices_address_type(devices ? devices : "jk_devices.yaml", address, err,
                                     sizeof(err));
        if (rc < 0) {
            api->setting_error(host, s, "devices_file", "%s", err);
            goto bad;
        }
        b->s.address_type = rc;
    }
    if (!ble_address_valid(address)) {
        api->setting_error(host, s, "address", "\"%s\" is not a BLE address (AA:BB:CC:DD:EE:FF)",
                           address);
        goto bad;
    }
    snprintf(b->s.address, sizeof(b->s.address), "%s", address);
located:
    snprintf(b->s.lock_path, sizeof(b->s.lock_path), "%s/adapter-%s.lock", api->state_dir(host),
             adapter[0] ? adapter : "default");
    *state_out = b;
    return 0;
bad:
    free(b);
    return -EINVAL;
}

static void say_implausible(void *user, const char *line)
{
    struct jkble *b = user;
    b->api->log(b->host, COLLECTOR_LOG_WARNING, "%s: %s", b->s.address, line);
}

/* One line per change of what goes wrong (s.error), not one per attempt. */
static int failed(struct jkble *b, int rc)
{
    if (!b->failing || strcmp(b->last_error, b->s.error) != 0)
        b->api->log(b->host, COLLECTOR_LOG_WARNING, "%s", b->s.error);
    snprintf(b->last_error, sizeof(b->last_error), "%s", b->s.error);
    b->failing = 1;
    return rc;
}

static void adopt(struct jkble *b, const struct jk_device *dev)
{
    snprintf(b->s.address, sizeof(b->s.address), "%s", dev->address);
    b->s.address_type = b->type_setting == BLE_ADDR_AUTO ? dev->address_type : b->type_setting;
    b->s.have_handles = 0;
    b->by_discovery = 1;
    b->misses = 0;
}

/* The state file "<instance>.found" holds the last discovery's answer, one line:
 * "AA:BB:CC:DD:EE:FF public|random NAME". 0 when it is for want_name. */
static int load_found(struct jkble *b)
{
    struct jk_device dev = {.address_type = BLE_ADDR_AUTO};
    char buf[128], *type, *name, *end;
    size_t len = 0;

    if (b->api->struct_size < COLLECTOR_API_HAS(state_read) ||
        b->api->state_read(b->host, b->state_file, buf, sizeof(buf) - 1, &len) < 0)
        return -ENOENT;
    buf[len] = '\0';
    end = strchr(buf, '\n');
    type = strchr(buf, ' ');
    if (end == NULL || type == NULL || type - buf != 17)
        return -EINVAL;
    *end = *type++ = '\0';
    name = strchr(type, ' ');
    if (name == NULL)
        return -EINVAL;
    *name++ = '\0';
    if (!ble_address_valid(buf) || ble_address_type_parse(type, &dev.address_type) < 0 ||
        dev.address_type == BLE_ADDR_AUTO || strcmp(name, b->want_name) != 0)
        return -EINVAL;
    memcpy(dev.address, buf, sizeof(dev.address));
    adopt(b, &dev);
    return 0;
}

static void save_found(struct jkble *b)
{
    char line[128];
    int n = snprintf(line, sizeof(line), "%s %s %s\n", b->s.address,
                     b->s.address_type == BLE_ADDR_RANDOM ? "random" : "public", b->want_name);
    int rc = b->api->struct_size < COLLECTOR_API_HAS(state_write)
                 ? -ENOSYS
                 : b->api->state_write(b->host, b->state_file, line, (size_t)n);

    if (rc < 0)
        b->api->log(b->host, COLLECTOR_LOG_WARNING,
                    "\"%s\": cannot keep the address found (%s): the next start discovers again",
                    b->want_name, strerror(-rc));
}

/* Find want_name: from the state file on the first poll, else by a
 * discovery of at most the poll timeout, ended as soon as it is seen. */
static int locate(struct jkble *b)
{
    struct jk_found found[32];
    char err[200], seen[128] = "";
    int secs = (b->s.timeout_ms + 999) / 1000, n;
    size_t used = 0;

    if (!b->state_tried) {
        b->state_tried = 1;
        if (load_found(b) == 0)
            return 0;
    }
    n = jk_scan(b->s.transport, b->s.adapter, secs, b->s.stop_fd, b->want_name, found, 32, NULL,
                err, sizeof(err));
    if (n == -ECANCELED)
        return n;
    if (n < 0) {
        snprintf(b->s.error, sizeof(b->s.error), "\"%s\": discovery failed: %s", b->want_name,
                 err);
        return n;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(found[i].dev.name, b->want_name) == 0) {
            adopt(b, &found[i].dev);
            b->api->log(b->host, COLLECTOR_LOG_INFO, "\"%s\" is %s (%s address): found by discovery",
                        b->want_name, b->s.address,
                        found[i].dev.address_type == BLE_ADDR_RANDOM ? "random" : "public");
            save_found(b);
            return 0;
        }
        if (used < sizeof(seen))
            used += (size_t)snprintf(seen + used, sizeof(seen) - used, "%s\"%s\"",
                                     used ? ", " : "", found[i].dev.name);
    }
    snprintf(b->s.error, sizeof(b->s.error),
             "\"%s\": no device of that name answered a %d s discovery (%s%s)", b->want_name,
             secs, n ? "JK devices seen: " : "no JK BMS in range", seen);
    return -EHOSTUNREACH;
}

static int jkble_poll(void *state)
{
    struct jkble *b = state;
    struct jk_cell_info ci;
    struct jk_plaus pl;
    collector_record *rec;
    char counters[200];
    int rc;

    if (b->s.address[0] == '\0') {
        rc = locate(b);
        if (rc < 0)
            return rc == -ECANCELED ? rc : failed(b, rc);
    }
    rc = jk_session_read(&b->s, &ci, b->keep);
    if (jk_stream_counters_changed(&b->s.stream, counters, sizeof(counters)))
        b->api->log(b->host, COLLECTOR_LOG_DEBUG, "%s: %s", b->s.address, counters);

    if (rc == -ECANCELED)
        return rc; /* shutting down: not a failure of the BMS */
    if (rc < 0) {
        if (b->by_discovery && ++b->misses >= FORGET_AFTER) {
            b->api->log(b->host, COLLECTOR_LOG_INFO,
                        "\"%s\": %d polls in a row failed at %s: discovering it again",
                        b->want_name, b->misses, b->s.address);
            jk_session_close(&b->s);
            b->s.address[0] = '\0';
            b->by_discovery = 0;
        }
        return failed(b, rc);
    }
    b->misses = 0;
    if (b->failing)
        b->api->log(b->host, COLLECTOR_LOG_INFO, "%s: reading again", b->s.address);
    b->failing = 0;
    jk_plaus_check(&ci, &pl);
    jk_plaus_tally(&b->plaus, &pl, say_implausible, b);
    if (pl.drop)
        return 0; /* the BMS answered, with nothing usable: no record */
    rc = b->api->record_new(b->host, &rec);
    if (rc < 0)
        return rc;
    rc = jk_record_fill(b->api, rec, &ci, &pl, jk_stream_device_info(&b->s.stream), b->s.address);
    if (rc == 0)
        rc = jk_record_switches(b->api, rec, b->s.switch_flags);
    if (rc < 0) {
        b->api->record_free(rec);
        return rc;
    }
    return b->api->emit(b->host, rec);
}

static const struct collector_command_def commands[] = JK_SWITCH_COMMANDS;

/* A switch on the poll connection, read back before the outcome is told. */
static int jkble_command(void *state, const struct collector_command *cmd)
{
    struct jkble *b = state;
    struct jk_switch_result res;
    char detail[96];
    int sw, on, rc, proto;

    if (jk_command_parse(b->api, b->host, cmd, &sw, &on) < 0)
        return 0;
    /* a JK04 has only the balancer: said before anything is sent */
    proto = b->s.stream.proto != JK_PROTO_AUTO ? b->s.stream.proto : b->s.stream.configured;
    if (proto == JK_PROTO_JK04 && sw != JK_SWITCH_BALANCER) {
        snprintf(detail, sizeof(detail), "a JK04 BMS has only the balancer switch, not %s",
                 cmd->name);
        jk_command_done(b->api, b->host, cmd, COLLECTOR_OUTCOME_REFUSED, detail);
        return 0;
    }
    if (b->s.address[0] == '\0' && (rc = locate(b)) < 0) {
        jk_command_done(b->api, b->host, cmd, COLLECTOR_OUTCOME_FAILED,
                        rc == -ECANCELED ? "stopping" : b->s.error);
        return 0;
    }
    rc = jk_session_set_switch(&b->s, sw, on, b->keep, &res);
    jk_command_finish(b->api, b->host, cmd, rc, &res, b->s.error);
    return 0;
}

/* The link goes when the instance stops (a reload that replaces it, or
 * shutdown), before a replacement may connect to the same BMS. */
static void jkble_stop(void *state)
{
    struct jkble *b = state;
    jk_session_close(&b->s);
}

static void jkble_destroy(void *state)
{
    struct jkble *b = state;
    jk_session_close(&b->s);
    free(b);
}

static const struct collector_plugin plugin = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SOURCE,
    .name = "jk_ble",
    .version = PACKAGE_VERSION,
    .description = "JK BMS over Bluetooth LE",
    .create = jkble_create,
    .poll = jkble_poll,
    .destroy = jkble_destroy,
    .setting_defs = setting_defs,
    .stop = jkble_stop,
    .commands = commands,
    .command = jkble_command,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &plugin;
}

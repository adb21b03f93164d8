/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_serial: a JK BMS pack over a wire, RS485 Modbus RTU (JK-PB, one pack
 * of a parallel bus per instance) or the 0x4E57 UART protocol. It yields
 * the record jk_ble yields for the same pack, plus `bms_link`. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <collector/plugin.h>

#include "plugins/libjkwire/jk_wire.h"
#include "plugins/libplugkit/baud.h"
#include "plugins/libjkwire/jk_wire_switch.h"
#include "plugins/libjk/jk_command.h"
#include "plugins/libjk/jk_metrics.h"

struct jk_serial {
    const struct collector_host_api *api;
    collector_host *host;
    struct jk_wire wire;
    int cause;                   /* the error class last logged; 0 while polls succeed */
    unsigned long failures;      /* polls failed since the last good one */
    struct jk_plaus_tally plaus; /* implausible values of this pack */
};

static const struct collector_setting_def setting_defs[] = {
    {.name = "device", .type = COLLECTOR_SETTING_STRING,
     .flags = COLLECTOR_SETTING_REQUIRED | COLLECTOR_SETTING_PATH | COLLECTOR_SETTING_DEVICE,
     .description = "the serial port, e.g. /dev/ttyUSB0 or a stable /dev/serial/by-id/... name"},
    {.name = "protocol", .type = COLLECTOR_SETTING_STRING, .default_value = "modbus",
     .allowed = jk_wire_protocols,
     .description = "modbus: RS485 Modbus RTU of the JK-PB series; uart: the 0x4E57 frames of "
                    "older packs"},
    {.name = "slave", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "1", .min = 0,
     .max = 15,
     .description = "Modbus address set with the pack's DIP switches (modbus only); 0, the "
                    "master pack, only when listening"},
    {.name = "request", .type = COLLECTOR_SETTING_STRING, .default_value = "trigger",
     .allowed = jk_wire_requests,
     .description = "modbus: trigger (FC 0x10 to 0x1620, the 300-byte frame: what JK's own "
                    "master sends) or registers (FC 0x03 reads: some firmware answers them only "
                    "on a bus kept warm)"},
    {.name = "bus_mode", .type = COLLECTOR_SETTING_STRING, .default_value = "auto",
     .allowed = jk_wire_bus_modes,
     .description = "modbus: auto (listen first; a master pack heard -> listen), master (poll), "
                    "or listen (decode what the packs answer the master pack; write nothing)"},
    {.name = "max_registers", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "32", .min = 1,
     .max = 125,
     .description = "modbus registers: per FC 0x03 read (about 40 work on JK-PB, 128 fail)"},
    {.name = "gap", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "0.1", .min = 0,
     .max = 2, .unit = "s",
     .description = "quiet time on the bus before every command (packs cross-talk under 50 ms)"},
    {.name = "listen_timeout", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "5", .min = 0.1,
     .max = 60, .unit = "s",
     .description = "listening: how long one poll waits for the master pack to poll this pack "
                    "(its cycle is about 4.4 s)"},
    {.name = "baudrate", .type = COLLECTOR_SETTING_INT,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "115200", .min = 9600,
     .max = 230400, .unit = "baud",
     .description = "9600, 19200, 38400, 57600, 115200 or 230400 (8N1)"},
    {.name = "timeout", .type = COLLECTOR_SETTING_DOUBLE,
     .flags = COLLECTOR_SETTING_MIN | COLLECTOR_SETTING_MAX, .default_value = "1", .min = 0.05,
     .max = 30, .unit = "s",
     .description = "how long one whole answer may take, first byte to last"},
    {.name = NULL},
};

/*
 * One bus, one protocol and speed; one instance per pack. Claims through the
 * host (ABI 1.1) catch two instances that disagree about a device, or read
 * the same slave, when the configuration is checked. The bus itself is
 * shared at run time by a lock on the device (jk_wire.c), not here.
 */
static int claim_bus(struct jk_serial *s, const collector_settings *set)
{
    const struct collector_host_api *api = s->api;
    const struct jk_wire *w = &s->wire;
    char real[PATH_MAX], resource[PATH_MAX + 32], mode[64];
    const char *dev = realpath(w->device, real) != NULL ? real : w->device;
    const char *other = NULL;

    snprintf(mode, sizeof(mode), "jk_serial %s %d baud%s%s", jk_wire_protocol_name(w->protocol),
             w->baudrate, w->protocol == JK_WIRE_MODBUS ? " " : "",
             w->protocol == JK_WIRE_MODBUS ? jk_wire_bus_modes[w->bus_mode] : "");
    if (api->claim(s->host, dev, mode, &other) == -EBUSY) {
        api->setting_error(s->host, set, "device",
                           "%s is used by %s with another protocol, baud rate or bus_mode: a bus "
                           "has one protocol, one speed and one mode",
                           w->device, other ? other : "another instance");
        return -EINVAL;
    }
    snprintf(resource, sizeof(resource), "%s slave %d", dev,
             w->protocol == JK_WIRE_MODBUS ? w->slave : 0);
    if (api->claim(s->host, resource, api->instance_name(s->host), &other) == -EBUSY) {
        api->setting_error(s->host, set, w->protocol == JK_WIRE_MODBUS ? "slave" : "device",
                           "%s is read by %s already: one instance per pack",
                           w->protocol == JK_WIRE_MODBUS ? "this slave" : "this port",
                           other ? other : "another instance");
        return -EINVAL;
    }
    return 0;
}

static void serial_destroy(void *state)
{
    struct jk_serial *s = state;
    if (s == NULL)
        return;
    jk_wire_close(&s->wire);
    free(s);
}

static int serial_create(const struct collector_host_api *api, collector_host *host,
                         const collector_settings *set, void **state_out)
{
    struct jk_serial *s = calloc(1, sizeof(*s));
    const char *device = NULL, *protocol = NULL, *request = NULL, *bus_mode = NULL;
    int64_t slave = 0, baud = 0, max_regs = 0;
    double timeout = 0, gap = 0, listen_timeout = 0;
    int proto = JK_WIRE_MODBUS, req = JK_WIRE_TRIGGER, mode = JK_BUS_AUTO, rc = -EINVAL;

    if (s == NULL)
        return -ENOMEM;
    s->api = api;
    s->host = host;
    /* The host checked every declared type, range and allowed value and
     * filled in the defaults; what is left is what the table cannot say. */
    if (api->setting_string(set, "device", &device) != 0 ||
        api->setting_string(set, "protocol", &protocol) != 0 ||
        jk_wire_protocol_parse(protocol, &proto) < 0 ||
        api->setting_int(set, "slave", &slave) != 0 ||
        api->setting_int(set, "baudrate", &baud) != 0 ||
        api->setting_double(set, "timeout", &timeout) != 0 ||
        api->setting_string(set, "request", &request) != 0 ||
        jk_wire_request_parse(request, &req) < 0 ||
        api->setting_string(set, "bus_mode", &bus_mode) != 0 ||
        jk_wire_bus_mode_parse(bus_mode, &mode) < 0 ||
        api->setting_int(set, "max_registers", &max_regs) != 0 ||
        api->setting_double(set, "gap", &gap) != 0 ||
        api->setting_double(set, "listen_timeout", &listen_timeout) != 0) {
        /* Only a host that does not apply setting_defs gets here. */
        api->setting_error(host, set, NULL, "settings unchecked: collectord too old for ABI 1.1");
        goto fail;
    }
    if (device[0] == '\0') {
        api->setting_error(host, set, "device", "the serial port is required, e.g. /dev/ttyUSB0");
        goto fail;
    }
    if (plugkit_baud((long)baud) == B0) {
        api->setting_error(host, set, "baudrate",
                           "want 9600, 19200, 38400, 57600, 115200 or 230400");
        goto fail;
    }
    if (slave == 0 && (proto != JK_WIRE_MODBUS || mode == JK_BUS_MASTER)) {
        api->setting_error(host, set, "slave",
                           "0 is the master pack, which answers nobody: read it with "
                           "bus_mode = \"listen\" (or \"auto\"), or set 1-15");
        goto fail;
    }
    if (jk_wire_init(&s->wire, device, proto, (int)slave, (int)baud, (int)(timeout * 1000)) < 0) {
        api->setting_error(host, set, "device", "the path is too long");
        goto fail;
    }
    s->wire.request = req;
    s->wire.bus_mode = mode;
    s->wire.max_registers = (int)max_regs;
    s->wire.gap_ms = (int)(gap * 1000);
    s->wire.listen_timeout_ms = (int)(listen_timeout * 1000);
    rc = claim_bus(s, set);
    if (rc < 0)
        goto fail;
    *state_out = s;
    return 0;
fail:
    serial_destroy(s);
    return rc;
}

/* Log a failure once per cause: a device that is gone and then cannot be
 * opened is one outage, one line. */
static void report(struct jk_serial *s, int rc)
{
    int cause = (rc == -ENODEV || rc == -ENOENT) ? -ENODEV : rc;

    s->failures++;
    if (cause == s->cause)
        return;
    s->cause = cause;
    s->api->log(s->host, COLLECTOR_LOG_ERROR, "%s", s->wire.error);
}

static int serial_start(void *state)
{
    struct jk_serial *s = state;
    int rc = jk_wire_open(&s->wire);

    if (rc == -EACCES || rc == -EPERM || rc == -ENOTTY) {
        s->api->log(s->host, COLLECTOR_LOG_ERROR, "%s", s->wire.error);
        return rc;
    }
    if (rc < 0)
        report(s, rc); /* unplugged at start: poll() opens it when it comes */
    return 0;
}

static void serial_stop(void *state)
{
    struct jk_serial *s = state;
    jk_wire_close(&s->wire);
}

static void say_implausible(void *user, const char *line)
{
    struct jk_serial *s = user;
    s->api->log(s->host, COLLECTOR_LOG_WARNING, "%s slave %d: %s", s->wire.device, s->wire.slave,
                line);
}

static int serial_emit(struct jk_serial *s, const struct jk_cell_info *ci,
                       const struct jk_device_info *di)
{
    const struct collector_host_api *api = s->api;
    collector_record *rec;
    struct jk_plaus pl;
    int rc;

    jk_plaus_check(ci, &pl);
    jk_plaus_tally(&s->plaus, &pl, say_implausible, s);
    if (pl.drop)
        return 0; /* the pack answered, with nothing usable: no record */
    rc = api->record_new(s->host, &rec);
    if (rc < 0)
        return rc;
    rc = jk_record_fill(api, rec, ci, &pl, di, NULL);
    if (rc == 0)
        rc = api->set_string(rec, "bms_link", jk_wire_protocol_name(s->wire.protocol));
    if (rc == 0 && api->record_device(rec)[0] == '\0') {
        /* No serial number: the port and the address name the pack. */
        char id[300];
        snprintf(id, sizeof(id), "%s#%d", s->wire.device,
                 s->wire.protocol == JK_WIRE_MODBUS ? s->wire.slave : 0);
        rc = api->set_device(rec, id);
    }
    if (rc < 0) {
        api->record_free(rec);
        return rc;
    }
    return api->emit(s->host, rec);
}

static int serial_poll(void *state)
{
    struct jk_serial *s = state;
    struct jk_cell_info ci;
    struct jk_device_info di;
    int has_di = 0, rc;

    s->wire.stop_fd = s->api->stop_fd(s->host);
    rc = jk_wire_read(&s->wire, &ci, &di, &has_di);
    if (s->wire.notice[0] != '\0') { /* the bus mode, decided or changed: one line */
        s->api->log(s->host, COLLECTOR_LOG_INFO, "%s", s->wire.notice);
        s->wire.notice[0] = '\0';
    }
    if (rc == -ECANCELED)
        return rc;
    if (rc < 0) {
        report(s, rc);
        return rc;
    }
    if (s->cause != 0)
        s->api->log(s->host, COLLECTOR_LOG_INFO, "%s: answers again after %lu failed polls",
                    s->wire.device, s->failures);
    s->cause = 0;
    s->failures = 0;
    return serial_emit(s, &ci, has_di ? &di : NULL);
}

static const struct collector_command_def commands[] = JK_SWITCH_COMMANDS;

/* A switch over Modbus between polls, read back before the outcome is told;
 * refused on the UART link and on a bus a master pack drives. */
static int serial_command(void *state, const struct collector_command *cmd)
{
    struct jk_serial *s = state;
    struct jk_switch_result res;
    int sw, on, rc;

    if (jk_command_parse(s->api, s->host, cmd, &sw, &on) < 0)
        return 0;
    s->wire.stop_fd = s->api->stop_fd(s->host);
    rc = jk_wire_set_switch(&s->wire, sw, on, &res);
    jk_command_finish(s->api, s->host, cmd, rc, &res, s->wire.error);
    return 0;
}

static const struct collector_plugin descriptor = {
    COLLECTOR_PLUGIN_HEAD,
    .kind = COLLECTOR_KIND_SOURCE,
    .name = "jk_serial",
    .version = PACKAGE_VERSION,
    .description = "JK BMS over RS485 Modbus (JK-PB, parallel packs on one bus) or UART",
    .create = serial_create,
    .poll = serial_poll,
    .destroy = serial_destroy,
    .setting_defs = setting_defs,
    .start = serial_start,
    .stop = serial_stop,
    .commands = commands,
    .command = serial_command,
};

COLLECTOR_EXPORT const struct collector_plugin *collector_plugin_entry(void)
{
    return &descriptor;
}

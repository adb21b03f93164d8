/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jkbms-util: find, read and decode JK BMS devices from the command line. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "plugins/libjkble/jk_devices.h"
#include "plugins/libjkble/jk_scan.h"
#include "plugins/libjkble/jk_session.h"
#include "plugins/libjkwire/jk_wire.h"
#include "plugins/libjkwire/jk_wire_switch.h"
#include "plugins/libble/transport.h"
#include "plugins/libjk/jk_command.h"
#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_report.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: jkbms-util [--address ADDR] [options]    read one BMS and print its status\n"
            "       jkbms-util --scan [--adapter hciN] [--seconds N]   find JK devices, save them\n"
            "                       to ./jk_devices.yaml and read the first one found\n"
            "                       (discovery needs CAP_NET_ADMIN: sudo, or setcap on jkbms-util)\n"
            "       jkbms-util --decode FILE [--json]       decode a hex or btsnoop capture\n"
            "       jkbms-util --serial DEVICE [--serial-protocol modbus|uart] [--slave N]\n"
            "                       [--baudrate N] [--json]   read one pack over RS485 or UART\n"
            "       jkbms-util --address ADDR --set SWITCH=on|off [--set ...] [--json]\n"
            "       jkbms-util --serial DEVICE --slave N --set SWITCH=on|off [--set ...]\n"
            "                       switch charge, discharge or balancer, read back, print the\n"
            "                       states; exit 0 only when the BMS confirms every one\n"
            "  --request R          modbus: trigger (default, what JK's own master sends) or\n"
            "                       registers (FC 0x03 reads; some firmware needs a warm bus)\n"
            "  --bus-mode M         modbus: auto (default: listen first), master or listen\n"
            "                       (a master pack polls the bus: decode, write nothing)\n"
            "  --max-registers N    modbus registers: per read (default 32)\n"
            "  --count N            serial: read N times (--interval apart), one result each\n"
            "  --interval SECONDS   serial: between reads with --count (default 1)\n"
            "  --address ADDR       the BMS (default: the first device of jk_devices.yaml,\n"
            "                       or $JK_DEVICES_FILE)\n"
            "  --address-type T     auto (default), public or random\n"
            "  --adapter hciN       the Bluetooth adapter\n"
            "  --transport T        bluetooth (default), or unix:PATH for a simulated BMS (and,\n"
            "                       with --scan, a simulated kernel management socket)\n"
            "  --timeout SECONDS    for connecting and each step (default 15)\n"
            "  --protocol P         auto (default), JK04, JK02_24S or JK02_32S\n"
            "  --hex FILE           also save every raw notification (serial: the exchange),\n"
            "                       one per line\n"
            "  --json               print one JSON object (keys as collectord's record)\n"
            "  --version, --help\n");
}

/* The seed's --scan: list JK devices, add them to ./jk_devices.yaml (keeping
 * the entries already there), and return the first one found: 1 when the
 * file was saved, 0 when it was not (said why), or a negative errno. */
static int scan_devices(const char *transport, const char *adapter, int seconds, int stop_fd,
                        struct jk_device *first)
{
    struct jk_found found[32];
    struct jk_device devs[64];
    char err[512], stamp[40], frac[16];
    struct timespec ts;
    struct tm tm;
    int n, ndev, clock_err = 0, saved = 0;

    printf("Scanning for JK BMS devices for %d seconds...\n", seconds);
    fflush(stdout);
    n = jk_scan(transport, adapter, seconds, stop_fd, NULL, found, 32, stderr, err, sizeof(err));
    if (n == -ECANCELED) {
        fprintf(stderr, "jkbms-util: scan interrupted; discovery stopped\n");
        return n;
    }
    if (n < 0) {
        fprintf(stderr, "jkbms-util: %s\n", err);
        return n;
    }
    if (n == 0) {
        printf("No JK BMS devices found.\n");
        return -ENOENT;
    }
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        clock_err = errno;
    else if (localtime_r(&ts.tv_sec, &tm) == NULL ||
             strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        clock_err = EOVERFLOW;
    else {
        snprintf(frac, sizeof(frac), ".%06d", (int)(ts.tv_nsec / 1000));
        strncat(stamp, frac, sizeof(stamp) - strlen(stamp) - 1);
    }
    ndev = jk_devices_load("jk_devices.yaml", devs, 64 - 32, err, sizeof(err));
    if (clock_err != 0) {
        fprintf(stderr, "jkbms-util: cannot read the clock for last_seen (%s): "
                        "jk_devices.yaml not updated\n",
                strerror(clock_err));
        ndev = -1;
    } else if (ndev < 0) {
        fprintf(stderr, "jkbms-util: %s: not updated\n", err);
        ndev = -1;
    }
    printf("\nFound %d JK BMS device(s):\n", n);
    for (int i = 0; i < n; i++) {
        int k;
        printf("\n  Name: %s\n  Address: %s (%s)\n  RSSI: %d dBm\n", found[i].dev.name,
               found[i].dev.address,
               found[i].dev.address_type == BLE_ADDR_RANDOM ? "random" : "public",
               found[i].rssi);
        if (ndev < 0)
            continue;
        for (k = 0; k < ndev && strcmp(devs[k].address, found[i].dev.address) != 0; k++)
            ;
        if (k == ndev)
            ndev++;
        devs[k] = found[i].dev;
        snprintf(devs[k].last_seen, sizeof(devs[k].last_seen), "%s", stamp);
    }
    if (ndev > 0 && jk_devices_save("jk_devices.yaml", devs, (size_t)ndev, err, sizeof(err)) < 0)
        fprintf(stderr, "jkbms-util: %s\n", err);
    else if (ndev > 0) {
        printf("\nSaved %d device(s) to jk_devices.yaml\n", ndev);
        saved = 1;
    }
    fflush(stdout);
    *first = found[0].dev;
    return saved;
}

/* SIGINT and SIGTERM become a readable fd (the stop fd of the scan and the
 * session), so a discovery is always stopped on the way out. */
static int signal_fd(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC);
}

/* One line of hex. */
static void print_hex(FILE *fp, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        fprintf(fp, "%02x%s", data[i], i + 1 < len ? " " : "\n");
}

/* --hex over BLE: every notification as it came, but the device-info
 * frame's passcodes zeroed (anyone reading a shared capture could use them). */
struct hex_dump {
    FILE *fp;
    struct jk_secret_mask mask;
};

static void save_hex(void *user, const uint8_t *data, size_t len)
{
    struct hex_dump *h = user;
    uint8_t copy[JK_FRAME_LEN + 64];

    if (len > sizeof(copy))
        len = sizeof(copy); /* longer than any notification a JK sends */
    memcpy(copy, data, len);
    jk_mask_notification(&h->mask, copy, len);
    print_hex(h->fp, copy, len);
}

/* The file for --hex, or NULL after saying why. */
static FILE *open_hex(const char *path)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        fprintf(stderr, "jkbms-util: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    /* A line per chunk, on disk as it arrives: Ctrl-C or a crash loses at
     * most the line being written. */
    setvbuf(fp, NULL, _IOLBF, 0);
    return fp;
}

/* Close the --hex file and print what was read (or why not): the exit status. */
static int finish_read(int rc, const char *error, FILE *hexfp, const struct jk_cell_info *ci,
                       const struct jk_device_info *di, const char *address, int json)
{
    if (hexfp != NULL)
        fclose(hexfp);
    if (rc == -ECANCELED)
        return 130;
    if (rc < 0) {
        fprintf(stderr, "jkbms-util: %s\n", error);
        return 1;
    }
    if (json)
        rc = jk_report_json(stdout, ci, di, address);
    else
        jk_report_print(stdout, ci, di);
    return rc < 0 ? 1 : 0;
}

/* Serial --hex: what was sent as a comment, what came back as data lines. */
static void save_serial_hex(void *user, int sent, const uint8_t *data, size_t len)
{
    if (sent)
        fprintf(user, "# sent: ");
    print_hex(user, data, len); /* the wire code zeroed the secrets already */
}

/* One --set SWITCH=on|off and what came of it. */
#define MAX_SETS 8
struct set_cmd {
    int sw, on;
    int rc; /* 0: the BMS answered the read-back (see res); else the failure */
    struct jk_switch_result res;
    char error[512];
};

static int parse_set(const char *arg, struct set_cmd *c)
{
    char name[16];
    const char *eq = strchr(arg, '=');

    if (eq == NULL || (size_t)(eq - arg) >= sizeof(name))
        return -EINVAL;
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    memset(c, 0, sizeof(*c));
    if (jk_switch_parse(name, &c->sw) < 0 || jk_switch_value_parse(eq + 1, &c->on) < 0)
        return -EINVAL;
    return 0;
}

static const char *outcome_word(const struct set_cmd *c)
{
    return jk_outcome_word(jk_command_outcome(c->rc, &c->res));
}

static const char *state_word(int v)
{
    return v < 0 ? NULL : v ? "on" : "off";
}

/* Print what every --set came to: the confirmed states on stdout, one line
 * per other outcome on stderr (what the BMS reports, or why not). The exit
 * status: 0 when all were confirmed, 130 when interrupted, else 1. */
static int report_sets(const struct set_cmd *c, size_t n, const char *device, int json)
{
    int all = 1, cancelled = 0;

    for (size_t i = 0; i < n; i++) {
        all &= c[i].rc == 0 && c[i].res.confirmed;
        cancelled |= c[i].rc == -ECANCELED;
    }
    if (json) {
        json_t *arr = json_array(), *top = json_object();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object();
            const char *flag = state_word(c[i].res.state.flag);
            const char *mos = state_word(c[i].res.state.mosfet);
            json_object_set_new(o, "switch", json_string(jk_switch_name(c[i].sw)));
            json_object_set_new(o, "requested", json_string(c[i].on ? "on" : "off"));
            json_object_set_new(o, "outcome", json_string(outcome_word(&c[i])));
            json_object_set_new(o, "switch_state", flag ? json_string(flag) : json_null());
            if (c[i].sw != JK_SWITCH_BALANCER)
                json_object_set_new(o, "mosfet", mos ? json_string(mos) : json_null());
            json_object_set_new(o, "detail",
                                json_string(c[i].rc == 0 ? c[i].res.detail : c[i].error));
            json_array_append_new(arr, o);
        }
        json_object_set_new(top, "device", json_string(device));
        json_object_set_new(top, "confirmed", json_boolean(all));
        json_object_set_new(top, "commands", arr);
        json_dumpf(top, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(top);
    }
    for (size_t i = 0; i < n; i++) {
        const char *sw = jk_switch_name(c[i].sw), *req = c[i].on ? "on" : "off";
        /* the detail without its leading "SWITCH: " */
        const char *reports = c[i].res.detail + strnlen(sw, 16) + 2;
        if (c[i].rc == 0 && c[i].res.confirmed) {
            if (!json)
                printf("%s %s: confirmed, %s\n", sw, req, reports);
        } else if (c[i].rc == 0) {
            fprintf(stderr, "jkbms-util: %s %s: not confirmed, %s\n", sw, req, reports);
        } else {
            fprintf(stderr, "jkbms-util: %s %s: %s: %s\n", sw, req, outcome_word(&c[i]),
                    c[i].error);
        }
    }
    return cancelled ? 130 : all ? 0 : 1;
}

/* Performs one --set over a link: 0 or a negative errno, *error its why. */
typedef int (*set_fn)(void *link, const struct set_cmd *c, int more,
                      struct jk_switch_result *res, const char **error);

/* Each --set in turn (`more`: others follow); after an interruption the
 * rest are not sent. */
static void run_sets(struct set_cmd *c, size_t n, set_fn perform, void *link)
{
    int cancelled = 0;

    for (size_t i = 0; i < n; i++) {
        const char *error = "";
        if (cancelled) {
            c[i].rc = -ECANCELED;
            snprintf(c[i].error, sizeof(c[i].error), "interrupted: not sent");
            continue;
        }
        c[i].rc = perform(link, &c[i], i + 1 < n, &c[i].res, &error);
        if (c[i].rc < 0)
            snprintf(c[i].error, sizeof(c[i].error), "%s", error);
        cancelled = c[i].rc == -ECANCELED;
    }
}

/* `--address ADDR --set ...`: on one connection. */
static int ble_set(void *link, const struct set_cmd *c, int more, struct jk_switch_result *res,
                   const char **error)
{
    struct jk_session *s = link;
    int rc = jk_session_set_switch(s, c->sw, c->on, more, res);

    *error = s->error;
    return rc;
}

static int ble_set_main(struct jk_session *s, struct set_cmd *c, size_t n, int json)
{
    run_sets(c, n, ble_set, s);
    jk_session_close(s);
    return report_sets(c, n, s->address, json);
}

struct serial_opts {
    const char *device;
    int protocol, slave, baudrate;
    int request, bus_mode, max_registers;
    long count;
    double interval;
};

/* An integer option from lo to hi: 0 and *out, or -1 after saying what is wanted. */
static int int_option(const char *name, const char *arg, long lo, long hi, const char *want,
                      long *out)
{
    char *end;
    long num = strtol(arg, &end, 10);

    if (end == arg || *end != '\0' || num < lo || num > hi) {
        fprintf(stderr, "jkbms-util: --%s %s: want %s\n", name, arg, want);
        return -1;
    }
    *out = num;
    return 0;
}

/* A word option parsed by `parse`: 0 and *out, or -1 after saying what is wanted. */
static int word_option(const char *name, const char *arg, int (*parse)(const char *, int *),
                       const char *want, int *out)
{
    if (parse(arg, out) < 0) {
        fprintf(stderr, "jkbms-util: --%s %s: want %s\n", name, arg, want);
        return -1;
    }
    return 0;
}

/* Wait `seconds`, or less when a signal asks to stop: 0, or -ECANCELED. */
static int pause_or_stop(int stop_fd, double seconds)
{
    struct pollfd pfd = {stop_fd, POLLIN, 0};
    return poll(&pfd, 1, (int)(seconds * 1000)) > 0 ? -ECANCELED : 0;
}

/* `--serial DEVICE`: read one pack over a wire and print it like a BLE read. */
/* `--serial DEVICE --set ...`: the bus held for each. */
static int serial_set(void *link, const struct set_cmd *c, int more,
                      struct jk_switch_result *res, const char **error)
{
    struct jk_wire *w = link;
    int rc = jk_wire_set_switch(w, c->sw, c->on, res);

    (void)more;
    *error = w->error;
    return rc;
}

static int serial_set_main(struct jk_wire *w, struct set_cmd *c, size_t n, int json)
{
    char device[300];

    run_sets(c, n, serial_set, w);
    jk_wire_close(w);
    snprintf(device, sizeof(device), "%s#%d", w->device, w->slave);
    return report_sets(c, n, device, json);
}

static int serial_main(const struct serial_opts *o, double timeout, const char *hex, int json,
                       int stop_fd, struct set_cmd *sets, size_t nsets)
{
    struct jk_wire w;
    struct jk_cell_info ci;
    struct jk_device_info di;
    FILE *hexfp = NULL;
    int has_di = 0, rc = 0;
    long failed = 0;

    if (jk_wire_init(&w, o->device, o->protocol, o->slave, o->baudrate, (int)(timeout * 1000)) <
        0) {
        fprintf(stderr, "jkbms-util: --serial %s: the path is too long\n", o->device);
        return 2;
    }
    w.stop_fd = stop_fd;
    if (hex != NULL) {
        hexfp = open_hex(hex);
        if (hexfp == NULL)
            return 1;
        fprintf(hexfp, "# jkbms-util capture of %s, protocol %s, slave %d\n", o->device,
                jk_wire_protocol_name(o->protocol), o->slave);
        fprintf(hexfp, "# passcodes and passwords are zeroed in this dump\n");
        w.on_raw = save_serial_hex;
        w.raw_user = hexfp;
    }
    w.request = o->request;
    w.bus_mode = o->bus_mode;
    w.max_registers = o->max_registers;
    if (nsets > 0)
        return serial_set_main(&w, sets, nsets, json);
    for (long i = 0; i < o->count; i++) {
        if (i > 0 && pause_or_stop(stop_fd, o->interval) < 0)
            break;
        rc = jk_wire_read(&w, &ci, &di, &has_di);
        /* the bus mode when it is not the plain one, a new firmware */
        if (w.notice[0] != '\0' && !(o->bus_mode == JK_BUS_AUTO && w.notice_mode == JK_BUS_MASTER))
            fprintf(stderr, "jkbms-util: %s\n", w.notice);
        w.notice[0] = '\0';
        if (i + 1 == o->count || rc == -ECANCELED)
            break;
        /* not the last: print this one and go on, counting failures */
        if (rc < 0) {
            fprintf(stderr, "jkbms-util: %s\n", w.error);
            failed++;
        } else {
            if (json)
                jk_report_json(stdout, &ci, has_di ? &di : NULL, NULL);
            else
                jk_report_print(stdout, &ci, has_di ? &di : NULL);
            fflush(stdout);
        }
    }
    jk_wire_close(&w);
    rc = finish_read(rc, w.error, hexfp, &ci, has_di ? &di : NULL, NULL, json);
    return rc != 0 ? rc : failed > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"decode", required_argument, NULL, 'd'},   {"json", no_argument, NULL, 'j'},
        {"protocol", required_argument, NULL, 'p'}, {"address", required_argument, NULL, 'a'},
        {"address-type", required_argument, NULL, 'T'},
        {"adapter", required_argument, NULL, 'i'},  {"transport", required_argument, NULL, 't'},
        {"timeout", required_argument, NULL, 'w'},  {"hex", required_argument, NULL, 'x'},
        {"version", no_argument, NULL, 'V'},        {"help", no_argument, NULL, 'h'},
        {"scan", no_argument, NULL, 'S'},           {"seconds", required_argument, NULL, 's'},
        {"serial", required_argument, NULL, 'r'},   {"slave", required_argument, NULL, 'n'},
        {"serial-protocol", required_argument, NULL, 'P'},
        {"baudrate", required_argument, NULL, 'b'},
        {"set", required_argument, NULL, 'X'},
        {"request", required_argument, NULL, 'R'},  {"bus-mode", required_argument, NULL, 'M'},
        {"max-registers", required_argument, NULL, 'G'},
        {"count", required_argument, NULL, 'C'},    {"interval", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    const char *decode = NULL, *address = NULL, *adapter = "", *transport = "", *hex = NULL;
    int json = 0, proto = JK_PROTO_AUTO, type = BLE_ADDR_AUTO, c, rc, scan = 0;
    long seconds = 10, num;
    double timeout = 15;
    struct jk_session s;
    struct jk_cell_info ci;
    struct jk_device dev;
    char err[512];
    FILE *hexfp = NULL;
    struct hex_dump hexdump = {0};
    int stop_fd, scan_saved = 0;
    char *end;
    struct serial_opts serial = {NULL, JK_WIRE_MODBUS, 1, 115200, JK_WIRE_TRIGGER,
                                 JK_BUS_AUTO, JK_MB_MAX_REGS, 1, 1.0};
    int timeout_set = 0;
    struct set_cmd sets[MAX_SETS];
    size_t nsets = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            decode = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'p':
            if (jk_protocol_parse(optarg, &proto) < 0) {
                fprintf(stderr, "jkbms-util: --protocol %s: want auto, JK04, JK02_24S or "
                                "JK02_32S\n",
                        optarg);
                return 2;
            }
            break;
        case 'a':
            address = optarg;
            break;
        case 'T':
            if (ble_address_type_parse(optarg, &type) < 0) {
                fprintf(stderr, "jkbms-util: --address-type %s: want auto, public or random\n",
                        optarg);
                return 2;
            }
            break;
        case 'i':
            adapter = optarg;
            break;
        case 't':
            transport = optarg;
            break;
        case 'w':
            timeout = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(timeout > 0 && timeout <= 600)) {
                fprintf(stderr, "jkbms-util: --timeout %s: want 0 to 600 seconds\n", optarg);
                return 2;
            }
            timeout_set = 1;
            break;
        case 'x':
            hex = optarg;
            break;
        case 'r':
            serial.device = optarg;
            break;
        case 'P':
            if (word_option("serial-protocol", optarg, jk_wire_protocol_parse, "modbus or uart",
                            &serial.protocol) < 0)
                return 2;
            break;
        case 'n':
            if (int_option("slave", optarg, 0, 15,
                           "1 to 15 (the DIP-switch address; 0, the master pack, with "
                           "--bus-mode listen)",
                           &num) < 0)
                return 2;
            serial.slave = (int)num;
            break;
        case 'b':
            if (int_option("baudrate", optarg, 1200, 921600, "e.g. 115200", &num) < 0)
                return 2;
            serial.baudrate = (int)num;
            break;
        case 'R':
            if (word_option("request", optarg, jk_wire_request_parse, "trigger or registers",
                            &serial.request) < 0)
                return 2;
            break;
        case 'M':
            if (word_option("bus-mode", optarg, jk_wire_bus_mode_parse, "auto, master or listen",
                            &serial.bus_mode) < 0)
                return 2;
            break;
        case 'G':
            if (int_option("max-registers", optarg, 1, 125, "1 to 125", &num) < 0)
                return 2;
            serial.max_registers = (int)num;
            break;
        case 'C':
            if (int_option("count", optarg, 1, 1000000, "1 to 1000000", &serial.count) < 0)
                return 2;
            break;
        case 'I':
            serial.interval = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(serial.interval >= 0 && serial.interval <= 3600)) {
                fprintf(stderr, "jkbms-util: --interval %s: want 0 to 3600 seconds\n", optarg);
                return 2;
            }
            break;
        case 'X':
            if (nsets == MAX_SETS || parse_set(optarg, &sets[nsets]) < 0) {
                fprintf(stderr, "jkbms-util: --set %s: want charge, discharge or balancer "
                                "=on or =off (at most %d)\n",
                        optarg, MAX_SETS);
                return 2;
            }
            nsets++;
            break;
        case 'S':
            scan = 1;
            break;
        case 's':
            seconds = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || seconds < 1 || seconds > 3600) {
                fprintf(stderr, "jkbms-util: --seconds %s: want 1 to 3600\n", optarg);
                return 2;
            }
            break;
        case 'V':
            printf("jkbms-util %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (decode != NULL)
        return jk_decode_file_main(decode, json, proto, stdout, stderr);
    if (nsets > 0 && (scan || hex != NULL)) {
        fprintf(stderr, "jkbms-util: --set goes with --address or --serial, not --scan or --hex\n");
        return 2;
    }

    stop_fd = signal_fd();
    if (serial.device != NULL)
        return serial_main(&serial, timeout_set ? timeout : 1.0, hex, json, stop_fd, sets, nsets);
    if (scan) {
        rc = scan_devices(transport, adapter, (int)seconds, stop_fd, &dev);
        if (rc < 0)
            return rc == -ECANCELED ? 130 : 1;
        scan_saved = rc > 0;
        address = dev.address;
        if (type == BLE_ADDR_AUTO)
            type = dev.address_type; /* as the scan saw it */
    }
    if (address == NULL || type == BLE_ADDR_AUTO) {
        const char *file = getenv("JK_DEVICES_FILE") ? getenv("JK_DEVICES_FILE")
                                                     : "jk_devices.yaml";
        if (address == NULL) {
            rc = jk_devices_first(file, &dev, err, sizeof(err));
            if (rc < 0) {
                fprintf(stderr, "jkbms-util: %s\n",
                        rc == -EINVAL ? err : "no --address and no device in jk_devices.yaml");
                return 1;
            }
            address = dev.address;
            fprintf(stderr, "Using %s %s from %s\n", dev.name, address, file);
            if (type == BLE_ADDR_AUTO)
                type = dev.address_type;
        } else if (ble_address_valid(address)) {
            /* a known device: the address type the scan recorded */
            rc = jk_devices_address_type(file, address, err, sizeof(err));
            if (rc < 0) {
                fprintf(stderr, "jkbms-util: %s\n", err);
                return 1;
            }
            type = rc;
        }
    }
    if (!ble_address_valid(address)) {
        fprintf(stderr, "jkbms-util: %s is not a BLE address (AA:BB:CC:DD:EE:FF)\n", address);
        return 2;
    }
    jk_session_init(&s, proto, stop_fd);
    memcpy(s.address, address, sizeof(s.address)); /* validated: 17 characters + NUL */
    snprintf(s.adapter, sizeof(s.adapter), "%s", adapter);
    snprintf(s.transport, sizeof(s.transport), "%s", transport);
    s.address_type = type;
    s.timeout_ms = (int)(timeout * 1000);
    if (nsets > 0)
        return ble_set_main(&s, sets, nsets, json);
    if (hex != NULL) {
        hexfp = open_hex(hex);
        if (hexfp == NULL)
            return 1;
        fprintf(hexfp, "# jkbms-util capture of %s: one notification per line\n", address);
        fprintf(hexfp, "# passcodes are zeroed in this dump\n");
        hexdump.fp = hexfp;
        s.on_raw = save_hex;
        s.raw_user = &hexdump;
    }
    rc = jk_session_read(&s, &ci, 0);
    if (scan_saved && rc < 0 && rc != -ECANCELED) {
        /* The scan did its job; the read of the first device is a bonus. */
        if (hexfp != NULL)
            fclose(hexfp);
        fprintf(stderr,
                "jkbms-util: saved; a first read of %s failed (%s): a BMS takes one connection "
                "at a time, so if collectord or an app holds it, stop that to read it here\n",
                address, s.error);
        return 0;
    }
    return finish_read(rc, s.error, hexfp, &ci, jk_stream_device_info(&s.stream), address, json);
}

/* jkbms-util: find, read and decode JK BMS devices from the command line. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugins/jk_ble/jk_devices.h"
#include "plugins/jk_ble/jk_scan.h"
#include "plugins/jk_ble/jk_session.h"
#include "plugins/libble/transport.h"
#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_report.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: jkbms-util [--address ADDR] [options]    read one BMS and print its status\n"
            "       jkbms-util --scan [--adapter hciN] [--seconds N]   find JK devices, save them\n"
            "                       to ./jk_devices.yaml and read the first one found\n"
            "       jkbms-util --decode FILE [--json]       decode a hex or btsnoop capture\n"
            "  --address ADDR       the BMS (default: the first device of jk_devices.yaml,\n"
            "                       or $JK_DEVICES_FILE)\n"
            "  --address-type T     auto (default), public or random\n"
            "  --adapter hciN       the Bluetooth adapter\n"
            "  --transport T        bluetooth (default), or unix:PATH for a simulated BMS\n"
            "  --timeout SECONDS    for connecting and each step (default 15)\n"
            "  --protocol P         auto (default), JK04, JK02_24S or JK02_32S\n"
            "  --hex FILE           also save every raw notification, one per line\n"
            "  --json               print one JSON object (keys as collectord's record)\n"
            "  --version, --help\n");
}

/* The seed's --scan: list JK devices, add them to ./jk_devices.yaml (keeping
 * the entries already there), and return the first one found. */
static const char *scan_devices(const char *adapter, int seconds, char *first, size_t cap)
{
    struct jk_found found[32];
    struct jk_device devs[64];
    char err[512], stamp[40], frac[16];
    struct timespec ts;
    struct tm tm;
    int n, ndev, clock_err = 0;

    printf("Scanning for JK BMS devices for %d seconds...\n", seconds);
    fflush(stdout);
    n = jk_scan(adapter, seconds, found, 32, stderr, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "jkbms-util: %s\n", err);
        return NULL;
    }
    if (n == 0) {
        printf("No JK BMS devices found.\n");
        return NULL;
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
        printf("\n  Name: %s\n  Address: %s\n  RSSI: %d dBm\n", found[i].dev.name,
               found[i].dev.address, found[i].rssi);
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
    else if (ndev > 0)
        printf("\nSaved %d device(s) to jk_devices.yaml\n", ndev);
    snprintf(first, cap, "%s", found[0].dev.address);
    return first;
}

static void save_hex(void *user, const uint8_t *data, size_t len)
{
    FILE *fp = user;
    for (size_t i = 0; i < len; i++)
        fprintf(fp, "%02x%s", data[i], i + 1 < len ? " " : "\n");
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
        {NULL, 0, NULL, 0},
    };
    const char *decode = NULL, *address = NULL, *adapter = "", *transport = "", *hex = NULL;
    int json = 0, proto = JK_PROTO_AUTO, type = BLE_ADDR_AUTO, c, rc, scan = 0;
    long seconds = 10;
    double timeout = 15;
    struct jk_session s;
    struct jk_cell_info ci;
    char dev_addr[64], dev_name[64], err[512];
    FILE *hexfp = NULL;
    char *end;

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
            break;
        case 'x':
            hex = optarg;
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

    if (scan && (address = scan_devices(adapter, (int)seconds, dev_addr, sizeof(dev_addr))) == NULL)
        return 1;
    if (address == NULL) {
        const char *file = getenv("JK_DEVICES_FILE") ? getenv("JK_DEVICES_FILE")
                                                     : "jk_devices.yaml";
        rc = jk_devices_first(file, dev_addr, sizeof(dev_addr), dev_name, sizeof(dev_name), err,
                              sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "jkbms-util: %s\n",
                    rc == -EINVAL ? err : "no --address and no device in jk_devices.yaml");
            return 1;
        }
        address = dev_addr;
        fprintf(stderr, "Using %s %s from %s\n", dev_name, address, file);
    }
    if (!ble_address_valid(address)) {
        fprintf(stderr, "jkbms-util: %s is not a BLE address (AA:BB:CC:DD:EE:FF)\n", address);
        return 2;
    }
    jk_session_init(&s, proto, -1);
    memcpy(s.address, address, sizeof(s.address)); /* validated: 17 characters + NUL */
    snprintf(s.adapter, sizeof(s.adapter), "%s", adapter);
    snprintf(s.transport, sizeof(s.transport), "%s", transport);
    s.address_type = type;
    s.timeout_ms = (int)(timeout * 1000);
    if (hex != NULL) {
        hexfp = fopen(hex, "w");
        if (hexfp == NULL) {
            fprintf(stderr, "jkbms-util: %s: %s\n", hex, strerror(errno));
            return 1;
        }
        fprintf(hexfp, "# jkbms-util capture of %s: one notification per line\n", address);
        s.on_raw = save_hex;
        s.raw_user = hexfp;
    }
    rc = jk_session_read(&s, &ci, 0);
    if (hexfp != NULL)
        fclose(hexfp);
    if (rc < 0) {
        fprintf(stderr, "jkbms-util: %s\n", s.error);
        return 1;
    }
    if (json)
        jk_report_json(stdout, &ci, jk_stream_device_info(&s.stream), address);
    else
        jk_report_print(stdout, &ci, jk_stream_device_info(&s.stream));
    return 0;
}

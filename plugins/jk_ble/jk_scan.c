#include "config.h"

#include "plugins/jk_ble/jk_scan.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>
#include <bluetooth/hci_lib.h>

#include "plugins/libble/adv.h"
#include "plugins/libble/gatt.h"
#include "plugins/libble/transport.h"

struct seen {
    char address[18];
    char name[64];
    int ffe0;
    int rssi;
};

static void note_report(struct seen *list, size_t *n, size_t cap, const struct adv_report *r)
{
    struct seen *s = NULL;
    char name[64] = "";
    int ffe0 = 0;

    if (adv_parse_data(r->data, r->data_len, name, sizeof(name), &ffe0) < 0)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i].address, r->address) == 0)
            s = &list[i];
    if (s == NULL) {
        if (*n == cap)
            return;
        s = &list[(*n)++];
        memset(s, 0, sizeof(*s));
        memcpy(s->address, r->address, sizeof(s->address));
    }
    /* advertising and scan response come apart: merge them per address */
    if (name[0] != '\0')
        memcpy(s->name, name, sizeof(s->name));
    s->ffe0 |= ffe0;
    if (r->rssi != 127)
        s->rssi = r->rssi;
}

int jk_scan(const char *adapter, int seconds, struct jk_found *out, size_t cap, FILE *note,
            char *err, size_t err_size)
{
    struct seen seen[64];
    size_t nseen = 0, found = 0;
    struct hci_filter old, nf;
    socklen_t olen = sizeof(old);
    int dev_id, dd, started = 0, probe;
    int64_t deadline;

    probe = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
    if (probe < 0) {
        int e = errno;
        snprintf(err, err_size, "scan: %s", ble_errno_hint(e));
        return -e;
    }
    close(probe);
    dev_id = adapter && adapter[0] ? hci_devid(adapter) : hci_get_route(NULL);
    if (dev_id < 0) {
        snprintf(err, err_size, "scan: %s: %s", adapter && adapter[0] ? adapter : "no adapter",
                 ble_errno_hint(ENODEV));
        return -ENODEV;
    }
    dd = hci_open_dev(dev_id);
    if (dd < 0) {
        int e = errno;
        snprintf(err, err_size, "scan: hci%d: %s", dev_id, ble_errno_hint(e));
        return -e;
    }
    /* Commands first: hci_send_req() swaps the socket filter while it waits. */
    if (hci_le_set_scan_parameters(dd, 0x01, htobs(0x0010), htobs(0x0010), 0x00, 0x00, 1000) == 0 &&
        hci_le_set_scan_enable(dd, 0x01, 0x00, 1000) == 0)
        started = 1;
    else
        fprintf(note, "The controller refused a scan command (%s): bluetoothd is probably "
                      "scanning already; listening to its advertising reports.\n",
                strerror(errno));
    if (getsockopt(dd, SOL_HCI, HCI_FILTER, &old, &olen) < 0)
        olen = 0;
    hci_filter_clear(&nf);
    hci_filter_set_ptype(HCI_EVENT_PKT, &nf);
    hci_filter_set_event(EVT_LE_META_EVENT, &nf);
    if (setsockopt(dd, SOL_HCI, HCI_FILTER, &nf, sizeof(nf)) < 0) {
        int e = errno;
        snprintf(err, err_size, "scan: cannot filter HCI events: %s", ble_errno_hint(e));
        hci_close_dev(dd);
        return -e;
    }
    deadline = gatt_now_ms() + (int64_t)seconds * 1000;
    for (;;) {
        uint8_t buf[HCI_MAX_EVENT_SIZE + 1];
        struct adv_report reports[ADV_MAX_REPORTS];
        struct pollfd p = {dd, POLLIN, 0};
        int64_t wait = deadline - gatt_now_ms();
        ssize_t n;
        int nr;

        if (wait <= 0)
            break;
        if (poll(&p, 1, (int)wait) <= 0)
            continue;
        n = read(dd, buf, sizeof(buf));
        if (n <= 1 || buf[0] != HCI_EVENT_PKT)
            continue;
        nr = adv_parse_event(buf + 1, (size_t)n - 1, reports, ADV_MAX_REPORTS);
        for (int i = 0; i < nr; i++)
            note_report(seen, &nseen, sizeof(seen) / sizeof(seen[0]), &reports[i]);
    }
    if (olen > 0)
        setsockopt(dd, SOL_HCI, HCI_FILTER, &old, olen);
    if (started)
        hci_le_set_scan_enable(dd, 0x00, 0x00, 1000); /* only a scan we started */
    hci_close_dev(dd);
    for (size_t i = 0; i < nseen && found < cap; i++) {
        if (!adv_is_jk(seen[i].name, seen[i].ffe0))
            continue;
        memset(&out[found], 0, sizeof(out[found]));
        memcpy(out[found].dev.address, seen[i].address, sizeof(out[found].dev.address));
        snprintf(out[found].dev.name, sizeof(out[found].dev.name), "%s",
                 seen[i].name[0] ? seen[i].name : "JK BMS");
        out[found].rssi = seen[i].rssi;
        found++;
    }
    return (int)found;
}

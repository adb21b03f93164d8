/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjkble/jk_scan.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>

#include "plugins/libble/adv.h"
#include "plugins/libble/gatt.h"
#include "plugins/libble/mgmt.h"
#include "plugins/libble/transport.h"

#define CMD_WAIT_MS 3000
/* After Discovering 0, how long the kernel gets to resume the discovery
 * (Discovering 1) before we start it again. */
#define RESUME_WAIT_MS 1000
#define MAX_SEEN 128

struct seen {
    char address[18];
    uint8_t address_type;
    char name[64];
    int ffe0;
    int rssi;
};

struct scan {
    int fd, stop_fd, index;
    int started;    /* a discovery of ours runs: stop it on the way out */
    int start_sent; /* a Start Discovery awaits its reply */
    struct seen seen[MAX_SEEN];
    size_t nseen;
    FILE *note;            /* where "a discovery runs already" goes; may be NULL */
    const char *want_name; /* stop once a device of this name is seen; may be NULL */
    uint8_t buf[MGMT_MAX_PACKET];
};

static void note_device(struct scan *sc, const struct mgmt_event *ev)
{
    struct seen *s = NULL;
    char name[64] = "";
    int ffe0 = 0;

    if (ev->address_type != BLE_ADDR_PUBLIC && ev->address_type != BLE_ADDR_RANDOM)
        return; /* BR/EDR */
    /* a malformed AD structure ends the parse, not the event: the name and
     * services before it are kept */
    (void)adv_parse_data(ev->eir, ev->eir_len, name, sizeof(name), &ffe0);
    for (size_t i = 0; i < sc->nseen; i++)
        if (strcmp(sc->seen[i].address, ev->address) == 0 &&
            sc->seen[i].address_type == ev->address_type)
            s = &sc->seen[i];
    if (s == NULL) {
        if (sc->nseen == MAX_SEEN)
            return;
        s = &sc->seen[sc->nseen++];
        memset(s, 0, sizeof(*s));
        memcpy(s->address, ev->address, sizeof(s->address));
        s->address_type = ev->address_type;
        s->rssi = 127;
    }
    /* advertisement and scan response may come in separate events: merge */
    if (name[0] != '\0')
        memcpy(s->name, name, sizeof(s->name));
    s->ffe0 |= ffe0;
    if (ev->rssi != 127)
        s->rssi = ev->rssi;
}

static int send_cmd(struct scan *sc, uint16_t op, uint16_t index, const uint8_t *p, size_t n)
{
    uint8_t pkt[MGMT_HDR_LEN + 8];
    int len = mgmt_build(pkt, sizeof(pkt), op, index, p, n);
    ssize_t w;

    if (len < 0)
        return len;
    do
        w = send(sc->fd, pkt, (size_t)len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -errno;
    return w == len ? 0 : -EIO;
}

/* Wait for one event until the deadline: 1 and *ev, 0 at the deadline,
 * -ECANCELED, or a negative errno (the socket closed: -ECONNRESET). */
static int next_event(struct scan *sc, int64_t deadline, struct mgmt_event *ev)
{
    for (;;) {
        ssize_t n;
        int r;

        /* strictly at the deadline: a busy neighbourhood keeps events
         * queued, and a scan must end all the same */
        if (gatt_now_ms() >= deadline)
            return 0;
        r = ble_wait_fd(sc->fd, POLLIN, deadline, sc->stop_fd, NULL);
        if (r <= 0)
            return r;
        n = recv(sc->fd, sc->buf, sizeof(sc->buf), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        if (mgmt_parse(sc->buf, (size_t)n, ev) < 0)
            continue; /* malformed: skip it, never trust its lengths */
        return 1;
    }
}

/* Handle an event that is not the reply being waited for. */
static void on_event(struct scan *sc, const struct mgmt_event *ev)
{
    if (ev->code == MGMT_EV_DEVICE_FOUND && ev->index == sc->index)
        note_device(sc, ev);
}

/* Send a command and wait for its Command Complete / Status; Device Found
 * events arriving meanwhile are kept. 0 and *reply, or a negative errno. */
static int command(struct scan *sc, uint16_t op, uint16_t index, const uint8_t *p, size_t n,
                   struct mgmt_event *reply, int64_t deadline)
{
    int rc = send_cmd(sc, op, index, p, n);

    if (rc < 0)
        return rc;
    for (;;) {
        rc = next_event(sc, deadline, reply);
        if (rc == 0)
            return -ETIMEDOUT;
        if (rc < 0)
            return rc;
        if ((reply->code == MGMT_EV_CMD_COMPLETE || reply->code == MGMT_EV_CMD_STATUS) &&
            reply->cmd == op)
            return 0;
        on_event(sc, reply);
    }
}

/* What a failed Start Discovery means for the user. */
static int start_failed(const struct scan *sc, uint8_t status, char *err, size_t err_size)
{
    int e;

    switch (status) {
    case MGMT_STATUS_PERMISSION_DENIED:
        e = EPERM;
        break;
    case MGMT_STATUS_NOT_POWERED:
        e = ENETDOWN;
        break;
    case MGMT_STATUS_RFKILLED:
        e = ERFKILL;
        break;
    case MGMT_STATUS_INVALID_INDEX:
        e = ENODEV;
        break;
    case MGMT_STATUS_NOT_SUPPORTED:
    case MGMT_STATUS_REJECTED:
        snprintf(err, err_size, "scan: hci%d: LE discovery refused (%s): is LE enabled? "
                                "(`sudo btmgmt --index %d le on`)",
                 sc->index, mgmt_status_str(status), sc->index);
        return -EOPNOTSUPP;
    default:
        snprintf(err, err_size, "scan: hci%d: Start Discovery failed: %s", sc->index,
                 mgmt_status_str(status));
        return -EIO;
    }
    snprintf(err, err_size, "scan: hci%d: %s", sc->index, ble_errno_hint(e));
    return -e;
}

/* What Read Controller Information says of controller `index`: NULL when
 * it can run an LE discovery, else why not ("powered off"...). */
static const char *controller_state(struct scan *sc, uint16_t index, int64_t deadline)
{
    struct mgmt_event ev;
    uint32_t supported, current;
    int rc = command(sc, MGMT_OP_READ_INFO, index, NULL, 0, &ev, deadline);

    if (rc < 0)
        return "not answering Read Controller Information";
    if (ev.status == MGMT_STATUS_INVALID_INDEX)
        return "gone";
    if (ev.status != MGMT_STATUS_SUCCESS || ev.code != MGMT_EV_CMD_COMPLETE ||
        mgmt_controller_settings(ev.rparam, ev.rparam_len, &supported, &current) < 0)
        return "unreadable (Read Controller Information failed)";
    return mgmt_controller_unfit(supported, current);
}

/* Why the named controller cannot discover: one line, and the errno. */
static int named_unfit(int index, const char *why, char *err, size_t err_size)
{
    if (strcmp(why, "powered off") == 0) {
        snprintf(err, err_size, "scan: hci%d is powered off (`bluetoothctl power on`, or `sudo "
                                "btmgmt --index %d power on`)", index, index);
        return -ENETDOWN;
    }
    if (strcmp(why, "LE switched off") == 0) {
        snprintf(err, err_size, "scan: hci%d has Bluetooth LE switched off (`sudo btmgmt "
                                "--index %d le on`)", index, index);
        return -EOPNOTSUPP;
    }
    snprintf(err, err_size, "scan: hci%d is %s: it cannot discover a JK BMS", index, why);
    return -EOPNOTSUPP;
}

/* Pick the controller: the named one (index >= 0) or the first powered LE
 * one of the kernel's list, each asked for its state (Read Controller
 * Information). 0, or a negative errno with err set. */
static int pick_controller(struct scan *sc, int index, int64_t deadline, char *err,
                           size_t err_size)
{
    struct mgmt_event ev;
    uint16_t list[32];
    char states[256] = "";
    int n, rc, any_off = 0;

    rc = command(sc, MGMT_OP_READ_INDEX_LIST, MGMT_INDEX_NONE, NULL, 0, &ev, deadline);
    if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
        snprintf(err, err_size, "scan: the kernel did not answer Read Controller Index List");
        return rc;
    }
    if (rc < 0) {
        snprintf(err, err_size, "scan: %s", ble_errno_hint(-rc));
        return rc;
    }
    if (ev.status == MGMT_STATUS_PERMISSION_DENIED) {
        snprintf(err, err_size, "scan: %s", ble_errno_hint(EPERM));
        return -EPERM;
    }
    n = ev.status == MGMT_STATUS_SUCCESS ? mgmt_index_list(ev.rparam, ev.rparam_len, list, 32)
                                         : -EBADMSG;
    if (n < 0) {
        snprintf(err, err_size, "scan: Read Controller Index List failed: %s",
                 mgmt_status_str(ev.status));
        return -EIO;
    }
    if (n == 0) {
        snprintf(err, err_size, "scan: no Bluetooth adapter (`bluetoothctl list` shows none)");
        return -ENODEV;
    }
    for (int i = 0; i < n; i++) {
        const char *why;
        size_t used = strlen(states);

        if (index >= 0 && list[i] != index)
            continue;
        why = controller_state(sc, list[i], deadline);
        if (why == NULL) {
            sc->index = list[i];
            return 0;
        }
        if (index >= 0)
            return named_unfit(index, why, err, err_size);
        any_off |= strcmp(why, "powered off") == 0;
        snprintf(states + used, sizeof(states) - used, "%shci%u %s", used ? ", " : "",
                 (unsigned)list[i], why);
    }
    if (index >= 0) {
        snprintf(err, err_size, "scan: hci%d: %s", index, ble_errno_hint(ENODEV));
        return -ENODEV;
    }
    snprintf(err, err_size, "scan: no powered Bluetooth LE adapter: %s (`bluetoothctl power on`; "
                            "LE: `sudo btmgmt --index N le on`)", states);
    return any_off ? -ENETDOWN : -EOPNOTSUPP;
}

/* Start Discovery; `again`: after a Discovering 0, when Busy means the kernel
 * holds our own discovery paused rather than someone else's running. */
static int start_discovery(struct scan *sc, int again, int64_t deadline, char *err,
                           size_t err_size)
{
    static const uint8_t le = MGMT_DISCOVERY_LE;
    struct mgmt_event ev;
    int rc = command(sc, MGMT_OP_START_DISCOVERY, (uint16_t)sc->index, &le, 1, &ev, deadline);

    if (rc < 0) {
        snprintf(err, err_size, "scan: hci%d: Start Discovery: %s", sc->index,
                 rc == -ETIMEDOUT ? "no answer from the kernel" : ble_errno_hint(-rc));
        return rc;
    }
    if (ev.status == MGMT_STATUS_SUCCESS) {
        sc->started = 1;
        return 0;
    }
    if (ev.status == MGMT_STATUS_BUSY) {
        /* bluetoothd (or another program) discovers already: its Device
         * Found events reach every mgmt socket. Again: the kernel paused
         * ours (start_discovery_internal answers Busy while
         * discovery_paused) and will resume it; it stays ours to stop. */
        if (!again && sc->note != NULL)
            fprintf(sc->note,
                    "A discovery is already running on hci%d (bluetoothd?): listening to its "
                    "results.\n",
                    sc->index);
        return 0;
    }
    return start_failed(sc, ev.status, err, err_size);
}

static void stop_discovery(struct scan *sc)
{
    static const uint8_t le = MGMT_DISCOVERY_LE;
    struct mgmt_event ev;
    int stop_fd = sc->stop_fd;

    if (!sc->started)
        return;
    sc->stop_fd = -1; /* a stop request must not cut this short */
    (void)command(sc, MGMT_OP_STOP_DISCOVERY, (uint16_t)sc->index, &le, 1, &ev,
                  gatt_now_ms() + CMD_WAIT_MS);
    sc->stop_fd = stop_fd;
    sc->started = 0;
}

/* A device worth reporting: one that looks like a JK BMS, or one that
 * carries the very name asked for (a BMS renamed in the JK app). */
static int wanted(const struct scan *sc, const struct seen *s)
{
    return adv_is_jk(s->name, s->ffe0) ||
           (sc->want_name != NULL && s->name[0] != '\0' && strcmp(s->name, sc->want_name) == 0);
}

static int name_seen(const struct scan *sc)
{
    for (size_t i = 0; sc->want_name != NULL && i < sc->nseen; i++)
        if (strcmp(sc->seen[i].name, sc->want_name) == 0)
            return 1;
    return 0;
}

int jk_scan_fd(int fd, int index, int seconds, int stop_fd, const char *want_name,
               struct jk_found *out, size_t cap, FILE *note, char *err, size_t err_size)
{
    struct scan *sc = calloc(1, sizeof(*sc));
    int64_t deadline = gatt_now_ms() + (int64_t)seconds * 1000, resume_by = 0;
    size_t found = 0;
    int rc;

    if (sc == NULL) {
        snprintf(err, err_size, "scan: out of memory");
        return -ENOMEM;
    }
    sc->fd = fd;
    sc->stop_fd = stop_fd;
    sc->index = -1;
    sc->note = note;
    sc->want_name = want_name != NULL && want_name[0] != '\0' ? want_name : NULL;
    rc = pick_controller(sc, index, gatt_now_ms() + CMD_WAIT_MS, err, err_size);
    if (rc == 0)
        rc = start_discovery(sc, 0, gatt_now_ms() + CMD_WAIT_MS, err, err_size);
    while (rc == 0) {
        struct mgmt_event ev;
        int64_t wake = resume_by != 0 && resume_by < deadline ? resume_by : deadline;
        int r = next_event(sc, wake, &ev);

        if (r == 0 && wake < deadline) {
            /* no Discovering 1 came: the discovery ended (the kernel ends
             * an LE discovery after about 10 s); go on while time is left */
            resume_by = 0;
            rc = start_discovery(sc, 1, gatt_now_ms() + CMD_WAIT_MS, err, err_size);
            continue;
        }
        if (r == 0)
            break;
        if (r < 0) {
            rc = r;
            if (r != -ECANCELED)
                snprintf(err, err_size, "scan: hci%d: %s", sc->index,
                         r == -ECONNRESET ? "the management socket closed" : strerror(-r));
            break;
        }
        if (ev.code == MGMT_EV_DISCOVERING && ev.index == sc->index) {
            /* "This discovering state can come and go multiple times
             * between a Start Discovery and a Stop Discovery" (BlueZ
             * doc/mgmt-protocol.rst, Discovering): the kernel pauses one
             * (suspend, while it connects) and resumes it. So 0 is not the
             * end: wait for a 1 before starting again. Ours stays ours. */
            resume_by = ev.discovering ? 0 : gatt_now_ms() + RESUME_WAIT_MS;
        } else if (ev.code == MGMT_EV_INDEX_REMOVED && ev.index == sc->index) {
            snprintf(err, err_size, "scan: hci%d was removed", sc->index);
            sc->started = 0;
            rc = -ENODEV;
        } else {
            on_event(sc, &ev);
            if (name_seen(sc))
                break; /* found what was asked for: no need to wait on */
        }
    }
    stop_discovery(sc);
    for (size_t i = 0; rc == 0 && i < sc->nseen && found < cap; i++) {
        const struct seen *s = &sc->seen[i];
        if (!wanted(sc, s))
            continue;
        memset(&out[found], 0, sizeof(out[found]));
        memcpy(out[found].dev.address, s->address, sizeof(out[found].dev.address));
        out[found].dev.address_type = s->address_type;
        snprintf(out[found].dev.name, sizeof(out[found].dev.name), "%s",
                 s->name[0] ? s->name : "JK BMS");
        out[found].rssi = s->rssi;
        found++;
    }
    free(sc);
    return rc < 0 ? rc : (int)found;
}

/* "hci3" -> 3; "" -> -1 (the first); -EINVAL. */
static int adapter_index(const char *adapter)
{
    char *end;
    long n;

    if (adapter == NULL || adapter[0] == '\0')
        return -1;
    if (strncmp(adapter, "hci", 3) != 0)
        return -EINVAL;
    n = strtol(adapter + 3, &end, 10);
    if (end == adapter + 3 || *end != '\0' || n < 0 || n >= MGMT_INDEX_NONE)
        return -EINVAL;
    return (int)n;
}

static int open_mgmt(const char *transport, char *err, size_t err_size)
{
    int fd, e;

    if (ble_transport_is_unix(transport))
        return ble_unix_open(transport + 5, err, err_size);
    {
        struct sockaddr_hci sa;

        fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, BTPROTO_HCI);
        if (fd < 0) {
            e = errno;
            snprintf(err, err_size, "scan: %s", ble_errno_hint(e));
            return -e;
        }
        memset(&sa, 0, sizeof(sa));
        sa.hci_family = AF_BLUETOOTH;
        sa.hci_dev = HCI_DEV_NONE;
        sa.hci_channel = HCI_CHANNEL_CONTROL;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            e = errno;
            close(fd);
            snprintf(err, err_size, "scan: management socket: %s", ble_errno_hint(e));
            return -e;
        }
        return fd;
    }
}

int jk_scan(const char *transport, const char *adapter, int seconds, int stop_fd,
            const char *want_name, struct jk_found *out, size_t cap, FILE *note, char *err,
            size_t err_size)
{
    int index = adapter_index(adapter), fd, rc;

    if (index == -EINVAL) {
        snprintf(err, err_size, "scan: adapter \"%s\": want hciN", adapter);
        return -EINVAL;
    }
    if (ble_transport_is_unix(transport) < 0) {
        snprintf(err, err_size, "transport \"%s\": want \"bluetooth\" or \"unix:PATH\"",
                 transport);
        return -EINVAL;
    }
    fd = open_mgmt(transport, err, err_size);
    if (fd < 0)
        return fd;
    rc = jk_scan_fd(fd, index, seconds, stop_fd, want_name, out, cap, note, err, err_size);
    close(fd);
    return rc;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libble/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>
#include <bluetooth/hci_lib.h>
#include <bluetooth/l2cap.h>

#include "plugins/libble/att.h"
#include "plugins/libble/gatt.h"

int ble_address_type_parse(const char *s, int *out)
{
    if (strcasecmp(s, "auto") == 0)
        *out = BLE_ADDR_AUTO;
    else if (strcasecmp(s, "public") == 0)
        *out = BLE_ADDR_PUBLIC;
    else if (strcasecmp(s, "random") == 0)
        *out = BLE_ADDR_RANDOM;
    else
        return -EINVAL;
    return 0;
}

int ble_address_valid(const char *s)
{
    for (int i = 0; i < 17; i++) {
        char ch = s[i];
        if (i % 3 == 2 ? ch != ':'
                       : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                           (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return s[17] == '\0';
}

const char *ble_errno_hint(int err)
{
    switch (err) {
    case EAFNOSUPPORT:
        return "this kernel has no Bluetooth support (AF_BLUETOOTH); in a container use host "
               "networking";
    case EPERM:
    case EACCES:
        return "permission denied: discovery needs CAP_NET_ADMIN (`sudo jkbms-util --scan`, or "
               "`sudo setcap cap_net_admin+ep` on jkbms-util); reading a BMS by address needs "
               "none";
    case ENODEV:
        return "no such Bluetooth adapter (see `bluetoothctl list`)";
    case EHOSTUNREACH:
        return "no usable Bluetooth adapter: it is down, powered off or blocked (check `rfkill "
               "list`, then `bluetoothctl power on`)";
    case ENETDOWN:
        return "the Bluetooth adapter is down (`bluetoothctl power on`; if it stays off, check "
               "`rfkill list`)";
    case ERFKILL:
        return "the Bluetooth adapter is blocked: `rfkill unblock bluetooth`, then "
               "`bluetoothctl power on`";
    case ENOSYS:
        /* the kernel's bt_to_errno() has no errno for HCI 0x3E */
        return "the connection failed to be established (HCI 0x3E): weak signal or the BMS "
               "stopped advertising; move the adapter closer, the next poll retries";
    case ECONNREFUSED:
        return "connection refused: Bluetooth LE is disabled on this adapter (`sudo btmgmt le "
               "on`), or the BMS rejected the link";
    case EBUSY:
        return "busy: this host already has a connection to the BMS (bluetoothd, Home "
               "Assistant: `bluetoothctl disconnect` it), or the BMS is busy with a phone app";
    case EHOSTDOWN:
        return "the BMS did not answer: out of range, or connected to the phone app (a JK BMS "
               "serves one client)";
    case ETIMEDOUT:
        return "timed out: the BMS is out of range or connected elsewhere (close the phone "
               "app); move the adapter closer";
    case ECONNRESET:
    case ENOTCONN:
        return "the BMS dropped the link; the next poll retries";
    default:
        return strerror(err);
    }
}

int ble_adapter_errno(int err)
{
    /* lib/hci.c: hci_devid("hciN") is hci_devba(), which sets ENETDOWN for
     * an adapter that is not up; hci_devinfo() leaves the socket's or the
     * HCIGETDEVINFO ioctl's errno (EAFNOSUPPORT, ENODEV for no such index) */
    return err == ENETDOWN || err == EAFNOSUPPORT ? err : ENODEV;
}

void ble_connect_error(char *err, size_t err_size, const char *address, int type, int e)
{
    const char *kind = type == BLE_ADDR_RANDOM ? "random" : "public";

    if (e == EACCES || e == EBADE)
        /* bt_to_errno(): HCI 0x05 Authentication Failure and 0x18 Pairing
         * Not Allowed are EACCES, 0x06 PIN or Key Missing EBADE. Connecting
         * to an L2CAP fixed channel needs no capability, so this is never
         * CAP_NET_ADMIN: a key stored for this address no longer matches */
        snprintf(err, err_size,
                 "%s (%s address): cannot connect: authentication failed (HCI 0x05/0x06/0x18): "
                 "a stale bond or pairing with this address; remove it (`bluetoothctl remove "
                 "%s`): a JK BMS needs no pairing",
                 address, kind, address);
    else
        snprintf(err, err_size, "%s (%s address): cannot connect: %s", address, kind,
                 ble_errno_hint(e));
}

int ble_auto_retry_ms(int rc, int retries, int64_t left_ms)
{
    /* hci_connect_le(): "the controller supports only one LE connection
     * attempt at a time, we return -EBUSY if there is any connection attempt
     * running", and the first guess's attempt is torn down asynchronously
     * after its socket is closed */
    if (rc != -EBUSY || retries >= BLE_BUSY_RETRIES || left_ms < 2 * BLE_BUSY_PAUSE_MS)
        return -1;
    return BLE_BUSY_PAUSE_MS;
}

int ble_wait_connected(int fd, int timeout_ms, int stop_fd)
{
    short revents = 0;
    int soerr = 0, r = ble_wait_fd(fd, POLLOUT, gatt_now_ms() + timeout_ms, stop_fd, &revents);
    socklen_t sl = sizeof(soerr);

    if (r == 0)
        return -ETIMEDOUT;
    if (r < 0)
        return r;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -errno;
    if (soerr != 0)
        return -soerr;
    /* hung up without an error: the link is gone, never a connection */
    if (revents & (POLLHUP | POLLERR | POLLNVAL))
        return -ECONNRESET;
    return 0;
}

/* The unix transport's stand-in for the kernel's connect: we send
 * 00 <type> <address, 17 characters>; the simulator answers 00 <errno LE16>
 * (0: connected), or stays silent as the kernel does for a peer that never
 * shows up (a wrong address type). 0x00 is no ATT opcode. */
static int unix_link_setup(int fd, const char *address, uint8_t type, int64_t deadline,
                           int stop_fd)
{
    uint8_t req[2 + 17], rsp[8];
    ssize_t n;
    int r;

    req[0] = 0x00;
    req[1] = type;
    memcpy(req + 2, address, 17);
    if (send(fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
        return -ECONNRESET;
    r = ble_wait_fd(fd, POLLIN, deadline, stop_fd, NULL);
    if (r == 0)
        return -ETIMEDOUT;
    if (r < 0)
        return r;
    n = recv(fd, rsp, sizeof(rsp), 0);
    if (n <= 0)
        return -ECONNRESET; /* closed (POLLHUP) without a status: not connected */
    if (n != 3 || rsp[0] != 0x00)
        return -EPROTO;
    return -(int)(rsp[1] | (rsp[2] << 8));
}

int ble_transport_is_unix(const char *transport)
{
    if (transport != NULL && strncmp(transport, "unix:", 5) == 0)
        return 1;
    if (transport == NULL || transport[0] == '\0' || strcmp(transport, "bluetooth") == 0)
        return 0;
    return -EINVAL;
}

int ble_unix_open(const char *path, char *err, size_t err_size)
{
    struct sockaddr_un sa;
    int fd, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        /* (a path this long is not worth quoting whole) */
        snprintf(err, err_size, "unix:%.40s...: path too long (%zu bytes, at most %zu)", path,
                 strlen(path), sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, err_size, "unix:%s: socket: %s", path, strerror(errno));
        return rc;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        snprintf(err, err_size, "unix:%s: cannot connect: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    return fd;
}

static int connect_unix(const char *path, const char *address, uint8_t type, int timeout_ms,
                        int stop_fd, int *fd_out, char *err, size_t err_size)
{
    int64_t deadline = gatt_now_ms() + timeout_ms;
    int fd = ble_unix_open(path, err, err_size), rc;

    if (fd < 0)
        return fd;
    rc = unix_link_setup(fd, address, type, deadline, stop_fd);
    if (rc < 0) {
        ble_connect_error(err, err_size, address, type, -rc);
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

static int connect_l2cap(const char *adapter, const char *address, uint8_t type, int timeout_ms,
                         int stop_fd, int *fd_out, char *err, size_t err_size)
{
    struct sockaddr_l2 local, peer;
    struct bt_security sec;
    int fd, rc, dev_id = -1;

    fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, BTPROTO_L2CAP);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, err_size, "%s: %s", address, ble_errno_hint(errno));
        return rc;
    }
    memset(&local, 0, sizeof(local));
    local.l2_family = AF_BLUETOOTH;
    local.l2_cid = htobs(ATT_CID);
    local.l2_bdaddr_type = BDADDR_LE_PUBLIC;
    if (adapter != NULL && adapter[0] != '\0') {
        dev_id = hci_devid(adapter);
        if (dev_id < 0 || hci_devba(dev_id, &local.l2_bdaddr) < 0) {
            int e = ble_adapter_errno(errno);
            snprintf(err, err_size, "%s: adapter %s: %s", address, adapter, ble_errno_hint(e));
            close(fd);
            return -e;
        }
    }
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        rc = -errno;
        snprintf(err, err_size, "%s: bind: %s", address, ble_errno_hint(errno));
        close(fd);
        return rc;
    }
    memset(&sec, 0, sizeof(sec));
    sec.level = BT_SECURITY_LOW; /* JK has no pairing */
    setsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, sizeof(sec));
    memset(&peer, 0, sizeof(peer));
    peer.l2_family = AF_BLUETOOTH;
    peer.l2_cid = htobs(ATT_CID);
    peer.l2_bdaddr_type = type == BLE_ADDR_RANDOM ? BDADDR_LE_RANDOM : BDADDR_LE_PUBLIC;
    str2ba(address, &peer.l2_bdaddr);
    rc = connect(fd, (struct sockaddr *)&peer, sizeof(peer)) == 0 ? 0 : -errno;
    if (rc == -EINPROGRESS || rc == -EAGAIN)
        rc = ble_wait_connected(fd, timeout_ms, stop_fd);
    if (rc < 0) {
        ble_connect_error(err, err_size, address, type, -rc);
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

static int connect_once(const char *transport, const char *adapter, const char *address,
                        uint8_t type, int timeout_ms, int stop_fd, int *fd_out, char *err,
                        size_t err_size)
{
    if (timeout_ms < 1)
        timeout_ms = 1;
    if (ble_transport_is_unix(transport) == 1)
        return connect_unix(transport + 5, address, type, timeout_ms, stop_fd, fd_out, err,
                            err_size);
    return connect_l2cap(adapter, address, type, timeout_ms, stop_fd, fd_out, err, err_size);
}

int ble_connect(const char *transport, const char *adapter, const char *address,
                int address_type, int timeout_ms, int stop_fd, int *fd_out, int *type_used,
                char *err, size_t err_size)
{
    int64_t start = gatt_now_ms();
    char second[256];
    int rc;

    if (ble_transport_is_unix(transport) < 0) {
        snprintf(err, err_size, "transport \"%s\": want \"bluetooth\" or \"unix:PATH\"",
                 transport);
        return -EINVAL;
    }
    if (address_type == BLE_ADDR_PUBLIC || address_type == BLE_ADDR_RANDOM) {
        rc = connect_once(transport, adapter, address, (uint8_t)address_type, timeout_ms,
                          stop_fd, fd_out, err, err_size);
        if (rc == 0)
            *type_used = address_type;
        return rc;
    }
    /* auto: a wrong-type attempt never completes (the kernel matches the
     * pending connection by address and type), so each guess gets a third of
     * the time and a third stays for the ATT steps after connecting. */
    rc = connect_once(transport, adapter, address, BLE_ADDR_PUBLIC, timeout_ms / 3, stop_fd,
                      fd_out, err, err_size);
    if (rc == 0)
        *type_used = BLE_ADDR_PUBLIC;
    if (rc != -ETIMEDOUT)
        return rc;
    for (int retries = 0;; retries++) {
        int64_t left = start + 2 * (int64_t)timeout_ms / 3 - gatt_now_ms();
        int pause;

        if (retries > 0 && (pause = ble_auto_retry_ms(rc, retries - 1, left)) >= 0) {
            /* the public attempt was still being torn down: a short pause */
            if (ble_wait_fd(-1, POLLIN, gatt_now_ms() + pause, stop_fd, NULL) < 0)
                return -ECANCELED;
            left -= pause;
        } else if (retries > 0) {
            break;
        }
        rc = connect_once(transport, adapter, address, BLE_ADDR_RANDOM, (int)left, stop_fd,
                          fd_out, second, sizeof(second));
    }
    if (rc == 0) {
        *type_used = BLE_ADDR_RANDOM;
        return 0;
    }
    if (rc == -ECANCELED)
        return rc;
    /* the first attempt's error, and what the second one met */
    snprintf(second, sizeof(second), " (random address: %s)",
             rc == -ETIMEDOUT ? "no answer either" : strerror(-rc));
    strncat(err, second, err_size - strlen(err) - 1);
    return -ETIMEDOUT; /* the first attempt's code */
}

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
        return "permission denied: run with CAP_NET_RAW and CAP_NET_ADMIN (the systemd unit "
               "grants them) or as root";
    case ENODEV:
        return "no such Bluetooth adapter (see `hciconfig` or `bluetoothctl list`)";
    case EHOSTDOWN:
    case EHOSTUNREACH:
        return "the BMS did not answer: out of range, or busy with another client (the phone "
               "app?)";
    case ETIMEDOUT:
        return "timed out: move closer, or check the BMS is not connected elsewhere";
    default:
        return strerror(err);
    }
}

/* Wait for a non-blocking connect to finish. */
static int finish_connect(int fd, int timeout_ms, int stop_fd)
{
    int64_t deadline = gatt_now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p[2] = {{fd, POLLOUT, 0}, {stop_fd, POLLIN, 0}};
        int64_t wait = deadline - gatt_now_ms();
        int r, soerr = 0;
        socklen_t sl = sizeof(soerr);

        if (wait <= 0)
            return -ETIMEDOUT;
        r = poll(p, stop_fd >= 0 ? 2 : 1, (int)wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (stop_fd >= 0 && (p[1].revents & POLLIN))
            return -ECANCELED;
        if (r == 0)
            continue;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return -errno;
        return soerr ? -soerr : 0;
    }
}

static int connect_unix(const char *path, int timeout_ms, int stop_fd, int *fd_out, char *err,
                        size_t err_size)
{
    struct sockaddr_un sa;
    int fd, rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, err_size, "unix:%s: path too long", path);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, err_size, "unix:%s: socket: %s", path, strerror(errno));
        return rc;
    }
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
    if (rc == -EINPROGRESS || rc == -EAGAIN)
        rc = finish_connect(fd, timeout_ms, stop_fd);
    if (rc < 0) {
        snprintf(err, err_size, "unix:%s: cannot connect: %s", path, strerror(-rc));
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
            snprintf(err, err_size, "%s: adapter %s: %s", address, adapter,
                     ble_errno_hint(ENODEV));
            close(fd);
            return -ENODEV;
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
    peer.l2_bdaddr_type = type;
    str2ba(address, &peer.l2_bdaddr);
    rc = connect(fd, (struct sockaddr *)&peer, sizeof(peer)) == 0 ? 0 : -errno;
    if (rc == -EINPROGRESS || rc == -EAGAIN)
        rc = finish_connect(fd, timeout_ms, stop_fd);
    if (rc < 0) {
        snprintf(err, err_size, "%s (%s address): cannot connect: %s", address,
                 type == BDADDR_LE_RANDOM ? "random" : "public", ble_errno_hint(-rc));
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int ble_connect(const char *transport, const char *adapter, const char *address,
                int address_type, int timeout_ms, int stop_fd, int *fd_out, char *err,
                size_t err_size)
{
    int rc;

    if (transport != NULL && strncmp(transport, "unix:", 5) == 0)
        return connect_unix(transport + 5, timeout_ms, stop_fd, fd_out, err, err_size);
    if (transport != NULL && transport[0] != '\0' && strcmp(transport, "bluetooth") != 0) {
        snprintf(err, err_size, "transport \"%s\": want \"bluetooth\" or \"unix:PATH\"",
                 transport);
        return -EINVAL;
    }
    if (address_type != BLE_ADDR_RANDOM) {
        rc = connect_l2cap(adapter, address, BDADDR_LE_PUBLIC, timeout_ms, stop_fd, fd_out, err,
                           err_size);
        if (rc == 0 || address_type == BLE_ADDR_PUBLIC || rc == -EAFNOSUPPORT || rc == -EPERM ||
            rc == -EACCES || rc == -ENODEV || rc == -ECANCELED)
            return rc;
    }
    return connect_l2cap(adapter, address, BDADDR_LE_RANDOM, timeout_ms, stop_fd, fd_out, err,
                         err_size);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* links: open the serial port and the CAN link of the pylontech sink. */
#include "config.h"

#include "plugins/pylontech/links.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/raw.h>

#include "plugins/libplugkit/baud.h"

const long links_baud_rates[] = {9600, 19200, 38400, 57600, 115200, 0};

int links_open_serial(const char *device, long baud, char *err, size_t size)
{
    struct termios tio;
    struct stat st;
    speed_t speed = plugkit_baud(baud);
    int fd, rc;

    if (speed == B0) {
        snprintf(err, size, "%s: %ld baud is not supported", device, baud);
        return -EINVAL;
    }
    /* O_NONBLOCK: never wait for carrier; O_NOCTTY: never our terminal */
    fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, size, "%s: %s", device, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || tcgetattr(fd, &tio) != 0) {
        snprintf(err, size, "%s: not a serial port", device);
        close(fd);
        return -ENOTTY;
    }
    cfmakeraw(&tio);
    tio.c_cflag &= ~(tcflag_t)(CSTOPB | PARENB | CRTSCTS);
    tio.c_cflag |= CLOCAL | CREAD | CS8;
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0 ||
        tcsetattr(fd, TCSANOW, &tio) != 0) {
        rc = -errno;
        snprintf(err, size, "%s: cannot set %ld baud 8N1: %s", device, baud, strerror(errno));
        close(fd);
        return rc;
    }
    tcflush(fd, TCIOFLUSH);
    return fd;
}

int links_can_name_ok(const char *interface)
{
    size_t n = strlen(interface);

    if (strncmp(interface, "unix:", 5) == 0)
        return interface[5] == '/' && n - 5 < sizeof(((struct sockaddr_un *)0)->sun_path);
    if (n == 0 || n >= IFNAMSIZ)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (interface[i] == '/' || interface[i] <= ' ' || interface[i] > '~' ||
            interface[i] == ':')
            return 0;
    return 1;
}

static int open_unix(const char *path, char *err, size_t size)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd, rc;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, size, "unix:%s: %s", path, strerror(errno));
        return rc;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = -errno;
        snprintf(err, size, "unix:%s: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    return fd;
}

/* SocketCAN, as can(7) describes it: a raw socket bound to one interface.
 * This kernel has no CAN: the path is right by reading net/can/raw.c. */
static int open_socketcan(const char *ifname, char *err, size_t size)
{
    struct sockaddr_can sa = {.can_family = AF_CAN};
    unsigned idx;
    int fd, rc;

    fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, CAN_RAW);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, size, "%s: no CAN support (%s): load the can-raw module", ifname,
                 strerror(errno));
        return rc;
    }
    idx = if_nametoindex(ifname);
    if (idx == 0) {
        snprintf(err, size, "%s: no such CAN interface (ip link show)", ifname);
        close(fd);
        return -ENODEV;
    }
    sa.can_ifindex = (int)idx;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = -errno;
        snprintf(err, size, "%s: %s", ifname, strerror(errno));
        close(fd);
        return rc;
    }
    return fd;
}

int links_open_can(const char *interface, char *err, size_t size)
{
    if (strncmp(interface, "unix:", 5) == 0)
        return open_unix(interface + 5, err, size);
    return open_socketcan(interface, err, size);
}

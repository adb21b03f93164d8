/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjkwire/jk_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#include "plugins/libjk/jk_uart.h"

struct jk_wire_port {
    modbus_t *mb; /* Modbus: libmodbus owns the fd */
    int fd;       /* the port: libmodbus' socket, or our own for UART */
    int has_info; /* Modbus: device info already read since the open */
    struct jk_device_info info;
};

int jk_wire_protocol_parse(const char *name, int *out)
{
    if (name != NULL && strcasecmp(name, "modbus") == 0)
        *out = JK_WIRE_MODBUS;
    else if (name != NULL && strcasecmp(name, "uart") == 0)
        *out = JK_WIRE_UART;
    else
        return -EINVAL;
    return 0;
}

const char *jk_wire_protocol_name(int protocol)
{
    return protocol == JK_WIRE_UART ? "uart" : "modbus";
}

int jk_wire_init(struct jk_wire *w, const char *device, int protocol, int slave, int baudrate,
                 int timeout_ms)
{
    int n;

    memset(w, 0, sizeof(*w));
    n = snprintf(w->device, sizeof(w->device), "%s", device);
    if (n < 0 || (size_t)n >= sizeof(w->device))
        return -ENAMETOOLONG;
    w->protocol = protocol;
    w->slave = slave;
    w->baudrate = baudrate;
    w->timeout_ms = timeout_ms;
    w->stop_fd = -1;
    return 0;
}

int jk_wire_is_open(const struct jk_wire *w)
{
    return w->port != NULL;
}

void jk_wire_close(struct jk_wire *w)
{
    struct jk_wire_port *p = w->port;

    if (p == NULL)
        return;
    if (p->mb != NULL) {
        modbus_close(p->mb);
        modbus_free(p->mb);
    } else if (p->fd >= 0) {
        close(p->fd);
    }
    free(p);
    w->port = NULL;
}

static speed_t baud_constant(int baud)
{
    switch (baud) {
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    case 230400:
        return B230400;
    default:
        return B0;
    }
}

/* The reason an open failed, in words a user can act on. */
static int open_failed(struct jk_wire *w, int err)
{
    if (err == EACCES || err == EPERM)
        snprintf(w->error, sizeof(w->error),
                 "%s: permission denied: the user needs the dialout group "
                 "(SupplementaryGroups=dialout in the unit)",
                 w->device);
    else if (err == ENOENT || err == ENODEV || err == ENXIO)
        snprintf(w->error, sizeof(w->error),
                 "%s: no such device (is the USB adapter plugged in? a "
                 "/dev/serial/by-id/ name survives replugging)",
                 w->device);
    else if (err == ENOTTY)
        snprintf(w->error, sizeof(w->error), "%s: not a serial port", w->device);
    else
        snprintf(w->error, sizeof(w->error), "%s: %s", w->device, strerror(err));
    return err == ENOENT || err == ENXIO ? -ENOENT : -err;
}

/* 8N1, raw, the configured speed, non-blocking reads. */
static int open_uart(struct jk_wire *w, struct jk_wire_port *p)
{
    struct termios tio;
    speed_t speed = baud_constant(w->baudrate);

    p->fd = open(w->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (p->fd < 0)
        return open_failed(w, errno);
    if (speed == B0 || tcgetattr(p->fd, &tio) < 0) {
        snprintf(w->error, sizeof(w->error), "%s: %s", w->device,
                 speed == B0 ? "unsupported baud rate" : "not a serial port");
        return -ENOTTY;
    }
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= (tcflag_t) ~(CSTOPB | PARENB | CRTSCTS);
    cfsetispeed(&tio, speed);
    cfsetospeed(&tio, speed);
    if (tcsetattr(p->fd, TCSANOW, &tio) < 0) {
        snprintf(w->error, sizeof(w->error), "%s: cannot set 8N1 at %d baud: %s", w->device,
                 w->baudrate, strerror(errno));
        return -EIO;
    }
    return 0;
}

static int open_modbus(struct jk_wire *w, struct jk_wire_port *p)
{
    int ms = w->timeout_ms;

    p->mb = modbus_new_rtu(w->device, w->baudrate, 'N', 8, 1);
    if (p->mb == NULL) {
        snprintf(w->error, sizeof(w->error), "%s: %s", w->device, modbus_strerror(errno));
        return -EINVAL;
    }
    if (modbus_set_slave(p->mb, w->slave) < 0 ||
        modbus_set_response_timeout(p->mb, (uint32_t)(ms / 1000), (uint32_t)(ms % 1000) * 1000u) <
            0) {
        snprintf(w->error, sizeof(w->error), "%s: slave %d: %s", w->device, w->slave,
                 modbus_strerror(errno));
        return -EINVAL;
    }
    if (modbus_connect(p->mb) < 0) {
        int err = errno;
        modbus_free(p->mb);
        p->mb = NULL;
        return open_failed(w, err);
    }
    p->fd = modbus_get_socket(p->mb);
    return 0;
}

int jk_wire_open(struct jk_wire *w)
{
    struct jk_wire_port *p;
    int rc;

    if (w->port != NULL)
        return 0;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->fd = -1;
    w->port = p;
    rc = w->protocol == JK_WIRE_UART ? open_uart(w, p) : open_modbus(w, p);
    if (rc < 0)
        jk_wire_close(w);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stop_requested(const struct jk_wire *w)
{
    struct pollfd pfd = {w->stop_fd, POLLIN, 0};
    return w->stop_fd >= 0 && poll(&pfd, 1, 0) > 0;
}

/*
 * The bus lock: an exclusive flock(2) on the device. Every opener of the
 * device has its own open file description, so the kernel serialises the
 * instances of this process on one bus, and jkbms-util run beside the
 * daemon as well, with no state of ours; a crashed holder releases it.
 * Another instance holds it for one exchange at most (a few timeouts).
 */
static int bus_take(struct jk_wire *w)
{
    int64_t deadline = now_ms() + 4 * (int64_t)w->timeout_ms + 1000;

    for (;;) {
        struct pollfd pfd = {w->stop_fd, POLLIN, 0};
        if (flock(w->port->fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(w->error, sizeof(w->error), "%s: cannot lock the bus: %s", w->device,
                     strerror(errno));
            return -EIO;
        }
        if (now_ms() > deadline) {
            snprintf(w->error, sizeof(w->error),
                     "%s: the bus stayed busy for %d ms (another reader holds it)", w->device,
                     4 * w->timeout_ms + 1000);
            return -EBUSY;
        }
        /* Wait 5 ms, or less when asked to stop. */
        if (poll(&pfd, w->stop_fd >= 0 ? 1 : 0, 5) > 0)
            return -ECANCELED;
    }
}

static void bus_give(struct jk_wire *w)
{
    flock(w->port->fd, LOCK_UN);
}

/* 1 when the device node is gone or the port stopped working (unplugged). */
static int device_gone(const struct jk_wire *w, int err)
{
    struct stat st;
    return err == EIO || err == ENXIO || err == ENODEV || err == EBADF ||
           stat(w->device, &st) < 0 || fcntl(w->port->fd, F_GETFD) < 0;
}

static int gone(struct jk_wire *w)
{
    snprintf(w->error, sizeof(w->error), "%s: the device went away (USB adapter unplugged?)",
             w->device);
    jk_wire_close(w);
    return -ENODEV;
}

/* ---- Modbus RTU ---- */

static uint16_t crc16_modbus(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xffff;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xa001u) : (uint16_t)(crc >> 1);
    }
    return crc;
}

/* For --hex: the request and answer ADUs of a good read, rebuilt from what
 * libmodbus returned (libmodbus has no raw hook; for a good answer these are
 * the bytes on the wire). */
static void raw_modbus(const struct jk_wire *w, int addr, int nregs, const uint8_t *bytes)
{
    uint8_t adu[5 + 2 * 125 + 2];
    size_t n;
    uint16_t crc;

    if (w->on_raw == NULL)
        return;
    adu[0] = (uint8_t)w->slave;
    adu[1] = 0x03;
    adu[2] = (uint8_t)(addr >> 8);
    adu[3] = (uint8_t)addr;
    adu[4] = (uint8_t)(nregs >> 8);
    adu[5] = (uint8_t)nregs;
    crc = crc16_modbus(adu, 6);
    adu[6] = (uint8_t)crc;
    adu[7] = (uint8_t)(crc >> 8);
    w->on_raw(w->raw_user, 1, adu, 8);
    adu[2] = (uint8_t)(2 * nregs);
    memcpy(adu + 3, bytes, (size_t)(2 * nregs));
    n = 3 + (size_t)(2 * nregs);
    crc = crc16_modbus(adu, n);
    adu[n] = (uint8_t)crc;
    adu[n + 1] = (uint8_t)(crc >> 8);
    w->on_raw(w->raw_user, 0, adu, n + 2);
}

static int modbus_failed(struct jk_wire *w, int addr, int err)
{
    const char *dev = w->device;
    int slave = w->slave;

    if (err == EMBBADCRC || err == EMBBADDATA || err == EMBMDATA || err == EMBBADSLAVE) {
        snprintf(w->error, sizeof(w->error),
                 "slave %d on %s: %s in the answer to register 0x%04X (noise? check the A/B "
                 "wiring and the bus termination)",
                 slave, dev, modbus_strerror(err), (unsigned)addr);
        modbus_flush(w->port->mb);
        return -EBADMSG;
    }
    if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
        snprintf(w->error, sizeof(w->error),
                 "slave %d on %s refused register 0x%04X: %s (is it a JK-PB? older JK BMS speak "
                 "protocol = \"uart\")",
                 slave, dev, (unsigned)addr, modbus_strerror(err));
        return -EPROTO;
    }
    if (device_gone(w, err))
        return gone(w);
    if (err == ETIMEDOUT) {
        snprintf(w->error, sizeof(w->error),
                 "no answer from slave %d on %s: check its DIP switches; address 0 makes it the "
                 "bus master",
                 slave, dev);
        return -ETIMEDOUT;
    }
    snprintf(w->error, sizeof(w->error), "slave %d on %s: %s", slave, dev, modbus_strerror(err));
    return -EIO;
}

/* Read `len` bytes of a block from register address `addr` on, at most 125
 * registers a request, into out (register i is out[2i] high, out[2i+1] low:
 * the bytes as sent). */
static int read_block(struct jk_wire *w, int addr, uint8_t *out, size_t len)
{
    uint16_t regs[125];
    size_t done = 0;

    while (done < len) {
        size_t left = (len - done) / 2, n = left > 68 ? 68 : left;
        int a = addr + (int)done;
        modbus_flush(w->port->mb); /* nothing stale from an earlier answer */
        if (modbus_read_registers(w->port->mb, a, (int)n, regs) != (int)n)
            return modbus_failed(w, a, errno);
        for (size_t i = 0; i < n; i++) {
            out[done + 2 * i] = (uint8_t)(regs[i] >> 8);
            out[done + 2 * i + 1] = (uint8_t)(regs[i] & 0xffu);
        }
        raw_modbus(w, a, (int)n, out + done);
        done += 2 * n;
    }
    return 0;
}

static int read_modbus(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                       int *has_di)
{
    uint8_t live[JK_MB_LIVE_LEN], info[JK_MB_INFO_LEN];
    struct jk_wire_port *p = w->port;
    int rc;

    if (p->has_info == 0) {
        /* Once per open; a pack that refuses it still reports its cells. */
        rc = read_block(w, JK_MB_INFO_BASE, info, sizeof(info));
        if (rc == -EPROTO)
            p->has_info = -1;
        else if (rc < 0)
            return rc;
        else
            p->has_info = jk_decode_info_block(info, sizeof(info), &p->info) == 0 ? 1 : -1;
    }
    rc = read_block(w, JK_MB_LIVE_BASE, live, sizeof(live));
    if (rc < 0)
        return rc;
    jk_decode_live_block(live, sizeof(live), ci);
    *has_di = p->has_info == 1;
    if (*has_di)
        *di = p->info;
    return 0;
}

/* ---- 0x4E57 ---- */

struct uart_rx {
    int done;
    int rc;
    struct jk_uart_data data;
};

static void on_uart_frame(const uint8_t *frame, size_t len, void *user)
{
    struct uart_rx *rx = user;
    if (rx->done)
        return;
    rx->done = 1;
    rx->rc = jk_uart_decode(frame, len, &rx->data);
}

static int uart_failed(struct jk_wire *w, const struct jk_uart_assembler *as, size_t got)
{
    if (got == 0) {
        snprintf(w->error, sizeof(w->error),
                 "no answer on %s within %d ms (wiring, baud rate %d, or protocol = \"modbus\" "
                 "for a JK-PB)",
                 w->device, w->timeout_ms, w->baudrate);
        return -ETIMEDOUT;
    }
    snprintf(w->error, sizeof(w->error),
             "%s: no valid answer in %zu bytes (%lu bad frames, %lu junk bytes): check the baud "
             "rate and the wiring",
             w->device, got, as->bad_frames, as->junk_bytes);
    return as->bad_frames > 0 ? -EBADMSG : -ETIMEDOUT;
}

static int read_uart(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                     int *has_di)
{
    uint8_t req[JK_UART_REQ_LEN], buf[512];
    struct jk_uart_assembler *as;
    struct uart_rx rx;
    int64_t deadline;
    size_t got = 0;
    int rc = 0;

    as = malloc(sizeof(*as));
    if (as == NULL)
        return -ENOMEM;
    jk_uart_assembler_init(as);
    memset(&rx, 0, sizeof(rx));
    jk_uart_build_read_all(req);
    tcflush(w->port->fd, TCIFLUSH);
    if (write(w->port->fd, req, sizeof(req)) != (ssize_t)sizeof(req)) {
        int err = errno;
        free(as);
        if (device_gone(w, err))
            return gone(w);
        snprintf(w->error, sizeof(w->error), "%s: write: %s", w->device, strerror(err));
        return -EIO;
    }
    if (w->on_raw != NULL)
        w->on_raw(w->raw_user, 1, req, sizeof(req));
    deadline = now_ms() + w->timeout_ms;
    while (!rx.done) {
        struct pollfd pfd[2] = {{w->port->fd, POLLIN, 0}, {w->stop_fd, POLLIN, 0}};
        int64_t left = deadline - now_ms();
        ssize_t n;
        if (left <= 0) {
            rc = uart_failed(w, as, got);
            break;
        }
        if (poll(pfd, w->stop_fd >= 0 ? 2 : 1, (int)left) < 0 && errno != EINTR) {
            rc = -EIO;
            break;
        }
        if (pfd[1].revents & POLLIN) {
            rc = -ECANCELED;
            break;
        }
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            free(as);
            return gone(w);
        }
        if (!(pfd[0].revents & POLLIN))
            continue;
        n = read(w->port->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            free(as);
            return gone(w);
        }
        got += (size_t)n;
        if (w->on_raw != NULL)
            w->on_raw(w->raw_user, 0, buf, (size_t)n);
        jk_uart_assembler_feed(as, buf, (size_t)n, on_uart_frame, &rx);
    }
    free(as);
    if (rc < 0)
        return rc;
    if (rx.rc < 0) {
        snprintf(w->error, sizeof(w->error), "%s: the answer holds no cell voltages", w->device);
        return -EBADMSG;
    }
    *ci = rx.data.ci;
    *has_di = rx.data.has_device_info;
    if (*has_di)
        *di = rx.data.di;
    return 0;
}

int jk_wire_read(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di, int *has_di)
{
    int rc;

    if (w->port == NULL) {
        rc = jk_wire_open(w);
        if (rc < 0)
            return rc;
    }
    if (stop_requested(w))
        return -ECANCELED;
    rc = bus_take(w);
    if (rc < 0)
        return rc;
    rc =
        w->protocol == JK_WIRE_UART ? read_uart(w, ci, di, has_di) : read_modbus(w, ci, di, has_di);
    if (w->port != NULL)
        bus_give(w);
    return rc;
}

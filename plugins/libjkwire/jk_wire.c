/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjkwire/jk_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include <pthread.h>

#include "plugins/libjk/jk_control.h"
#include "plugins/libjk/jk_frame.h"
#include "plugins/libjk/jk_uart.h"
#include "plugins/libplugkit/baud.h"

struct jk_wire_port {
    int fd;         /* the port, raw 8N1, non-blocking */
    int has_info;   /* Modbus: device info read since the open (1), refused (-1), not yet (0) */
    int has_extra;  /* registers: name/date/serial read (1), refused (-1), not yet (0) */
    int has_runtime; /* trigger: last_runtime is known */
    uint32_t last_runtime; /* trigger: a run time going back is a restart (new firmware?) */
    struct jk_device_info info;
    unsigned long heard_seq; /* listen: the last status frame of this slave taken */
    char bus[PATH_MAX]; /* the device's real path at open: which bus this is */
};

/* The index of `name` (any case) in the NULL-terminated `names`, or -EINVAL. */
static int name_index(const char *name, const char *const *names, int *out)
{
    for (int i = 0; name != NULL && names[i] != NULL; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -EINVAL;
}

const char *const jk_wire_protocols[] = {"modbus", "uart", NULL};
const char *const jk_wire_requests[] = {"trigger", "registers", NULL};
const char *const jk_wire_bus_modes[] = {"auto", "master", "listen", NULL};

int jk_wire_protocol_parse(const char *name, int *out)
{
    return name_index(name, jk_wire_protocols, out);
}

const char *jk_wire_protocol_name(int protocol)
{
    return jk_wire_protocols[protocol == JK_WIRE_UART ? JK_WIRE_UART : JK_WIRE_MODBUS];
}

int jk_wire_request_parse(const char *name, int *out)
{
    return name_index(name, jk_wire_requests, out);
}

int jk_wire_bus_mode_parse(const char *name, int *out)
{
    return name_index(name, jk_wire_bus_modes, out);
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
    w->request = JK_WIRE_TRIGGER;
    w->bus_mode = JK_BUS_AUTO;
    w->max_registers = JK_MB_MAX_REGS;
    w->gap_ms = 100;
    w->listen_ms = 300;
    w->listen_timeout_ms = 5000;
    w->stop_fd = -1;
    return 0;
}

void jk_wire_close(struct jk_wire *w)
{
    struct jk_wire_port *p = w->port;

    if (p == NULL)
        return;
    if (p->fd >= 0)
        close(p->fd);
    free(p);
    w->port = NULL;
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

/* 8N1, raw, the configured speed, non-blocking reads: both protocols. */
static int open_port(struct jk_wire *w, struct jk_wire_port *p)
{
    struct termios tio;
    speed_t speed = plugkit_baud(w->baudrate);

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
    /* resolved once per open (a by-id link moves when the adapter is replugged) */
    if (realpath(w->device, p->bus) == NULL)
        snprintf(p->bus, sizeof(p->bus), "%s", w->device);
    rc = open_port(w, p);
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

/* How long another reader may hold the bus: its exchanges, or one listen. */
static int64_t bus_wait_ms(const struct jk_wire *w)
{
    return 4 * (int64_t)w->timeout_ms + 1000 + w->listen_ms + w->listen_timeout_ms;
}

/*
 * The bus lock: an exclusive flock(2) on the device. Every opener of the
 * device has its own open file description, so the kernel serialises the
 * instances of this process on one bus, and jkbms-util run beside the
 * daemon as well, with no state of ours; a crashed holder releases it.
 * A holder keeps it for one read at most, whose exchanges each end by
 * their deadline.
 */
static int bus_take(struct jk_wire *w)
{
    int64_t deadline = now_ms() + bus_wait_ms(w);

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
                     "%s: the bus stayed busy for %lld ms (another reader holds it)", w->device,
                     (long long)bus_wait_ms(w));
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

/* ---- bytes in and out, each wait bounded by a deadline and the stop fd ---- */

struct rx {
    uint8_t buf[2048];
    size_t len;
    size_t total; /* bytes read in all */
};

/* An empty receive buffer (NULL: out of memory). */
static struct rx *rx_new(void)
{
    struct rx *rx = malloc(sizeof(*rx));
    if (rx != NULL)
        rx->len = rx->total = 0;
    return rx;
}

static void rx_drop(struct rx *rx, size_t n)
{
    n = n < rx->len ? n : rx->len;
    memmove(rx->buf, rx->buf + n, rx->len - n);
    rx->len -= n;
}

/* Our own request of n bytes, echoed by the adapter (CH341): no answer. */
static void rx_drop_echo(struct rx *rx, const uint8_t *req, size_t n)
{
    if (rx->len >= n && memcmp(rx->buf, req, n) == 0) {
        rx_drop(rx, n);
        rx->total -= n;
    }
}

/* Read what comes until `deadline`: the bytes added (> 0), -ETIMEDOUT at the
 * deadline, -ECANCELED on stop, -ENODEV when the port went away (closed). */
static int rx_more(struct jk_wire *w, struct rx *rx, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd[2] = {{w->port->fd, POLLIN, 0}, {w->stop_fd, POLLIN, 0}};
        int64_t left = deadline - now_ms();
        ssize_t n;
        if (left <= 0)
            return -ETIMEDOUT;
        if (poll(pfd, w->stop_fd >= 0 ? 2 : 1, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            return -EIO;
        }
        if (pfd[1].revents & POLLIN)
            return -ECANCELED;
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            return gone(w);
        if (!(pfd[0].revents & POLLIN))
            continue;
        if (rx->len == sizeof(rx->buf))
            rx_drop(rx, sizeof(rx->buf) / 2); /* nobody's answer is that long */
        n = read(w->port->fd, rx->buf + rx->len, sizeof(rx->buf) - rx->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return gone(w);
        rx->len += (size_t)n;
        rx->total += (size_t)n;
        return (int)n;
    }
}

static int send_bytes(struct jk_wire *w, const uint8_t *data, size_t len)
{
    ssize_t n = write(w->port->fd, data, len);

    if (n != (ssize_t)len) {
        int err = n < 0 ? errno : EIO;
        if (device_gone(w, err))
            return gone(w);
        snprintf(w->error, sizeof(w->error), "%s: write: %s", w->device, strerror(err));
        return -EIO;
    }
    if (w->on_raw != NULL)
        w->on_raw(w->raw_user, 1, data, len);
    return 0;
}

/* ---- what each bus in this process has heard (listen-only mode) ---- */

#define MAX_BUSES 8
#define MAX_ADDR  16

struct heard {
    unsigned long seq; /* 0: nothing yet */
    int64_t at_ms;
    uint8_t frame[JK_FRAME_LEN]; /* passcodes zeroed */
};

struct bus_state {
    char device[PATH_MAX];
    int mode; /* JK_BUS_MASTER or JK_BUS_LISTEN once decided (auto), 0 before */
    unsigned long seq;
    struct heard status[MAX_ADDR], about[MAX_ADDR];
};

static struct bus_state buses[MAX_BUSES];
static pthread_mutex_t buses_lock = PTHREAD_MUTEX_INITIALIZER;

/* The state of w's bus (locked by the caller), NULL when the table is full. */
static struct bus_state *bus_state(const struct jk_wire *w)
{
    char real[PATH_MAX];
    const char *dev = w->port != NULL                      ? w->port->bus
                      : realpath(w->device, real) != NULL ? real
                                                          : w->device;

    for (size_t i = 0; i < MAX_BUSES; i++)
        if (strcmp(buses[i].device, dev) == 0)
            return &buses[i];
    for (size_t i = 0; i < MAX_BUSES; i++)
        if (buses[i].device[0] == '\0') {
            snprintf(buses[i].device, sizeof(buses[i].device), "%s", dev);
            return &buses[i];
        }
    return NULL;
}

static int bus_mode_get(const struct jk_wire *w)
{
    struct bus_state *st;
    int mode;

    if (w->bus_mode != JK_BUS_AUTO || w->protocol != JK_WIRE_MODBUS)
        return w->protocol == JK_WIRE_MODBUS ? w->bus_mode : JK_BUS_MASTER;
    pthread_mutex_lock(&buses_lock);
    st = bus_state(w);
    mode = st != NULL ? st->mode : JK_BUS_MASTER;
    pthread_mutex_unlock(&buses_lock);
    return mode;
}

static void bus_mode_set(struct jk_wire *w, int mode, const char *why)
{
    struct bus_state *st;

    pthread_mutex_lock(&buses_lock);
    st = bus_state(w);
    if (st != NULL)
        st->mode = mode;
    pthread_mutex_unlock(&buses_lock);
    w->notice_mode = mode;
    if (mode == JK_BUS_LISTEN)
        snprintf(w->notice, sizeof(w->notice),
                 "%s: %s: a master pack (DIP address 0) polls this bus: listening only, "
                 "writing nothing (bus_mode = \"master\" to poll anyway)",
                 w->device, why);
    else
        snprintf(w->notice, sizeof(w->notice),
                 "%s: %s: no master pack on this bus: polling it (%s)", w->device, why,
                 w->request == JK_WIRE_TRIGGER ? "trigger protocol" : "register reads");
}

/* Keep a frame heard for `addr`; passcodes zeroed first. */
static void heard_store(struct jk_wire *w, int addr, uint8_t *frame)
{
    struct bus_state *st;
    struct heard *h = NULL;

    if (addr < 0 || addr >= MAX_ADDR)
        return; /* (a device-info frame comes with its passcodes zeroed: raw_frame) */
    pthread_mutex_lock(&buses_lock);
    st = bus_state(w);
    if (st != NULL && frame[4] == JK_RECORD_CELL_INFO)
        h = &st->status[addr];
    else if (st != NULL && frame[4] == JK_RECORD_DEVICE_INFO)
        h = &st->about[addr];
    if (h != NULL) {
        h->seq = ++st->seq;
        h->at_ms = now_ms();
        memcpy(h->frame, frame, JK_FRAME_LEN);
    }
    pthread_mutex_unlock(&buses_lock);
}

/* The newest status frame of w's slave heard after `*seq` and not older
 * than two listen timeouts: 1 and frame (and about, *has_about), else 0. */
static int heard_take(struct jk_wire *w, unsigned long *seq, uint8_t *frame, uint8_t *about,
                      int *has_about)
{
    struct bus_state *st;
    int got = 0;

    pthread_mutex_lock(&buses_lock);
    st = bus_state(w);
    if (st != NULL && w->slave >= 0 && w->slave < MAX_ADDR) {
        const struct heard *h = &st->status[w->slave], *a = &st->about[w->slave];
        if (h->seq > *seq && now_ms() - h->at_ms <= 2 * (int64_t)w->listen_timeout_ms) {
            memcpy(frame, h->frame, JK_FRAME_LEN);
            *seq = h->seq;
            got = 1;
        }
        *has_about = a->seq != 0;
        if (a->seq != 0)
            memcpy(about, a->frame, JK_FRAME_LEN);
    }
    pthread_mutex_unlock(&buses_lock);
    return got;
}

/*
 * The bus sniffer: what a master and the packs say to each other. Triggers
 * (FC 0x10, 11 bytes) name the address of the frame that answers them; the
 * FC 0x10 acknowledgement after a frame must name the same. A frame with no
 * trigger before it is the master's own, sent with no request: address 0.
 */
struct sniff {
    int pending;    /* address of the last trigger not yet answered, -1 none */
    int64_t pending_at;
    unsigned long frames, triggers;
};

/* A frame (and what follows it) read from the bus: a device-info frame's
 * passcodes zeroed where it lies, then shown to the raw hook (--hex). */
static void raw_frame(const struct jk_wire *w, uint8_t *data, size_t len)
{
    if (len >= JK_FRAME_LEN && data[0] == 0x55 && data[4] == JK_RECORD_DEVICE_INFO)
        jk_mask_device_info_secrets(data, len, 0);
    if (w->on_raw != NULL)
        w->on_raw(w->raw_user, 0, data, len);
}

/*
 * A frame at rx->buf complete with its 300 bytes: its address (-1: nobody's)
 * and length. The trigger before it names it when the frame follows it
 * closely (a slave answers in tens of ms; the master's own frames come a
 * probe timeout, 220 ms, after its last trigger); the acknowledgement after
 * it must agree. No trigger: the master's own frame, address 0.
 */
static size_t frame_owner(const struct rx *rx, const struct sniff *sn, int final, int *addr)
{
    int asked = sn->pending >= 0 && now_ms() - sn->pending_at < 150 ? sn->pending : -1;

    if (rx->len < JK_TRIGGER_ANSWER && !final)
        return 0; /* wait: an acknowledgement may follow */
    /* the acknowledgement after the 00 pad, or right after the frame */
    for (size_t at = JK_FRAME_LEN + 1; at >= JK_FRAME_LEN; at--) {
        const uint8_t *ack = rx->buf + at;
        if (rx->len >= at + 8 && ack[1] == 0x10 && jk_modbus_crc_ok(ack, 8)) {
            *addr = asked < 0 || asked == ack[0] ? ack[0] : -1; /* cross-talk: nobody's */
            return rx->len >= at + 9 && ack[8] == 0 ? at + 9 : at + 8;
        }
    }
    *addr = asked >= 0 ? asked : 0;
    return JK_FRAME_LEN;
}

/* Parse what rx holds; keep going while whole units are there. `final`:
 * nothing more will come, take a frame without waiting for its ack. */
static void sniff(struct jk_wire *w, struct rx *rx, struct sniff *sn, int final)
{
    while (rx->len > 0) {
        const uint8_t *b = rx->buf;
        size_t used = 1;
        if (b[0] == 0x55) {
            int addr = 0;
            if (rx->len < JK_FRAME_LEN) {
                if ((rx->len >= 2 && b[1] != 0xaa) || (rx->len >= 4 && b[2] != 0xeb) || final)
                    goto junk;
                return;
            }
            if (b[1] != 0xaa || b[2] != 0xeb || b[3] != 0x90 || !jk_frame_checksum_ok(b))
                goto junk;
            used = frame_owner(rx, sn, final, &addr);
            if (used == 0)
                return;
            raw_frame(w, rx->buf, used); /* passcodes never kept either */
            heard_store(w, addr, rx->buf);
            sn->frames++;
            sn->pending = -1;
            rx_drop(rx, used);
            continue;
        }
        if (rx->len >= 2 && (b[1] == 0x10 || b[1] == 0x03)) {
            if (rx->len < 11 && !final)
                return;
            if (b[1] == 0x10 && rx->len >= 11 && b[6] == 0x02 && jk_modbus_crc_ok(b, 11)) {
                sn->pending = b[0];
                sn->pending_at = now_ms();
                sn->triggers++;
                used = 11;
            } else if (rx->len >= 8 && jk_modbus_crc_ok(b, 8)) {
                used = 8; /* an ack, or an FC 0x03 request */
            } else {
                goto junk;
            }
            if (w->on_raw != NULL)
                w->on_raw(w->raw_user, 0, b, used);
            rx_drop(rx, used);
            continue;
        }
        if (rx->len < 2 && !final)
            return;
    junk:
        rx_drop(rx, 1);
    }
}

/* ---- Modbus RTU: commands and answers ---- */

static const char *exception_text(int code)
{
    switch (code) {
    case 1:
        return "illegal function (is it a JK-PB? older JK BMS speak protocol = \"uart\")";
    case 2:
        return "illegal data address (the register is not in this firmware's map)";
    case 3:
        return "illegal data value (for a read: too many registers at once; lower "
               "max_registers)";
    case 4:
        return "slave device failure (JK's V1.0 map also answers a request with a bad CRC "
               "so: check the A/B wiring)";
    case 5:
        return "acknowledge: the pack is busy with a long command";
    case 6:
        return "slave device busy: the pack cannot take a command now";
    default:
        return "an exception code the Modbus standard does not name";
    }
}

static int exception(struct jk_wire *w, int reg, int code)
{
    snprintf(w->error, sizeof(w->error), "slave %d on %s refused register 0x%04X: exception %02d, %s",
             w->slave, w->device, (unsigned)reg, code, exception_text(code));
    return -EPROTO;
}

static int no_answer(struct jk_wire *w, int reg, const struct rx *rx, size_t want)
{
    if (rx->total == 0)
        snprintf(w->error, sizeof(w->error),
                 "no answer from slave %d on %s: check its DIP switches (address 0 makes a pack "
                 "the bus master, which answers nobody)",
                 w->slave, w->device);
    else
        snprintf(w->error, sizeof(w->error),
                 "slave %d on %s: the answer to register 0x%04X was not complete within %d ms "
                 "(%zu of %zu bytes)",
                 w->slave, w->device, (unsigned)reg, w->timeout_ms, rx->len, want);
    return -ETIMEDOUT;
}

/* More bytes of an answer of `want` bytes to `reg`: 0, or a negative errno
 * (the deadline said in words). */
static int answer_more(struct jk_wire *w, struct rx *rx, int64_t deadline, int reg, size_t want)
{
    int rc = rx_more(w, rx, deadline);

    if (rc == -ETIMEDOUT)
        rc = no_answer(w, reg, rx, want);
    return rc < 0 ? rc : 0;
}

static int bad_crc(struct jk_wire *w, int reg)
{
    snprintf(w->error, sizeof(w->error),
             "slave %d on %s: bad CRC in the answer to register 0x%04X (check the A/B wiring "
             "and the bus termination)",
             w->slave, w->device, (unsigned)reg);
    return -EBADMSG;
}

/* Listen for `ms`, the sniffer keeping what it recognises: 0 and *bytes
 * heard, *units (frames and triggers among them); -ECANCELED, -ENODEV,
 * -ENOMEM. */
static int listen_for(struct jk_wire *w, int ms, size_t *bytes, unsigned long *units)
{
    struct rx *rx = rx_new();
    struct sniff sn = {-1, 0, 0, 0};
    int64_t deadline = now_ms() + ms;
    int rc;

    if (rx == NULL)
        return -ENOMEM;
    do
        rc = rx_more(w, rx, deadline);
    while (rc > 0);
    if (rc == -ETIMEDOUT) {
        rc = 0;
        *bytes = rx->total;
        sniff(w, rx, &sn, 1);
        *units = sn.frames + sn.triggers;
    }
    free(rx);
    return rc;
}

/* Quiet time before a command, reading what comes meanwhile. Traffic that
 * nobody asked for is a master pack polling the bus: in auto mode that
 * ends polling (-EAGAIN: listen instead). */
static int quiet_gap(struct jk_wire *w)
{
    size_t bytes = 0;
    unsigned long units = 0;
    int rc = listen_for(w, w->gap_ms, &bytes, &units);

    if (rc == 0 && units > 0 && w->protocol == JK_WIRE_MODBUS && w->bus_mode == JK_BUS_AUTO) {
        bus_mode_set(w, JK_BUS_LISTEN, "traffic nobody asked for");
        rc = -EAGAIN;
    }
    return rc;
}

/* What an exchange expects back: the register asked, and for FC 0x03 the
 * number of registers, for a trigger the frame type; where it goes. */
struct answer {
    int reg;
    int nregs;
    uint8_t type;
    uint8_t *out;
};

/* Receive the answer to an FC 0x03 read of a->nregs registers at a->reg. */
static int recv_fc03(struct jk_wire *w, const uint8_t *req, const struct answer *a,
                     int64_t deadline)
{
    int reg = a->reg, n = a->nregs;
    uint8_t *out = a->out;
    struct rx *rx = rx_new();
    size_t want = 5 + 2 * (size_t)n;
    int rc = 0;

    if (rx == NULL)
        return -ENOMEM;
    for (;;) {
        /* Our own request echoed by the adapter, then anything not ours. */
        rx_drop_echo(rx, req, 8);
        while (rx->len > 0 && !(rx->buf[0] == w->slave && rx->len >= 2 &&
                                (rx->buf[1] == 0x03 || rx->buf[1] == 0x83)) &&
               !(rx->len < 8 && memcmp(rx->buf, req, rx->len) == 0) &&
               !(rx->len == 1 && rx->buf[0] == w->slave))
            rx_drop(rx, 1);
        if (rx->len >= 5 && rx->buf[1] == 0x83) {
            rc = jk_modbus_crc_ok(rx->buf, 5) ? exception(w, reg, rx->buf[2]) : bad_crc(w, reg);
            break;
        }
        if (rx->len >= 3 && rx->buf[1] == 0x03 && rx->buf[2] != 2 * n) {
            snprintf(w->error, sizeof(w->error),
                     "slave %d on %s: %u bytes in the answer to a read of %d registers at 0x%04X",
                     w->slave, w->device, rx->buf[2], n, (unsigned)reg);
            rc = -EBADMSG;
            break;
        }
        if (rx->len >= want && rx->buf[1] == 0x03) {
            if (!jk_modbus_crc_ok(rx->buf, want)) {
                rc = bad_crc(w, reg);
                break;
            }
            if (reg >= JK_MB_INFO_BASE && reg < JK_MB_INFO_BASE + JK_MB_INFO_LEN)
                jk_mask_device_info_secrets(rx->buf + 3, 2 * (size_t)n,
                                            6 + (size_t)(reg - JK_MB_INFO_BASE));
            memcpy(out, rx->buf + 3, 2 * (size_t)n);
            if (w->on_raw != NULL)
                w->on_raw(w->raw_user, 0, rx->buf, want);
            break;
        }
        rc = answer_more(w, rx, deadline, reg, want);
        if (rc < 0)
            break;
    }
    free(rx);
    return rc;
}

/* Receives one kind of answer into a->out: 0 or a negative errno. */
typedef int (*recv_fn)(struct jk_wire *w, const uint8_t *req, const struct answer *a,
                       int64_t deadline);

/* One command and its answer: after the gap, the whole answer within the
 * timeout, retried once on a timeout or a bad CRC. */
static int exchange(struct jk_wire *w, const uint8_t *req, size_t len, recv_fn recv,
                    const struct answer *a)
{
    int rc = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        rc = quiet_gap(w);
        if (rc == 0)
            rc = send_bytes(w, req, len);
        if (rc == 0)
            rc = recv(w, req, a, now_ms() + w->timeout_ms);
        if (rc != -ETIMEDOUT && rc != -EBADMSG)
            break;
    }
    return rc;
}

static int read_regs(struct jk_wire *w, int reg, int n, uint8_t *out)
{
    uint8_t req[8] = {(uint8_t)w->slave, 0x03, (uint8_t)(reg >> 8), (uint8_t)reg, 0, (uint8_t)n};
    const struct answer a = {reg, n, 0, out};

    jk_modbus_put_crc(req, 6);
    return exchange(w, req, sizeof(req), recv_fc03, &a);
}

/* Read `len` bytes of a block from register `reg` on, max_registers a read. */
static int read_span(struct jk_wire *w, int reg, uint8_t *out, size_t len)
{
    size_t done = 0, most = 2 * (size_t)w->max_registers;
    int rc = 0;

    while (rc == 0 && done < len) {
        size_t n = len - done < most ? len - done : most;
        rc = read_regs(w, reg + (int)done, (int)(n / 2), out + done);
        done += n;
    }
    return rc;
}

/* The documented spans of the live block (byte offsets, jk-wired.md). */
static const struct {
    int off, len;
} live_spans[] = {{0x00, 0x4a}, {0x4a, 0x40}, {0x8a, 0x48}, {0xf8, 0x06}};

static int read_info_regs(struct jk_wire *w)
{
    struct jk_wire_port *p = w->port;
    uint8_t info[JK_MB_INFO_LEN];
    int rc;

    memset(info, 0, sizeof(info));
    if (p->has_info == 0) {
        rc = read_span(w, JK_MB_INFO_BASE, info, 2 * JK_MB_INFO_REGS);
        if (rc == -EPROTO) {
            p->has_info = -1; /* refused: the cells still come */
            return 0;
        }
        if (rc < 0)
            return rc;
        jk_decode_info_block(info, JK_INFO_BLOCK_MIN, &p->info);
        p->has_info = 1;
    }
    if (p->has_info == 1 && p->has_extra == 0) {
        /* Optional: the name (0x28), the date and serial (0x48-0x5A). The
         * passcode between them is not read; the byte after the serial is
         * zeroed as it arrives. */
        struct jk_device_info di;
        rc = read_span(w, JK_MB_INFO_BASE + 0x28, info + 0x28, 16);
        if (rc == 0)
            rc = read_span(w, JK_MB_INFO_BASE + 0x48, info + 0x48, 20);
        if (rc == -ECANCELED || rc == -ENODEV)
            return rc;
        p->has_extra = rc == 0 ? 1 : -1;
        if (rc == 0 && jk_decode_info_block(info, sizeof(info), &di) == 0) {
            memcpy(p->info.name, di.name, sizeof(di.name));
            memcpy(p->info.mfg_date, di.mfg_date, sizeof(di.mfg_date));
            memcpy(p->info.serial, di.serial, sizeof(di.serial));
        }
    }
    return 0;
}

static int read_registers(struct jk_wire *w, struct jk_cell_info *ci)
{
    uint8_t live[JK_MB_LIVE_LEN];
    int rc = read_info_regs(w);

    memset(live, 0, sizeof(live));
    for (size_t i = 0; rc == 0 && i < sizeof(live_spans) / sizeof(live_spans[0]); i++)
        rc = read_span(w, JK_MB_LIVE_BASE + live_spans[i].off, live + live_spans[i].off,
                       (size_t)live_spans[i].len);
    if (rc == 0)
        rc = jk_decode_live_block(live, sizeof(live), ci);
    return rc;
}

/* Receive the 310 bytes a trigger of a->reg brings, the frame into a->out. */
static int recv_trigger(struct jk_wire *w, const uint8_t *req, const struct answer *a,
                        int64_t deadline)
{
    int reg = a->reg;
    uint8_t type = a->type, *frame = a->out;
    struct rx *rx = rx_new();
    size_t want = JK_TRIGGER_ANSWER;
    int rc = 0;

    if (rx == NULL)
        return -ENOMEM;
    for (;;) {
        uint8_t *f;
        size_t at;
        rx_drop_echo(rx, req, 11);
        f = memchr(rx->buf, 0x55, rx->len);
        at = f != NULL ? (size_t)(f - rx->buf) : rx->len;
        /* An exception answer, before any frame. */
        for (size_t i = 0; i + 5 <= at; i++)
            if (rx->buf[i] == w->slave && rx->buf[i + 1] == 0x90 && jk_modbus_crc_ok(rx->buf + i, 5)) {
                rc = exception(w, reg, rx->buf[i + 2]);
                goto out;
            }
        if (at + 1 < rx->len && rx->buf[at + 1] != 0xaa) {
            rx_drop(rx, at + 1); /* a 55 of the echo or of junk */
            continue;
        }
        if (rx->len - at >= want) {
            const uint8_t *ack = rx->buf + at + JK_FRAME_LEN + 1;
            f = rx->buf + at;
            if (f[2] != 0xeb || f[3] != 0x90 || !jk_frame_checksum_ok(f)) {
                rc = -EBADMSG;
                snprintf(w->error, sizeof(w->error),
                         "slave %d on %s: bad checksum in the frame answering 0x%04X", w->slave,
                         w->device, (unsigned)reg);
            } else if (!jk_modbus_crc_ok(ack, 8) || ack[1] != 0x10 || ack[2] != (uint8_t)(reg >> 8) ||
                       ack[3] != (uint8_t)reg) {
                rc = -EBADMSG;
                snprintf(w->error, sizeof(w->error),
                         "slave %d on %s: the acknowledgement after the frame answering 0x%04X "
                         "is bad (CRC or content): check the A/B wiring and the termination",
                         w->slave, w->device, (unsigned)reg);
            } else if (ack[0] != w->slave) {
                snprintf(w->error, sizeof(w->error),
                         "%s: slave %d answered the trigger sent to slave %d (two packs on one "
                         "DIP address?)",
                         w->device, ack[0], w->slave);
                rc = -EBADMSG;
            } else if (f[4] != type) {
                snprintf(w->error, sizeof(w->error),
                         "slave %d on %s: a frame of type %u answered 0x%04X (want %u)", w->slave,
                         w->device, f[4], (unsigned)reg, type);
                rc = -EBADMSG;
            } else {
                memcpy(frame, f, JK_FRAME_LEN);
            }
            raw_frame(w, f, want);
            break;
        }
        rc = answer_more(w, rx, deadline, reg, want);
        if (rc < 0)
            break;
    }
out:
    free(rx);
    return rc;
}

/* One trigger: an FC 0x10 write of 0 to `reg`, answered by a frame of `type`. */
static int trigger(struct jk_wire *w, int reg, uint8_t type, uint8_t *frame)
{
    uint8_t req[11] = {(uint8_t)w->slave, 0x10, (uint8_t)(reg >> 8), (uint8_t)reg, 0, 1, 2, 0, 0};
    const struct answer a = {reg, 0, type, frame};

    jk_modbus_put_crc(req, 9);
    return exchange(w, req, sizeof(req), recv_trigger, &a);
}

static int read_trigger(struct jk_wire *w, struct jk_cell_info *ci)
{
    struct jk_wire_port *p = w->port;
    uint8_t frame[JK_FRAME_LEN];
    int rc = 0;

    if (p->has_info == 0) {
        /* At the start and after a restart (a firmware update restarts the
         * pack): about, then settings, as JK's own PC software does. */
        struct jk_device_info di;
        rc = trigger(w, JK_TRIGGER_ABOUT, JK_RECORD_DEVICE_INFO, frame);
        if (rc == 0)
            rc = jk_decode_device_info(frame, &di);
        if (rc == -ECANCELED || rc == -ENODEV || rc == -EAGAIN || rc == -ETIMEDOUT)
            return rc; /* not there (yet): the next poll asks again */
        if (rc == 0 && p->info.sw_version[0] != '\0' &&
            strcmp(p->info.sw_version, di.sw_version) != 0) {
            w->notice_mode = -1;
            snprintf(w->notice, sizeof(w->notice),
                     "slave %d on %s restarted with another firmware: %s, was %s", w->slave,
                     w->device, di.sw_version, p->info.sw_version);
        }
        if (rc == 0)
            p->info = di;
        p->has_info = rc == 0 ? 1 : -1; /* refused: the status still comes */
        /* settings after about, as JK's own PC software asks (nothing of it is kept) */
        rc = trigger(w, JK_TRIGGER_SETTINGS, JK_RECORD_SETTINGS, frame);
        if (rc == -ECANCELED || rc == -ENODEV || rc == -EAGAIN)
            return rc;
    }
    rc = trigger(w, JK_TRIGGER_STATUS, JK_RECORD_CELL_INFO, frame);
    if (rc == 0 && jk_decode_cell_info(frame, JK_PROTO_JK02_32S, ci) < 0) {
        snprintf(w->error, sizeof(w->error), "slave %d on %s: the status frame does not decode",
                 w->slave, w->device);
        rc = -EBADMSG;
    }
    if (rc == 0) {
        if (p->has_runtime && ci->runtime_s < p->last_runtime)
            p->has_info = 0; /* restarted: read about and settings again */
        p->has_runtime = 1;
        p->last_runtime = ci->runtime_s;
    }
    return rc;
}

/* Listen first: anything heard means a master polls the bus. */
static int decide_mode(struct jk_wire *w)
{
    size_t bytes = 0;
    unsigned long units = 0;
    int rc = listen_for(w, w->listen_ms, &bytes, &units);

    if (rc == 0) {
        char why[64];
        snprintf(why, sizeof(why), "%zu bytes heard in %d ms", bytes, w->listen_ms);
        bus_mode_set(w, bytes > 0 ? JK_BUS_LISTEN : JK_BUS_MASTER, why);
    }
    return rc;
}

/* Listen-only: what this slave answered the master, from what this process
 * heard already or hears now; nothing is written. */
static int read_listen(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                       int *has_di, int locked)
{
    struct jk_wire_port *p = w->port;
    uint8_t frame[JK_FRAME_LEN], about[JK_FRAME_LEN];
    struct sniff sn = {-1, 0, 0, 0};
    struct rx *rx;
    int64_t deadline = now_ms() + w->listen_timeout_ms;
    int has_about = 0, got = heard_take(w, &p->heard_seq, frame, about, &has_about), rc = 0;

    if (!got && !locked)
        return -EAGAIN; /* take the bus and listen */
    rx = got ? NULL : rx_new();
    if (!got && rx == NULL)
        return -ENOMEM;
    while (!got) {
        rc = rx_more(w, rx, deadline);
        sniff(w, rx, &sn, rc == -ETIMEDOUT);
        got = heard_take(w, &p->heard_seq, frame, about, &has_about);
        if (got) {
            rc = 0;
        } else if (rc == -ETIMEDOUT) {
            snprintf(w->error, sizeof(w->error),
                     "%s: listening only (a master pack polls this bus): slave %d answered no "
                     "poll within %d ms (%lu frames heard)",
                     w->device, w->slave, w->listen_timeout_ms, sn.frames);
            if (rx->total == 0 && w->bus_mode == JK_BUS_AUTO) {
                /* Silence: the master pack is gone; the next poll polls. */
                char why[64];
                snprintf(why, sizeof(why), "nothing heard in %d ms", w->listen_timeout_ms);
                bus_mode_set(w, JK_BUS_MASTER, why);
            }
            break;
        } else if (rc < 0) {
            break;
        }
    }
    free(rx);
    if (!got)
        return rc;
    if (jk_decode_cell_info(frame, JK_PROTO_JK02_32S, ci) < 0) {
        snprintf(w->error, sizeof(w->error), "slave %d on %s: the status frame does not decode",
                 w->slave, w->device);
        return -EBADMSG;
    }
    *has_di = has_about && jk_decode_device_info(about, di) == 0;
    return 0;
}

static int read_modbus(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                       int *has_di)
{
    struct jk_wire_port *p = w->port;
    int mode = bus_mode_get(w), rc;

    if (mode == 0) {
        rc = decide_mode(w);
        if (rc < 0)
            return rc;
        mode = bus_mode_get(w);
    }
    if (mode == JK_BUS_LISTEN)
        return read_listen(w, ci, di, has_di, 1);
    if (w->slave == 0) {
        snprintf(w->error, sizeof(w->error),
                 "%s: slave 0 is the master pack, which answers nobody: read it with bus_mode = "
                 "\"listen\"",
                 w->device);
        return -EINVAL;
    }
    rc = w->request == JK_WIRE_TRIGGER ? read_trigger(w, ci) : read_registers(w, ci);
    if (rc == -EAGAIN) /* a master spoke up meanwhile */
        return read_listen(w, ci, di, has_di, 1);
    *has_di = rc == 0 && p->has_info == 1;
    if (*has_di)
        *di = p->info;
    return rc;
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
             "%s: no valid answer in %zu bytes within %d ms (%lu bad frames, %lu junk bytes): "
             "check the baud rate and the wiring",
             w->device, got, w->timeout_ms, as->bad_frames, as->junk_bytes);
    return as->bad_frames > 0 ? -EBADMSG : -ETIMEDOUT;
}

/* For --hex: what was read, with the password of every frame in it zeroed. */
static void raw_uart(const struct jk_wire *w, struct rx *rx)
{
    if (w->on_raw == NULL || rx->len == 0)
        return;
    for (size_t i = 0; i + 1 < rx->len; i++)
        if (rx->buf[i] == 0x4e && rx->buf[i + 1] == 0x57)
            jk_uart_mask_password(rx->buf + i, rx->len - i);
    w->on_raw(w->raw_user, 0, rx->buf, rx->len);
}

static int exchange_uart(struct jk_wire *w, struct jk_uart_assembler *as, struct rx *rx,
                         struct uart_rx *out)
{
    uint8_t req[JK_UART_REQ_LEN];
    int64_t deadline;
    int rc;

    jk_uart_assembler_init(as);
    memset(out, 0, sizeof(*out));
    rx->len = rx->total = 0;
    jk_uart_build_read_all(req);
    rc = quiet_gap(w);
    if (rc == 0)
        rc = send_bytes(w, req, sizeof(req));
    deadline = now_ms() + w->timeout_ms;
    while (rc == 0 && !out->done) {
        size_t before = rx->len;
        rc = rx_more(w, rx, deadline);
        if (rc == -ETIMEDOUT)
            rc = uart_failed(w, as, rx->total);
        if (rc < 0)
            break;
        jk_uart_assembler_feed(as, rx->buf + before, rx->len - before, on_uart_frame, out);
        rc = 0;
    }
    raw_uart(w, rx);
    if (rc == 0 && out->rc < 0) {
        snprintf(w->error, sizeof(w->error), "%s: the answer holds no cell voltages", w->device);
        rc = -EBADMSG;
    }
    return rc;
}

static int read_uart(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di,
                     int *has_di)
{
    struct jk_uart_assembler *as = malloc(sizeof(*as));
    struct rx *rx = rx_new();
    struct uart_rx *out = malloc(sizeof(*out));
    int rc = -ENOMEM;

    for (int attempt = 0; as != NULL && rx != NULL && out != NULL && attempt < 2; attempt++) {
        rc = exchange_uart(w, as, rx, out);
        if (rc != -ETIMEDOUT && rc != -EBADMSG)
            break;
    }
    if (rc == 0) {
        *ci = out->data.ci;
        *has_di = out->data.has_device_info;
        if (*has_di)
            *di = out->data.di;
    }
    free(as);
    free(rx);
    free(out);
    return rc;
}

int jk_wire_read(struct jk_wire *w, struct jk_cell_info *ci, struct jk_device_info *di, int *has_di)
{
    int rc;

    *has_di = 0;
    if (w->port == NULL) {
        rc = jk_wire_open(w);
        if (rc < 0)
            return rc;
    }
    if (stop_requested(w))
        return -ECANCELED;
    if (w->protocol == JK_WIRE_MODBUS && bus_mode_get(w) == JK_BUS_LISTEN &&
        read_listen(w, ci, di, has_di, 0) == 0)
        return 0; /* heard already by another instance on this bus */
    rc = bus_take(w);
    if (rc < 0)
        return rc;
    rc =
        w->protocol == JK_WIRE_UART ? read_uart(w, ci, di, has_di) : read_modbus(w, ci, di, has_di);
    if (w->port != NULL)
        bus_give(w);
    return rc;
}

/* ---- for the other modules of libjkwire (jk_wire_switch.c) ---- */

int jk_wire_hold_bus(struct jk_wire *w)
{
    int rc, mode;

    if (w->port == NULL && (rc = jk_wire_open(w)) < 0)
        return rc;
    if ((rc = bus_take(w)) < 0)
        return rc;
    mode = bus_mode_get(w);
    if (mode == 0 && (rc = decide_mode(w)) == 0)
        mode = bus_mode_get(w);
    if (rc == 0 && mode != JK_BUS_MASTER) {
        snprintf(w->error, sizeof(w->error),
                 "%s: a master pack (DIP address 0) drives this bus, and a bus has one master: "
                 "nothing is written (set the switch through it, or bus_mode = \"master\")",
                 w->device);
        rc = -EPERM;
    }
    if (rc < 0)
        bus_give(w);
    return rc;
}

void jk_wire_release_bus(struct jk_wire *w)
{
    if (w->port != NULL)
        bus_give(w);
}

int jk_wire_read_registers(struct jk_wire *w, int reg, int n, uint8_t *out)
{
    return read_regs(w, reg, n, out);
}

/* The answer to `req` from w's slave: `want` bytes with req's function code,
 * or a 5-byte exception; the adapter's echo of req is skipped. */
static int recv_answer(struct jk_wire *w, const uint8_t *req, size_t len, uint8_t *answer,
                       size_t want, int64_t deadline)
{
    struct rx *rx = malloc(sizeof(*rx));
    int reg = req[2] << 8 | req[3], rc = 0;

    if (rx == NULL)
        return -ENOMEM;
    rx->len = rx->total = 0;
    for (;;) {
        if (rx->len >= len && memcmp(rx->buf, req, len) == 0) {
            rx_drop(rx, len);
            rx->total -= len; /* an echo is no answer */
        }
        while (rx->len > 0 && !(rx->buf[0] == w->slave && rx->len >= 2 &&
                                (rx->buf[1] == req[1] || rx->buf[1] == (req[1] | 0x80))) &&
               !(rx->len < len && memcmp(rx->buf, req, rx->len) == 0) &&
               !(rx->len == 1 && rx->buf[0] == w->slave))
            rx_drop(rx, 1);
        if (rx->len >= 5 && rx->buf[1] == (req[1] | 0x80)) {
            rc = jk_modbus_crc_ok(rx->buf, 5) ? exception(w, reg, rx->buf[2]) : bad_crc(w, reg);
            break;
        }
        if (rx->len >= want && rx->buf[1] == req[1]) {
            if (!jk_modbus_crc_ok(rx->buf, want)) {
                rc = bad_crc(w, reg);
                break;
            }
            memcpy(answer, rx->buf, want);
            if (w->on_raw != NULL)
                w->on_raw(w->raw_user, 0, rx->buf, want);
            break;
        }
        rc = rx_more(w, rx, deadline);
        if (rc == -ETIMEDOUT)
            rc = no_answer(w, reg, rx, want);
        if (rc < 0)
            break;
        rc = 0;
    }
    free(rx);
    return rc;
}

int jk_wire_command(struct jk_wire *w, const uint8_t *req, size_t len, uint8_t *answer,
                    size_t want)
{
    int rc = quiet_gap(w);

    if (rc == -EAGAIN) {
        snprintf(w->error, sizeof(w->error),
                 "%s: a master pack spoke up on this bus: nothing is written", w->device);
        return -EPERM;
    }
    if (rc == 0)
        rc = send_bytes(w, req, len);
    if (rc == 0)
        rc = recv_answer(w, req, len, answer, want, now_ms() + w->timeout_ms);
    return rc;
}

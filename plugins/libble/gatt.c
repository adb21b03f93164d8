/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libble/gatt.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHAR_PROP_NOTIFY 0x10
#define CHAR_PROP_INDICATE 0x20

int64_t gatt_now_ms(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC counts from boot, so it never overflows; should it
     * fail all the same, every deadline is reached at once and the caller
     * reports a timeout rather than waiting on an unset time. */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return INT64_MAX / 2;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gatt_init(struct gatt_client *c, int fd, int stop_fd, gatt_notify_fn on_notify, void *user)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->stop_fd = stop_fd;
    c->mtu = ATT_DEFAULT_MTU;
    c->on_notify = on_notify;
    c->user = user;
}

static int send_pdu(struct gatt_client *c, const uint8_t *pdu, size_t len)
{
    ssize_t n;
    do
        n = send(c->fd, pdu, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ? -ENOTCONN : -errno;
    return (size_t)n == len ? 0 : -EIO;
}

int ble_wait_fd(int fd, short events, int64_t deadline, int stop_fd, short *revents)
{
    for (;;) {
        struct pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        int64_t wait = deadline - gatt_now_ms();
        int r;

        if (wait < 0)
            wait = 0; /* past the deadline: still take what is already there */
        r = poll(p, stop_fd >= 0 ? 2 : 1, (int)(wait > 60000 ? 60000 : wait));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (stop_fd >= 0 && (p[1].revents & POLLIN))
            return -ECANCELED;
        if (r > 0 && p[0].revents != 0) {
            if (revents != NULL)
                *revents = p[0].revents;
            return 1;
        }
        if (wait == 0)
            return 0;
    }
}

/* Wait for one PDU: its length, 0 at the deadline, or a negative errno. */
static ssize_t recv_pdu(struct gatt_client *c, int64_t deadline_ms)
{
    for (;;) {
        int r = ble_wait_fd(c->fd, POLLIN, deadline_ms, c->stop_fd, NULL);
        ssize_t n;

        if (r <= 0)
            return r;
        n = recv(c->fd, c->buf, sizeof(c->buf), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return errno == ECONNRESET || errno == ENOTCONN ? -ENOTCONN : -errno;
        if (n == 0)
            return -ENOTCONN; /* the peer disconnected */
        return n;
    }
}

/* Deal with a PDU that is not the response being waited for. */
static int handle_unsolicited(struct gatt_client *c, const struct att_pdu *p)
{
    uint8_t out[8];
    int n;

    switch (p->op) {
    case ATT_OP_NOTIFICATION:
        if (c->on_notify != NULL)
            c->on_notify(c->user, p->handle, p->value, p->value_len);
        return 0;
    case ATT_OP_INDICATION:
        if (c->on_notify != NULL)
            c->on_notify(c->user, p->handle, p->value, p->value_len);
        out[0] = ATT_OP_CONFIRMATION;
        return send_pdu(c, out, 1);
    case ATT_OP_MTU_REQ:
        /* JK modules open with their own Exchange MTU Request: answer it. */
        c->peer_requests++;
        if (p->mtu >= ATT_DEFAULT_MTU)
            c->mtu = p->mtu < GATT_RX_MTU ? p->mtu : GATT_RX_MTU;
        n = att_build_mtu_rsp(out, sizeof(out), GATT_RX_MTU); /* as we request */
        return send_pdu(c, out, (size_t)n);
    case ATT_OP_MTU_RSP:
        /* A late duplicate of a response already taken: drop it. */
        c->dropped++;
        return 0;
    default:
        if (att_is_request(p->op)) {
            c->peer_requests++;
            n = att_build_error_rsp(out, sizeof(out), p->op, 0, ATT_ECODE_REQ_NOT_SUPP);
            return send_pdu(c, out, (size_t)n);
        }
        c->dropped++;
        return 0;
    }
}

int gatt_request(struct gatt_client *c, const uint8_t *req, size_t len, uint8_t want,
                 struct att_pdu *rsp, int64_t deadline_ms)
{
    int rc = send_pdu(c, req, len);

    if (rc < 0)
        return rc;
    c->requests++;
    for (;;) {
        struct att_pdu p;
        ssize_t n = recv_pdu(c, deadline_ms);
        if (n == 0)
            return -ETIMEDOUT;
        if (n < 0)
            return (int)n;
        if (att_parse(c->buf, (size_t)n, &p) < 0) {
            c->dropped++; /* a malformed PDU: not the answer, not fatal */
            continue;
        }
        if (p.op == want && !(want == ATT_OP_MTU_RSP && !c->mtu_pending)) {
            *rsp = p;
            return 0;
        }
        if (p.op == ATT_OP_ERROR_RSP && p.err_req_op == req[0]) {
            c->att_error = p.err_code;
            return -EIO;
        }
        rc = handle_unsolicited(c, &p);
        if (rc < 0)
            return rc;
    }
}

int gatt_pump(struct gatt_client *c, int64_t deadline_ms, int (*done)(void *user))
{
    for (;;) {
        struct att_pdu p;
        ssize_t n;
        int rc;

        if (done != NULL && done(c->user))
            return 0;
        n = recv_pdu(c, deadline_ms);
        if (n == 0)
            return 0;
        if (n < 0)
            return (int)n;
        if (att_parse(c->buf, (size_t)n, &p) < 0) {
            c->dropped++;
            continue;
        }
        rc = handle_unsolicited(c, &p);
        if (rc < 0)
            return rc;
    }
}

int gatt_exchange_mtu(struct gatt_client *c, int64_t deadline_ms)
{
    const uint16_t want = GATT_RX_MTU;
    uint8_t req[3];
    struct att_pdu p;
    int rc;

    att_build_mtu_req(req, sizeof(req), want);
    c->mtu_pending = 1;
    rc = gatt_request(c, req, sizeof(req), ATT_OP_MTU_RSP, &p, deadline_ms);
    c->mtu_pending = 0;
    if (rc == -EIO) /* the peer does not support it: stay at 23 */
        return 0;
    if (rc < 0)
        return rc;
    c->mtu = p.mtu < ATT_DEFAULT_MTU ? ATT_DEFAULT_MTU : p.mtu < want ? p.mtu : want;
    return 0;
}

/* One page of a discovery: 1 and *p; 0 when the peer says there is no
 * more (Attribute Not Found, the normal end of every discovery loop); or
 * a negative errno. */
static int discovery_page(struct gatt_client *c, const uint8_t *req, size_t len, uint8_t want,
                          struct att_pdu *p, int64_t deadline_ms)
{
    int rc = gatt_request(c, req, len, want, p, deadline_ms);

    if (rc == -EIO && c->att_error == ATT_ECODE_ATTR_NOT_FOUND)
        return 0;
    return rc < 0 ? rc : 1;
}

/* The primary services one Read By Group Type page at a time, as the phone
 * app discovers them: for a module refusing Find By Type Value. */
static int find_service_by_group(struct gatt_client *c, uint16_t uuid16, uint16_t *start,
                                 uint16_t *end, int64_t deadline_ms)
{
    uint32_t from = 0x0001;

    while (from <= 0xffff) {
        uint8_t req[7];
        struct att_pdu p;
        int rc;

        att_build_read_by_group_req(req, sizeof(req), (uint16_t)from, 0xffff, GATT_UUID_PRIMARY);
        rc = discovery_page(c, req, sizeof(req), ATT_OP_READ_BY_GROUP_RSP, &p, deadline_ms);
        if (rc <= 0)
            return rc < 0 ? rc : -ENOENT; /* < 0: failed; 0: no more */
        for (size_t i = 0; i < p.nitems; i++) {
            if (p.item[i].a < from || p.item[i].b < p.item[i].a)
                return -EBADMSG; /* going backwards: never loop */
            if (p.item[i].uuid16 == uuid16) {
                *start = p.item[i].a;
                *end = p.item[i].b;
                return 0;
            }
            from = (uint32_t)p.item[i].b + 1;
        }
    }
    return -ENOENT;
}

int gatt_find_service(struct gatt_client *c, uint16_t uuid16, uint16_t *start, uint16_t *end,
                      int64_t deadline_ms)
{
    uint8_t req[9];
    struct att_pdu p;
    int rc;

    att_build_find_by_type_req(req, sizeof(req), 0x0001, 0xffff, GATT_UUID_PRIMARY, uuid16);
    rc = gatt_request(c, req, sizeof(req), ATT_OP_FIND_BY_TYPE_RSP, &p, deadline_ms);
    if (rc == -EIO && c->att_error == ATT_ECODE_ATTR_NOT_FOUND)
        return -ENOENT;
    if (rc == -EIO && c->att_error == ATT_ECODE_REQ_NOT_SUPP)
        return find_service_by_group(c, uuid16, start, end, deadline_ms);
    if (rc < 0)
        return rc;
    if (p.item[0].a == 0 || p.item[0].b < p.item[0].a)
        return -EBADMSG;
    *start = p.item[0].a;
    *end = p.item[0].b;
    return 0;
}

int gatt_characteristics(struct gatt_client *c, uint16_t start, uint16_t end,
                         struct gatt_char *out, size_t cap, int64_t deadline_ms)
{
    size_t n = 0;
    uint32_t from = start;

    while (from <= end && n < cap) {
        uint8_t req[7];
        struct att_pdu p;
        int rc;

        att_build_read_by_type_req(req, sizeof(req), (uint16_t)from, end, GATT_UUID_CHAR);
        rc = discovery_page(c, req, sizeof(req), ATT_OP_READ_BY_TYPE_RSP, &p, deadline_ms);
        if (rc <= 0)
            return rc < 0 ? rc : (int)n; /* < 0: failed; 0: no more */
        for (size_t i = 0; i < p.nitems && n < cap; i++) {
            if (p.item[i].a < from || p.item[i].a > end || p.item[i].b <= p.item[i].a)
                return -EBADMSG; /* going backwards or out of range: never loop */
            if (n > 0)
                out[n - 1].end = (uint16_t)(p.item[i].a - 1);
            out[n].decl = p.item[i].a;
            out[n].value = p.item[i].b;
            out[n].props = p.item[i].props;
            out[n].uuid16 = p.item[i].uuid16;
            out[n].end = end;
            n++;
            from = (uint32_t)p.item[i].a + 1;
        }
    }
    return (int)n;
}

int gatt_find_cccd(struct gatt_client *c, const struct gatt_char *ch, uint16_t *handle,
                   int64_t deadline_ms)
{
    uint32_t from = (uint32_t)ch->value + 1;

    while (from <= ch->end) {
        uint8_t req[5];
        struct att_pdu p;
        int rc;

        att_build_find_info_req(req, sizeof(req), (uint16_t)from, ch->end);
        rc = discovery_page(c, req, sizeof(req), ATT_OP_FIND_INFO_RSP, &p, deadline_ms);
        if (rc <= 0)
            return rc < 0 ? rc : -ENOENT; /* < 0: failed; 0: no more */
        for (size_t i = 0; i < p.nitems; i++) {
            if (p.item[i].a < from)
                return -EBADMSG;
            if (p.item[i].uuid16 == GATT_UUID_CCCD) {
                *handle = p.item[i].a;
                return 0;
            }
            from = (uint32_t)p.item[i].a + 1;
        }
    }
    return -ENOENT;
}

int gatt_write(struct gatt_client *c, uint16_t handle, const uint8_t *value, size_t len,
               int with_response, int64_t deadline_ms)
{
    uint8_t req[ATT_MAX_MTU];
    struct att_pdu p;
    int n = att_build_write(req, (size_t)c->mtu < sizeof(req) ? c->mtu : sizeof(req),
                            with_response ? ATT_OP_WRITE_REQ : ATT_OP_WRITE_CMD, handle, value,
                            len);
    if (n < 0)
        return n;
    if (!with_response)
        return send_pdu(c, req, (size_t)n);
    return gatt_request(c, req, (size_t)n, ATT_OP_WRITE_RSP, &p, deadline_ms);
}

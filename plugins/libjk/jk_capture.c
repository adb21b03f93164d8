/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjk/jk_capture.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/libjk/jk_bytes.h"
#include "plugins/libsafeopen/safe_open.h"

#define MAX_CAPTURE (64u * 1024u * 1024u) /* refuse larger files */
#define MAX_LINKS 8
#define L2CAP_MAX 4096

static void set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || err_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

void jk_capture_free(struct jk_capture *c)
{
    if (c == NULL)
        return;
    free(c->data);
    free(c->ends);
    memset(c, 0, sizeof(*c));
}

static int push_bytes(struct jk_capture *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        uint8_t *grown;
        while (cap < c->len + n)
            cap *= 2;
        grown = realloc(c->data, cap);
        if (grown == NULL)
            return -ENOMEM;
        c->data = grown;
        c->cap = cap;
    }
    memcpy(c->data + c->len, p, n);
    c->len += n;
    return 0;
}

static int end_chunk(struct jk_capture *c)
{
    if (c->n == c->ncap) {
        size_t cap = c->ncap ? c->ncap * 2 : 64;
        size_t *grown = realloc(c->ends, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM;
        c->ends = grown;
        c->ncap = cap;
    }
    c->ends[c->n++] = c->len;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int is_sep(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '.' || ch == ':' || ch == ',' || ch == '-' ||
           ch == '\r';
}

int jk_capture_parse_hex(const char *text, size_t len, struct jk_capture *out, char *err,
                         size_t err_size)
{
    struct jk_capture c;
    size_t i = 0, line = 1;
    int rc;

    memset(&c, 0, sizeof(c));
    while (i < len) {
        size_t start_len = c.len;
        int half = -1; /* a pending high nibble */
        for (; i < len && text[i] != '\n'; i++) {
            char ch = text[i];
            int v;
            if (ch == '#') {
                while (i < len && text[i] != '\n')
                    i++;
                break;
            }
            if (is_sep(ch)) {
                if (half >= 0) { /* a lone digit between separators: "5 a" */
                    uint8_t b = (uint8_t)half;
                    if ((rc = push_bytes(&c, &b, 1)) < 0)
                        goto fail;
                    half = -1;
                }
                continue;
            }
            if (ch == '0' && half < 0 && i + 1 < len && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
                i++; /* 0x prefix */
                continue;
            }
            v = hexval(ch);
            if (v < 0) {
                set_err(err, err_size, "line %zu: unexpected character '%c' in a hex dump", line,
                        (ch >= 0x20 && ch < 0x7f) ? ch : '?');
                rc = -EINVAL;
                goto fail;
            }
            if (half < 0) {
                half = v;
            } else {
                uint8_t b = (uint8_t)(half << 4 | v);
                if ((rc = push_bytes(&c, &b, 1)) < 0)
                    goto fail;
                half = -1;
            }
        }
        if (half >= 0 && i == len) {
            /* The unterminated last line ends inside a byte: the capture was
             * cut while it was written (Ctrl-C). Keep every line before it. */
            c.len = start_len;
            c.cut_line = line;
            break;
        }
        if (half >= 0) {
            set_err(err, err_size, "line %zu: odd number of hex digits", line);
            rc = -EINVAL;
            goto fail;
        }
        if (c.len > start_len && (rc = end_chunk(&c)) < 0)
            goto fail;
        if (i < len) /* the newline */
            i++;
        line++;
    }
    *out = c;
    return 0;
fail:
    if (rc == -ENOMEM)
        set_err(err, err_size, "out of memory");
    jk_capture_free(&c);
    return rc;
}

struct link {
    int used;
    uint16_t handle;
    int dir;          /* 1 = received by the host */
    uint8_t buf[L2CAP_MAX];
    size_t have, want; /* want = 4 + L2CAP length once known */
};

static struct link *link_for(struct link *links, uint16_t handle, int dir, int create)
{
    struct link *free_slot = NULL;
    for (int i = 0; i < MAX_LINKS; i++) {
        if (links[i].used && links[i].handle == handle && links[i].dir == dir)
            return &links[i];
        if (!links[i].used && free_slot == NULL)
            free_slot = &links[i];
    }
    if (!create)
        return NULL;
    if (free_slot == NULL)
        free_slot = &links[0]; /* too many links: reuse, losing a partial PDU */
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    free_slot->handle = handle;
    free_slot->dir = dir;
    return free_slot;
}

/* A complete L2CAP frame from the peer: keep ATT notifications/indications. */
static int l2cap_done(struct jk_capture *c, const struct link *l)
{
    uint16_t cid = get_le16(l->buf + 2);
    const uint8_t *att = l->buf + 4;
    size_t att_len = l->want - 4;
    int rc;

    if (!l->dir || cid != 4 || att_len <= 3)
        return 0; /* not from the peer, not ATT, or a notification with no value */
    if (att[0] != 0x1B && att[0] != 0x1D)
        return 0;
    if ((rc = push_bytes(c, att + 3, att_len - 3)) < 0)
        return rc;
    return end_chunk(c);
}

static int acl_packet(struct jk_capture *c, struct link *links, const uint8_t *p, size_t n,
                      int dir)
{
    struct jk_cursor cur;
    uint16_t hdr, len;
    const uint8_t *data;
    struct link *l;
    int pb;

    jk_cursor_init(&cur, p, n);
    hdr = jk_cursor_le16(&cur);
    len = jk_cursor_le16(&cur);
    data = jk_cursor_take(&cur, len);
    if (cur.bad)
        return 0; /* truncated packet: ignore it */
    pb = (hdr >> 12) & 3;
    if (pb == 1) { /* continuation */
        l = link_for(links, hdr & 0x0fffu, dir, 0);
        if (l == NULL || l->want == 0)
            return 0;
    } else {
        l = link_for(links, hdr & 0x0fffu, dir, 1);
        l->have = 0;
        l->want = 0;
    }
    if (len > L2CAP_MAX - l->have) {
        l->have = l->want = 0; /* oversized: drop this PDU */
        return 0;
    }
    memcpy(l->buf + l->have, data, len);
    l->have += len;
    if (l->want == 0 && l->have >= 4) {
        l->want = 4 + (size_t)get_le16(l->buf);
        if (l->want > L2CAP_MAX) {
            l->have = l->want = 0;
            return 0;
        }
    }
    if (l->want != 0 && l->have >= l->want) {
        int rc = l2cap_done(c, l);
        l->have = l->want = 0;
        return rc;
    }
    return 0;
}

static void event_packet(struct link *links, const uint8_t *p, size_t n)
{
    /* Disconnection Complete: 0x05, plen, status, handle(2), reason */
    if (n >= 6 && p[0] == 0x05) {
        uint16_t handle = get_le16(p + 3) & 0x0fffu;
        for (int i = 0; i < MAX_LINKS; i++)
            if (links[i].used && links[i].handle == handle)
                links[i].used = 0;
    }
}

int jk_capture_parse_btsnoop(const uint8_t *buf, size_t len, struct jk_capture *out, char *err,
                             size_t err_size)
{
    static const uint8_t magic[8] = {'b', 't', 's', 'n', 'o', 'o', 'p', 0};
    struct link *links;
    struct jk_capture c;
    struct jk_cursor cur;
    uint32_t version, datalink;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    jk_cursor_init(&cur, buf, len);
    {
        const uint8_t *m = jk_cursor_take(&cur, 8);
        if (m == NULL || memcmp(m, magic, 8) != 0) {
            set_err(err, err_size, "offset 0: not a btsnoop file");
            return -EINVAL;
        }
    }
    version = jk_cursor_be32(&cur);
    datalink = jk_cursor_be32(&cur);
    if (cur.bad || version != 1 || (datalink != 1001 && datalink != 1002)) {
        set_err(err, err_size, "offset 8: unsupported btsnoop version %u / datalink %u",
                (unsigned)version, (unsigned)datalink);
        return -EINVAL;
    }
    links = calloc(MAX_LINKS, sizeof(*links));
    if (links == NULL)
        return -ENOMEM;
    while (jk_cursor_left(&cur) > 0) {
        size_t at = cur.off;
        uint32_t orig = jk_cursor_be32(&cur), incl = jk_cursor_be32(&cur);
        uint32_t flags = jk_cursor_be32(&cur);
        const uint8_t *pkt;
        int dir;

        jk_cursor_take(&cur, 4 + 8); /* drops, timestamp */
        pkt = jk_cursor_take(&cur, incl);
        if (cur.bad) {
            /* A capture cut off mid-record (the phone stopped logging): keep
             * what came before it. */
            if (c.n == 0) {
                set_err(err, err_size, "offset %zu: truncated record", at);
                rc = -EINVAL;
            }
            break;
        }
        if (incl != orig || incl == 0)
            continue;
        dir = (int)(flags & 1u);
        if (datalink == 1002) {
            if (pkt[0] == 0x02)
                rc = acl_packet(&c, links, pkt + 1, incl - 1, dir);
            else if (pkt[0] == 0x04)
                event_packet(links, pkt + 1, incl - 1);
        } else if (flags & 2u) {
            if (dir)
                event_packet(links, pkt, incl);
        } else {
            rc = acl_packet(&c, links, pkt, incl, dir);
        }
        if (rc < 0)
            break;
    }
    free(links);
    if (rc < 0) {
        if (rc == -ENOMEM)
            set_err(err, err_size, "out of memory");
        jk_capture_free(&c);
        return rc;
    }
    *out = c;
    return 0;
}

int jk_capture_load(const char *path, struct jk_capture *out, char *err, size_t err_size)
{
    FILE *fp = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    char inner[256] = "";
    /* a FIFO or a device named as the capture is refused, not waited on */
    int rc = safe_fopen_read(path, 0, &fp, err, err_size);

    if (rc < 0)
        return rc;
    for (;;) {
        size_t got;
        if (len == cap) {
            uint8_t *grown;
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_CAPTURE + 1)
                cap = MAX_CAPTURE + 1;
            if (len == cap) {
                fclose(fp);
                free(buf);
                set_err(err, err_size, "%s: larger than %u MiB", path, MAX_CAPTURE >> 20);
                return -EFBIG;
            }
            grown = realloc(buf, cap);
            if (grown == NULL) {
                fclose(fp);
                free(buf);
                set_err(err, err_size, "%s: out of memory", path);
                return -ENOMEM;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        fclose(fp);
        free(buf);
        set_err(err, err_size, "%s: read error", path);
        return -EIO;
    }
    fclose(fp);
    if (len >= 8 && memcmp(buf, "btsnoop", 8) == 0)
        rc = jk_capture_parse_btsnoop(buf, len, out, inner, sizeof(inner));
    else
        rc = jk_capture_parse_hex((const char *)buf, len, out, inner, sizeof(inner));
    free(buf);
    if (rc < 0)
        set_err(err, err_size, "%s: %s", path, inner);
    return rc;
}

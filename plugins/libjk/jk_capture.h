/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Captures of what a JK BMS sent, as a list of notification payloads:
 * hex dumps (one notification per line) and btsnoop HCI logs (Android's HCI
 * snoop log, `btmon -w`), from which the ATT notifications are taken. */
#ifndef COLLECTORD_PLUGINS_LIBJK_JK_CAPTURE_H
#define COLLECTORD_PLUGINS_LIBJK_JK_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct jk_capture {
    uint8_t *data;   /* all payload bytes, back to back */
    size_t len, cap;
    size_t *ends;    /* chunk i is data[ends[i-1] .. ends[i]) */
    size_t n, ncap;
    size_t cut_line; /* hex: the unterminated last line, left out because it
                      * ends inside a byte (a capture cut short); 0 = none */
};

/* Parse a hex dump held in memory: per line, '#' starts a comment; bytes are
 * contiguous hex or separated by spaces, tabs, '.', ':', ',' or '-'; an
 * optional 0x prefix per byte. Each line with bytes is one chunk. A last
 * line with no newline that ends inside a byte is a capture cut short: it is
 * left out (out->cut_line says which) and every line before it is kept.
 * Errors: -EINVAL with "line N: ..." in err. */
int jk_capture_parse_hex(const char *text, size_t len, struct jk_capture *out, char *err,
                         size_t err_size);
/* Parse a btsnoop file held in memory (datalink 1001 or 1002): ACL reassembly
 * per connection and direction, ATT notifications and indications on CID 4.
 * Errors: -EINVAL with "offset N: ..." in err. */
int jk_capture_parse_btsnoop(const uint8_t *buf, size_t len, struct jk_capture *out, char *err,
                             size_t err_size);
/* Read `path` and parse it as btsnoop (by its magic) or hex. Errors name the
 * file: "<path>: line N: ...". */
int jk_capture_load(const char *path, struct jk_capture *out, char *err, size_t err_size);
void jk_capture_free(struct jk_capture *c);

/* Chunk i (borrowed from c). */
static inline const uint8_t *jk_capture_chunk(const struct jk_capture *c, size_t i, size_t *len)
{
    size_t start = i == 0 ? 0 : c->ends[i - 1];
    *len = c->ends[i] - start;
    return c->data + start;
}

#endif

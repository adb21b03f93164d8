/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the influxdb sink's line-protocol escaping. The input is cut at
 * NUL bytes into a measurement, a tag key, a tag value, a field key and a
 * string value; the point made of them is read back the way InfluxDB's
 * parser scans a line (a backslash takes the byte after it along), and must
 * have exactly its one measurement, its tag, its two fields, its timestamp
 * and one newline, at the end. Names without backslashes or line breaks,
 * and every string value, must read back unchanged. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/influxdb/line_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cursor {
    const char *p, *end;
};

/* One token up to an unescaped byte of `stops` (outside quotes when
 * `quotes`), copied unescaped into out (the escapes of `esc` are undone). */
static char scan(struct cursor *c, const char *stops, const char *esc, int quotes, char *out,
                 size_t cap)
{
    size_t n = 0;
    int quoted = 0;

    while (c->p < c->end) {
        char ch = *c->p;
        if (ch == '\\' && c->p + 1 < c->end) {
            char next = c->p[1];
            if (strchr(esc, next) == NULL && n + 1 < cap)
                out[n++] = '\\';
            if (n + 1 < cap)
                out[n++] = next;
            c->p += 2;
            continue;
        }
        if (quotes && ch == '"') {
            quoted = !quoted;
            if (n + 1 < cap)
                out[n++] = ch;
        } else if (!quoted && strchr(stops, ch) != NULL)
            break;
        else if (n + 1 < cap)
            out[n++] = ch;
        c->p++;
    }
    out[n] = '\0';
    return c->p < c->end ? *c->p++ : '\0';
}

static int plain(const char *s)
{
    return strpbrk(s, "\\\n\r") == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 5), *part[5];
    char *tok = NULL;
    struct lp_buf b = {0};
    struct lp_tag tag;
    struct cursor c;
    size_t k = 0;
    char sep;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    memset(copy + size, 0, 5);
    for (char *p = copy; k < 5; k++) {
        part[k] = p;
        p += strlen(p) + (p < copy + size ? 1 : 0);
    }
    if (part[0][0] == '\0' || part[0][0] == '#' || part[1][0] == '\0' || part[2][0] == '\0' ||
        part[3][0] == '\0' || strcmp(part[3], "n") == 0)
        goto out; /* the sink refuses these, or adds no such tag or field */
    tag = (struct lp_tag){part[1], part[2]};
    lp_begin(&b, part[0], &tag, 1);
    lp_field_string(&b, part[3], part[4]);
    lp_field_int(&b, "n", 7);
    if (lp_end(&b, 1234) != 0)
        goto out;
    if (b.len == 0 || b.data[b.len - 1] != '\n' || memchr(b.data, '\n', b.len - 1) != NULL)
        abort();
    tok = malloc(b.len + 1);
    if (tok == NULL)
        goto out;
    c = (struct cursor){b.data, b.data + b.len - 1};
    /* measurement, then one tag */
    if (scan(&c, ", ", ", ", 0, tok, b.len + 1) != ',' || (plain(part[0]) && strcmp(tok, part[0])))
        abort();
    if (scan(&c, "=", ",= ", 0, tok, b.len + 1) != '=' || (plain(part[1]) && strcmp(tok, part[1])))
        abort();
    if (scan(&c, ", ", ",= ", 0, tok, b.len + 1) != ' ' || (plain(part[2]) && strcmp(tok, part[2])))
        abort();
    /* the string field, read the way a quoted value is */
    if (scan(&c, "=", ",= ", 0, tok, b.len + 1) != '=' || (plain(part[3]) && strcmp(tok, part[3])))
        abort();
    if (c.p >= c.end || *c.p != '"')
        abort();
    sep = scan(&c, ", ", "\"\\", 1, tok, b.len + 1);
    if (sep != ',')
        abort();
    {
        size_t n = strlen(tok), want = strlen(part[4]);
        if (n != want + 2 || tok[0] != '"' || tok[n - 1] != '"')
            abort();
        for (size_t i = 0; i < want; i++) {
            char w = part[4][i] == '\n' || part[4][i] == '\r' ? ' ' : part[4][i];
            if (tok[i + 1] != w)
                abort();
        }
    }
    if (scan(&c, " ", "", 0, tok, b.len + 1) != ' ' || strcmp(tok, "n=7i") != 0)
        abort();
    if (scan(&c, " ", "", 0, tok, b.len + 1) != '\0' || strcmp(tok, "1234") != 0)
        abort();
out:
    free(tok);
    lp_buf_free(&b);
    free(copy);
    return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* InfluxDB line protocol, as text in a growable buffer. Pure: no I/O, no
 * logging, no clock. The escaping follows the line protocol reference
 * (docs.influxdata.com, "Line protocol reference", special characters):
 *
 *   measurement                      comma, space
 *   tag key, tag value, field key    comma, equals sign, space
 *   string field value               double quote, backslash (inside "...")
 *
 * Two things the protocol cannot say are made safe rather than sent broken:
 * a newline or carriage return (no escape exists for it) becomes a space, and
 * a backslash in a name that would otherwise escape the character after it (a
 * separator, or one of the characters above) is doubled, so the line keeps
 * its structure. InfluxDB then stores that backslash doubled.
 *
 *     struct lp_buf b = {0};
 *     struct lp_tag tags[] = {{"battery", "battery1"}, {"model", "JK_PB2A16S15P"}};
 *     lp_begin(&b, "battery", tags, 2);
 *     lp_field_double(&b, "battery_voltage", 51.689);
 *     lp_field_int(&b, "bms_soc", 52);
 *     lp_end(&b, 1700000000000);     // "... 1700000000000\n"
 *     if (b.failed) ...              // out of memory, sticky
 *     lp_buf_free(&b);
 */
#ifndef COLLECTORD_PLUGINS_INFLUXDB_LINE_PROTOCOL_H
#define COLLECTORD_PLUGINS_INFLUXDB_LINE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/* Text being built. Zero-initialised is empty. `failed` is sticky: once an
 * allocation failed, appends do nothing. */
struct lp_buf {
    char *data; /* NUL-terminated when len > 0; owned, freed by lp_buf_free */
    size_t len, cap;
    int failed;
    /* the point being written */
    size_t point_start; /* len when lp_begin was called */
    size_t fields;      /* fields written since lp_begin */
};

/* One tag; borrowed strings. */
struct lp_tag {
    const char *key;
    const char *value;
};

void lp_buf_free(struct lp_buf *b);
/* Forget the text, keep the memory. */
void lp_buf_reset(struct lp_buf *b);
/* Append raw bytes. */
void lp_append(struct lp_buf *b, const char *s, size_t n);

/* Escaped pieces. */
void lp_measurement(struct lp_buf *b, const char *name);
void lp_key(struct lp_buf *b, const char *key);      /* tag keys, tag values, field keys */
void lp_string(struct lp_buf *b, const char *value); /* with its quotes */

/* A point: the measurement and its tags. The tags are sorted by key in place
 * (InfluxDB's own order, which it says is faster to index); a tag with an
 * empty key or value is left out, as the protocol has no empty tag. */
void lp_begin(struct lp_buf *b, const char *measurement, struct lp_tag *tags, size_t ntags);
/* Fields of the point begun last. A non-finite double is left out. */
void lp_field_double(struct lp_buf *b, const char *key, double value);
void lp_field_int(struct lp_buf *b, const char *key, int64_t value);
void lp_field_bool(struct lp_buf *b, const char *key, int value);
void lp_field_string(struct lp_buf *b, const char *key, const char *value);
/* End the point with its timestamp (in the write's precision) and a newline.
 * Returns 0, or -ENODATA when the point has no field (nothing is kept of it:
 * the buffer is back where lp_begin found it) or -ENOMEM. */
int lp_end(struct lp_buf *b, int64_t timestamp);

/* The shortest decimal text that reads back as exactly `value` (at most 17
 * significant digits), locale-free; `out` gets at least 32 bytes. */
void lp_format_double(double value, char *out, size_t size);
/* `time_ns` in units of `precision` ("ns", "us", "ms" or "s"), rounded down;
 * -EINVAL for another precision. */
int lp_scale_time(int64_t time_ns, const char *precision, int64_t *out);
/* Percent-encode `s` for a URL query value (RFC 3986 unreserved kept). */
void lp_url_escape(struct lp_buf *b, const char *s);

#endif

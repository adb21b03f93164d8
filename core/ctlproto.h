/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctlproto: the control socket's line protocol, one JSON object per line.
 *   {"battery":"b1"}                                         -> switch states
 *   {"battery":"b1","switch":"charge","value":"off"[,"for":"30min"][,"force":true]}
 *                                                            -> the outcome
 * Answers are one JSON object per line too. */
#ifndef COLLECTORD_CORE_CTLPROTO_H
#define COLLECTORD_CORE_CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CTL_LINE_MAX 1024 /* a request longer than this is refused */
#define CTL_REQ_MAX (CTL_LINE_MAX + 2)

struct ctl_request {
    char battery[64];
    char sw[32];        /* "" for a status request */
    char value[8];      /* "on" or "off" */
    int64_t duration_ms; /* 0: none */
    int force;
};

/* "30min", "90s", "2h", "1h30m", "45" (seconds) -> ms, at most 7 days; -EINVAL. */
int ctl_parse_duration(const char *s, int64_t *ms);

/* Parse one request line (`len` bytes, no NUL needed). 0, or -EINVAL with
 * one line in `err`. Never trusts a length or a type. */
int ctl_parse_request(const char *line, size_t len, struct ctl_request *req, char *err,
                      size_t errsize);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the switch read-back path. Arbitrary notification bytes in
 * arbitrary chunk sizes go into a JK stream as they would after a write:
 * the acknowledgement is looked for (also behind "AT\r\n"), the settings
 * frame's switch flags and the cell info's MOSFETs are read with every
 * variant, and each switch and value is judged confirmed or not; the same
 * bytes also as a Modbus echo. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plugins/libjk/jk_control.h"
#include "plugins/libjk/jk_decode.h"
#include "plugins/libjk/jk_frame.h"
#include "plugins/libjk/jk_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the read-back of every switch and value would say now. */
static void judge(const struct jk_stream *s, const struct jk_cell_info *ci, int has_ci)
{
    int flags[JK_SWITCH_COUNT];
    char detail[160];

    if (jk_stream_switches(s, flags) < 0)
        return;
    for (int sw = 0; sw < JK_SWITCH_COUNT; sw++) {
        struct jk_switch_state st = {flags[sw], -1};
        if (has_ci)
            st.mosfet = sw == JK_SWITCH_CHARGE      ? ci->charging
                        : sw == JK_SWITCH_DISCHARGE ? ci->discharging
                                                    : -1;
        for (int on = 0; on <= 1; on++)
            (void)jk_switch_confirmed(sw, on, &st, detail, sizeof(detail));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jk_stream s;
    struct jk_cell_info ci;
    uint8_t echo[JK_MB_ECHO_LEN];
    size_t chunk, off = 2;
    int has_ci = 0, flags[JK_SWITCH_COUNT];

    if (size < 2)
        return 0;
    chunk = (size_t)data[0] % 64 + 1;       /* the first byte: the chunk size */
    jk_stream_init(&s, data[1] % 4);        /* the second: the variant (or auto) */
    for (size_t i = 2; i < size; i++)
        (void)jk_is_ack(data + i, size - i);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        unsigned long acks = s.as.acks;
        jk_stream_feed(&s, data + off, n);
        if (s.as.acks > acks || s.has_settings_frame) {
            if (s.has_cell_frame)
                has_ci = jk_stream_take_cell_info(&s, &ci) == 0;
            judge(&s, &ci, has_ci);
        }
        off += n;
    }
    for (int p = JK_PROTO_AUTO; p <= JK_PROTO_UART; p++)
        if (size >= 2 + JK_FRAME_LEN)
            (void)jk_settings_switches(data + 2, p, flags);
    /* a Modbus answer compared with the echo of each switch */
    for (int sw = 0; sw < JK_SWITCH_COUNT; sw++)
        if (jk_modbus_switch_echo(data[1] % 16 + 1, sw, echo) == 0 && size >= JK_MB_ECHO_LEN)
            (void)memcmp(echo, data, JK_MB_ECHO_LEN);
    return 0;
}

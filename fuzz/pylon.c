/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the Pylontech RS485 request decoder on arbitrary text, a
 * decoded frame re-encoded and decoded again (it must come back the same),
 * and every reply builder over a pack made of the input's bytes. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/libpylon/pylon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void builders(const uint8_t *data, size_t size)
{
    struct pylon_pack p[2];
    struct pylon_limits l;
    struct pylon_identity id = {.battery_name = "JK-BMS", .manufacturer = "PYLON"};
    struct pylon_can_frame f[PYLON_CAN_FRAMES];
    uint8_t out[PYLON_INFO_MAX], wire[PYLON_CAN_WIRE];
    size_t cap;

    memset(p, 0, sizeof(p));
    memcpy(p, data, size < sizeof(p) ? size : sizeof(p));
    memset(&l, 0, sizeof(l));
    if (size > sizeof(p))
        memcpy(&l, data + sizeof(p),
               size - sizeof(p) < sizeof(l) ? size - sizeof(p) : sizeof(l));
    for (int i = 0; i < 2; i++) {
        p[i].serial[16] = '\0';
        p[i].ncells %= PYLON_CELLS_MAX + 1;
        p[i].ntemps %= PYLON_TEMPS_MAX + 1;
    }
    /* every size of output buffer, the short ones too */
    cap = size % (sizeof(out) + 1);
    pylon_info_analog(&p[0], 2, out, cap);
    pylon_info_analog_group(p, 2, out, cap);
    pylon_info_alarm(&p[0], 2, out, cap);
    pylon_info_alarm_group(p, 2, out, cap);
    pylon_info_management(&l, 2, 1, out, cap);
    pylon_info_serial(&p[0], 2, out, cap);
    pylon_info_maker(&id, out, cap);
    pylon_info_software(&id, 2, out, cap);
    pylon_info_sys_analog(&p[0], p, 2, out, cap);
    pylon_info_sys_alarm(&p[0], out, cap);
    pylon_info_sys_management(&l, out, cap);
    pylon_can_frames(&p[0], &l, 2, "PYLON", f);
    pylon_can_pack(&f[0], wire);
    pylon_can_unpack(data, size, &f[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pylon_frame a, b;
    char text[PYLON_FRAME_MAX];
    size_t n;

    if (pylon_frame_decode((const char *)data, size, &a) == 0) {
        n = pylon_frame_encode(a.ver, a.adr, a.cid1, a.cid2, a.info, a.info_len, text,
                               sizeof(text));
        if (n < 2 || pylon_frame_decode(text + 1, n - 2, &b) != 0 || b.info_len != a.info_len ||
            memcmp(a.info, b.info, a.info_len) != 0 || b.cid2 != a.cid2 || b.adr != a.adr)
            abort();
    }
    builders(data, size);
    return 0;
}

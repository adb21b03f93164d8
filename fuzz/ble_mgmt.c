/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the kernel's management events (Device Found with its
 * advertising data, Command Complete with a controller index list or a
 * controller's settings). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libble/adv.h"
#include "plugins/libble/mgmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mgmt_event ev;
    uint16_t idx[8];
    char name[32] = "";
    int ffe0 = 0;

    if (mgmt_parse(data, size, &ev) < 0)
        return 0;
    if (ev.code == MGMT_EV_DEVICE_FOUND &&
        adv_parse_data(ev.eir, ev.eir_len, name, sizeof(name), &ffe0) == 0)
        (void)adv_is_jk(name, ffe0);
    if (ev.code == MGMT_EV_CMD_COMPLETE) {
        uint32_t supported, current;
        (void)mgmt_index_list(ev.rparam, ev.rparam_len, idx, 8);
        if (mgmt_controller_settings(ev.rparam, ev.rparam_len, &supported, &current) == 0)
            (void)mgmt_controller_unfit(supported, current);
    }
    (void)mgmt_status_str(ev.status);
    return 0;
}

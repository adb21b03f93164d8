/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "plugins/libjkwire/jk_wire_switch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Write, check the echo, read the flag and (charge, discharge) the MOSFETs. */
static int write_and_read(struct jk_wire *w, int sw, int on, uint8_t flag[4], uint8_t mos[2])
{
    uint8_t req[JK_MB_WRITE_LEN], echo[JK_MB_ECHO_LEN], got[JK_MB_ECHO_LEN];
    struct jk_switch_state st;
    int rc;

    jk_modbus_switch_frame(w->slave, sw, on, req);
    jk_modbus_switch_echo(w->slave, sw, echo);
    rc = jk_wire_command(w, req, sizeof(req), got, sizeof(got));
    if (rc == 0 && memcmp(got, echo, sizeof(echo)) != 0) {
        snprintf(w->error, sizeof(w->error),
                 "slave %d on %s answered the write of register 0x%04X with another echo",
                 w->slave, w->device, (unsigned)JK_MB_SWITCH_REG(sw));
        rc = -EBADMSG;
    }
    if (rc == 0)
        rc = jk_wire_read_registers(w, JK_MB_SWITCH_REG(sw), 2, flag);
    for (int i = 0; rc == 0 && sw != JK_SWITCH_BALANCER && i < JK_WIRE_MOSFET_READS; i++) {
        rc = jk_wire_read_registers(w, JK_MB_MOSFET_REG, 1, mos);
        jk_modbus_switch_state(sw, flag, mos, &st);
        if (st.flag != on || st.mosfet == on)
            break;
    }
    return rc;
}

int jk_wire_set_switch(struct jk_wire *w, int sw, int on, struct jk_switch_result *out)
{
    uint8_t flag[4], mos[2];
    int rc;

    memset(out, 0, sizeof(*out));
    out->state.flag = out->state.mosfet = -1;
    if (w->protocol != JK_WIRE_MODBUS) {
        snprintf(w->error, sizeof(w->error),
                 "%s: switches are written over Modbus (JK-PB) only, not the 0x4E57 UART link",
                 w->device);
        return -EOPNOTSUPP;
    }
    if (sw < 0 || sw >= JK_SWITCH_COUNT || w->slave < 1) {
        snprintf(w->error, sizeof(w->error), "%s: slave %d cannot be written (address 0 is the "
                 "master pack, which answers nobody)", w->device, w->slave);
        return -EINVAL;
    }
    if ((rc = jk_wire_hold_bus(w)) < 0)
        return rc;
    rc = write_and_read(w, sw, on, flag, mos);
    jk_wire_release_bus(w);
    if (rc < 0)
        return rc;
    jk_modbus_switch_state(sw, flag, sw != JK_SWITCH_BALANCER ? mos : NULL, &out->state);
    out->confirmed = jk_switch_confirmed(sw, on, &out->state, out->detail, sizeof(out->detail));
    return 0;
}

int jk_wire_read_switches(struct jk_wire *w, int flags[JK_SWITCH_COUNT])
{
    uint8_t regs[4 * JK_SWITCH_COUNT];
    struct jk_switch_state st;
    int rc;

    if (w->protocol != JK_WIRE_MODBUS || w->slave < 1)
        return -EOPNOTSUPP;
    if ((rc = jk_wire_hold_bus(w)) < 0)
        return rc;
    rc = jk_wire_read_registers(w, JK_MB_SWITCH_REG(0), 2 * JK_SWITCH_COUNT, regs);
    jk_wire_release_bus(w);
    for (int i = 0; rc == 0 && i < JK_SWITCH_COUNT; i++) {
        jk_modbus_switch_state(i, regs + 4 * i, NULL, &st);
        flags[i] = st.flag;
    }
    return rc;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer: the ATT PDU parser, on whatever a peer might send. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "plugins/libble/att.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct att_pdu p;
    size_t sum = 0;

    if (att_parse(data, size, &p) == 0) {
        /* touch everything the parser claims is there */
        for (size_t i = 0; i < p.value_len; i++)
            sum += p.value[i];
        for (size_t i = 0; i < p.nitems; i++)
            sum += p.item[i].a + p.item[i].b;
    }
    return sum == 0xdeadbeef;
}

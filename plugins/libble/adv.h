/* LE advertising: HCI LE Advertising Report events (legacy 0x02 and extended
 * 0x0D) and the AD structures inside them. Pure functions over bytes as the
 * controller sends them. */
#ifndef COLLECTORD_PLUGINS_LIBBLE_ADV_H
#define COLLECTORD_PLUGINS_LIBBLE_ADV_H

#include <stddef.h>
#include <stdint.h>

#define ADV_MAX_REPORTS 16

struct adv_report {
    char address[18];    /* AA:BB:CC:DD:EE:FF */
    uint8_t address_type; /* HCI: 0 public, 1 random */
    uint8_t event_type;
    int8_t rssi;          /* 127 = unknown */
    const uint8_t *data;  /* AD structures, borrowed from the event */
    size_t data_len;
};

/* Parse one HCI event packet (starting with the event code 0x3E, without the
 * H4 0x04 byte). Returns the number of reports (0 for another event) or
 * -EBADMSG; reports beyond ADV_MAX_REPORTS are ignored. */
int adv_parse_event(const uint8_t *pkt, size_t len, struct adv_report *out, size_t cap);

/* From AD data: the (complete or shortened) local name, and whether the
 * 16-bit service UUID FFE0 is listed. 0, or -EBADMSG when malformed. */
int adv_parse_data(const uint8_t *data, size_t len, char *name, size_t name_cap,
                   int *has_ffe0);

/* 1 if a device with this name / service looks like a JK BMS. */
int adv_is_jk(const char *name, int has_ffe0);

#endif

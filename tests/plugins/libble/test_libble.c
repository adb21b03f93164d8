/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libble: the kernel's management packets (discovery), AD structures, ATT
 * PDUs, and the GATT client's and transport's behaviour over a socketpair. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugins/libble/adv.h"
#include "plugins/libble/att.h"
#include "plugins/libble/gatt.h"
#include "plugins/libble/mgmt.h"
#include "plugins/libble/transport.h"

/* Device Found (mgmt 0x0012) on hci0: C8:47:8C:12:34:56, LE public, RSSI
 * -60, flags 0, advertising data: flags and the 16-bit service FFE0. */
static const uint8_t device_found[] = {
    0x12, 0x00, 0x00, 0x00, 0x15, 0x00,                   /* header, 21 parameter bytes */
    0x56, 0x34, 0x12, 0x8C, 0x47, 0xC8, 0x01, 0xC4,       /* address, type, RSSI */
    0x00, 0x00, 0x00, 0x00, 0x07, 0x00,                   /* flags, EIR length */
    0x02, 0x01, 0x06, 0x03, 0x03, 0xE0, 0xFF,             /* AD structures */
};

static void mgmt_device_found(void **state)
{
    struct mgmt_event ev;
    char name[32] = "";
    int ffe0 = 0;
    (void)state;

    assert_int_equal(mgmt_parse(device_found, sizeof(device_found), &ev), 0);
    assert_int_equal(ev.code, MGMT_EV_DEVICE_FOUND);
    assert_int_equal(ev.index, 0);
    assert_string_equal(ev.address, "C8:47:8C:12:34:56");
    assert_int_equal(ev.address_type, 1);
    assert_int_equal(ev.rssi, -60);
    assert_int_equal(ev.eir_len, 7);
    assert_int_equal(adv_parse_data(ev.eir, ev.eir_len, name, sizeof(name), &ffe0), 0);
    assert_int_equal(ffe0, 1);
    assert_string_equal(name, "");
    assert_true(adv_is_jk(name, ffe0)); /* renamed, but it offers FFE0 */
    assert_true(adv_is_jk("JK_B2A8S20P", 0));
    assert_false(adv_is_jk("Flower care", 0));
}

static void mgmt_lengths_are_never_trusted(void **state)
{
    uint8_t bad[sizeof(device_found) + 1];
    struct mgmt_event ev;
    (void)state;

    for (size_t n = 0; n < sizeof(device_found); n++) {
        int rc = mgmt_parse(device_found, n, &ev);
        if (rc != -EBADMSG)
            fail_msg("%zu bytes: %d", n, rc);
    }
    /* an EIR length running past the event, and one short of it */
    memcpy(bad, device_found, sizeof(device_found));
    bad[18] = 0x08;
    assert_int_equal(mgmt_parse(bad, sizeof(device_found), &ev), -EBADMSG);
    bad[18] = 0x06;
    assert_int_equal(mgmt_parse(bad, sizeof(device_found), &ev), -EBADMSG);
    /* a parameter length that does not match what arrived */
    memcpy(bad, device_found, sizeof(device_found));
    bad[sizeof(device_found)] = 0;
    assert_int_equal(mgmt_parse(bad, sizeof(bad), &ev), -EBADMSG);
}

static void mgmt_commands_and_replies(void **state)
{
    /* Command Complete for Read Controller Index List: hci0 and hci2 */
    static const uint8_t list[] = {0x01, 0x00, 0xFF, 0xFF, 0x09, 0x00, 0x03, 0x00,
                                   0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00};
    /* Command Status for Start Discovery on hci0: Permission Denied */
    static const uint8_t denied[] = {0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x23, 0x00, 0x14};
    static const uint8_t discovering[] = {0x13, 0x00, 0x01, 0x00, 0x02, 0x00, 0x06, 0x00};
    static const uint8_t le = MGMT_DISCOVERY_LE;
    struct mgmt_event ev;
    uint16_t idx[4];
    uint8_t b[16];
    (void)state;

    assert_int_equal(mgmt_parse(list, sizeof(list), &ev), 0);
    assert_int_equal(ev.cmd, MGMT_OP_READ_INDEX_LIST);
    assert_int_equal(ev.status, 0);
    assert_int_equal(mgmt_index_list(ev.rparam, ev.rparam_len, idx, 4), 2);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 2);
    assert_int_equal(mgmt_index_list(ev.rparam, ev.rparam_len - 1, idx, 4), -EBADMSG);
    assert_int_equal(mgmt_parse(denied, sizeof(denied), &ev), 0);
    assert_int_equal(ev.code, MGMT_EV_CMD_STATUS);
    assert_int_equal(ev.cmd, MGMT_OP_START_DISCOVERY);
    assert_int_equal(ev.status, MGMT_STATUS_PERMISSION_DENIED);
    assert_string_equal(mgmt_status_str(ev.status), "Permission Denied");
    assert_string_equal(mgmt_status_str(0xEE), "unknown status");
    assert_int_equal(mgmt_parse(discovering, sizeof(discovering), &ev), 0);
    assert_int_equal(ev.index, 1);
    assert_int_equal(ev.discovery_type, 6);
    assert_int_equal(ev.discovering, 0);
    /* Start Discovery on hci1 for LE public and random */
    assert_int_equal(mgmt_build(b, sizeof(b), MGMT_OP_START_DISCOVERY, 1, &le, 1), 7);
    assert_memory_equal(b, ((const uint8_t[]){0x23, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06}), 7);
    assert_int_equal(mgmt_build(b, 6, MGMT_OP_START_DISCOVERY, 1, &le, 1), -ENOSPC);
}

static void short_name_kept_until_a_complete_one(void **state)
{
    /* flags, shortened name "JK-B", then in another AD structure the complete name */
    static const uint8_t data[] = {0x02, 0x01, 0x06, 0x05, 0x08, 'J', 'K', '-', 'B',
                                   0x0A, 0x09, 'J', 'K', '-', 'B', '2', 'A', '2', '4', 'S'};
    static const uint8_t overrun[] = {0x02, 0x01, 0x06, 0x09, 0x09, 'J', 'K'};
    char name[32] = "";
    int ffe0 = 0;
    (void)state;
    assert_int_equal(adv_parse_data(data, 9, name, sizeof(name), &ffe0), 0);
    assert_string_equal(name, "JK-B");
    assert_int_equal(adv_parse_data(data, sizeof(data), name, sizeof(name), &ffe0), 0);
    assert_string_equal(name, "JK-B2A24S");
    assert_int_equal(adv_parse_data(overrun, sizeof(overrun), name, sizeof(name), &ffe0), -EBADMSG);
    {
        /* issue 27 point 14: a malformed structure after the name and the
         * service list ends the parse; what came before it is kept */
        static const uint8_t tail[] = {0x02, 0x01, 0x06, 0x05, 0x09, 'J', 'K', '-', 'B',
                                       0x03, 0x03, 0xE0, 0xFF, 0x1F, 0xFF, 0x65, 0x0B};
        name[0] = '\0';
        ffe0 = 0;
        assert_int_equal(adv_parse_data(tail, sizeof(tail), name, sizeof(name), &ffe0), -EBADMSG);
        assert_string_equal(name, "JK-B");
        assert_int_equal(ffe0, 1);
    }
    {
        /* a 16-bit UUID list with an odd byte at the very end of the data:
         * the last UUID is incomplete and must not be read past the end */
        static const uint8_t odd[] = {0x04, 0x03, 0x0D, 0x18, 0xE0};
        uint8_t *heap = malloc(sizeof(odd)); /* ASan sees an overread here */
        assert_non_null(heap);
        memcpy(heap, odd, sizeof(odd));
        ffe0 = 0;
        assert_int_equal(adv_parse_data(heap, sizeof(odd), name, sizeof(name), &ffe0), 0);
        assert_int_equal(ffe0, 0);
        free(heap);
    }
}

/* issue 27 point 14: JK devices by the documented name prefixes and the
 * FFE0 service (16- or 128-bit), not by "JK" anywhere in the name. */
static void jk_devices_by_prefix_and_service(void **state)
{
    /* 128-bit service UUID list: 0000FFE0-0000-1000-8000-00805F9B34FB */
    static const uint8_t uuid128[] = {0x11, 0x07, 0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00,
                                      0x00, 0x80, 0x00, 0x10, 0x00, 0x00, 0xE0, 0xFF,
                                      0x00, 0x00};
    char name[32] = "";
    int ffe0 = 0;
    (void)state;

    assert_true(adv_is_jk("JK-B2A24S15P", 0));
    assert_true(adv_is_jk("JK_PB2A16S15P", 0));
    assert_true(adv_is_jk("JKBMS-Heating", 1));
    assert_false(adv_is_jk("JKBMS-Heating", 0));
    assert_false(adv_is_jk("Ajkit lamp", 0));
    assert_false(adv_is_jk("MY-JK-PACK", 0));
    assert_false(adv_is_jk("jk-b2a24s", 0));
    assert_false(adv_is_jk("", 0));
    assert_int_equal(adv_parse_data(uuid128, sizeof(uuid128), name, sizeof(name), &ffe0), 0);
    assert_int_equal(ffe0, 1);
}

/* issue 27 point 8: a controller's state from Read Controller Information */
static void controller_state_from_its_settings(void **state)
{
    uint8_t info[MGMT_READ_INFO_LEN];
    uint32_t supported = 0, current = 0;
    (void)state;

    memset(info, 0, sizeof(info));
    info[9] = 0x81;  /* supported: powered, BR/EDR */
    info[10] = 0x02; /* and LE */
    info[13] = 0x80; /* current: BR/EDR on, LE off, powered off */
    assert_int_equal(mgmt_controller_settings(info, sizeof(info), &supported, &current), 0);
    assert_int_equal(supported, MGMT_SETTING_POWERED | MGMT_SETTING_BREDR | MGMT_SETTING_LE);
    assert_int_equal(current, MGMT_SETTING_BREDR);
    assert_int_equal(mgmt_controller_settings(info, 16, &supported, &current), -EBADMSG);
    assert_string_equal(mgmt_controller_unfit(supported, current), "powered off");
    assert_string_equal(mgmt_controller_unfit(supported, current | MGMT_SETTING_POWERED),
                        "LE switched off");
    assert_string_equal(mgmt_controller_unfit(MGMT_SETTING_POWERED | MGMT_SETTING_BREDR,
                                              MGMT_SETTING_POWERED | MGMT_SETTING_BREDR),
                        "BR/EDR only (no LE)");
    assert_null(mgmt_controller_unfit(supported, MGMT_SETTING_POWERED | MGMT_SETTING_LE));
}

static void att_discovery_responses(void **state)
{
    /* Read By Type response: two characteristic declarations (FFE1 write-only
     * at 0x0003, FFE1 notify at 0x0005, the second as a 128-bit UUID) */
    static const uint8_t rbt16[] = {0x09, 0x07, 0x02, 0x00, 0x0C, 0x03, 0x00, 0xE1, 0xFF,
                                    0x04, 0x00, 0x12, 0x05, 0x00, 0xE1, 0xFF};
    static const uint8_t rbt128[] = {0x09, 0x15, 0x04, 0x00, 0x12, 0x05, 0x00,
                                     0xfb, 0x34, 0x9b, 0x5f, 0x80, 0x00, 0x00, 0x80,
                                     0x00, 0x10, 0x00, 0x00, 0xE1, 0xFF, 0x00, 0x00};
    static const uint8_t info[] = {0x05, 0x01, 0x05, 0x00, 0xE1, 0xFF, 0x06, 0x00, 0x02, 0x29};
    struct att_pdu p;
    (void)state;

    assert_int_equal(att_parse(rbt16, sizeof(rbt16), &p), 0);
    assert_int_equal(p.nitems, 2);
    assert_int_equal(p.item[1].b, 0x0005);
    assert_int_equal(p.item[1].props, 0x12);
    assert_int_equal(p.item[1].uuid16, 0xFFE1);
    assert_int_equal(att_parse(rbt128, sizeof(rbt128), &p), 0);
    assert_int_equal(p.item[0].uuid16, 0xFFE1);
    assert_int_equal(att_parse(info, sizeof(info), &p), 0);
    assert_int_equal(p.item[1].a, 6);
    assert_int_equal(p.item[1].uuid16, 0x2902);
    /* every truncation of them is refused */
    for (size_t n = 1; n < sizeof(rbt16); n++)
        if (n != 9 && att_parse(rbt16, n, &p) == 0 && p.nitems != 1)
            fail_msg("truncated at %zu accepted with %zu items", n, p.nitems);
    assert_int_equal(att_parse(rbt16, 5, &p), -EBADMSG);
    assert_int_equal(att_parse(info, 3, &p), -EBADMSG);
    {
        static const uint8_t bad_len[] = {0x09, 0x03, 0x01, 0x02, 0x03};
        assert_int_equal(att_parse(bad_len, sizeof(bad_len), &p), -EBADMSG);
    }
}

/* Read By Group Type responses (issue 27 point 12): GAP 0x0001-0x000D and
 * FFE0 0x000E-0x0013 with 16-bit UUIDs; FFE0 as a 128-bit UUID; an entry
 * length no service has; every truncation refused. */
static void att_read_by_group_responses(void **state)
{
    static const uint8_t grp[] = {0x11, 0x06, 0x01, 0x00, 0x0D, 0x00, 0x00, 0x18,
                                  0x0E, 0x00, 0x13, 0x00, 0xE0, 0xFF};
    static const uint8_t grp128[] = {0x11, 0x14, 0x0E, 0x00, 0x13, 0x00, 0xfb, 0x34,
                                     0x9b, 0x5f, 0x80, 0x00, 0x00, 0x80, 0x00, 0x10,
                                     0x00, 0x00, 0xE0, 0xFF, 0x00, 0x00};
    static const uint8_t grp_bad[] = {0x11, 0x07, 0x01, 0x00, 0x0D, 0x00, 0x00, 0x18, 0x00};
    static const struct {
        const uint8_t *pdu;
        size_t len, items;
        uint16_t last_a, last_b, last_uuid;
    } want[] = {
        {grp, sizeof(grp), 2, 0x000E, 0x0013, 0xFFE0},
        {grp128, sizeof(grp128), 1, 0x000E, 0x0013, 0xFFE0},
    };
    struct att_pdu p;
    (void)state;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (att_parse(want[i].pdu, want[i].len, &p) != 0 || p.nitems != want[i].items ||
            p.item[p.nitems - 1].a != want[i].last_a || p.item[p.nitems - 1].b != want[i].last_b ||
            p.item[p.nitems - 1].uuid16 != want[i].last_uuid)
            fail_msg("response %zu misread", i);
        for (size_t n = 1; n < want[i].len; n++)
            if (n != 8 && att_parse(want[i].pdu, n, &p) != -EBADMSG)
                fail_msg("response %zu cut at %zu accepted", i, n);
    }
    assert_int_equal(att_parse(grp_bad, sizeof(grp_bad), &p), -EBADMSG);
}

static void att_builders(void **state)
{
    uint8_t b[32];
    static const uint8_t v[2] = {1, 0};
    (void)state;
    assert_int_equal(att_build_find_by_type_req(b, sizeof(b), 1, 0xffff, 0x2800, 0xFFE0), 9);
    assert_int_equal(b[0], 0x06);
    assert_int_equal(b[7], 0xE0);
    assert_int_equal(b[8], 0xFF);
    assert_int_equal(att_build_write(b, sizeof(b), ATT_OP_WRITE_REQ, 0x0013, v, 2), 5);
    assert_memory_equal(b, ((const uint8_t[]){0x12, 0x13, 0x00, 0x01, 0x00}), 5);
    assert_int_equal(att_build_write(b, 4, ATT_OP_WRITE_CMD, 1, v, 2), -ENOSPC);
    assert_int_equal(att_build_mtu_req(b, 2, 247), -ENOSPC);
    assert_true(att_is_request(ATT_OP_MTU_REQ));
    assert_false(att_is_request(ATT_OP_NOTIFICATION));
}

/* A connected pair: [0] for the client, [1] plays the peer. */
static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
}

static void unknown_requests_get_request_not_supported(void **state)
{
    /* 0x30 is no opcode ATT defines, and bit 6 is clear: a request. 0x70
     * has bit 6 set: a command, never answered. */
    static const uint8_t unknown[] = {0x30, 0x01, 0x00}, cmd[] = {0x70, 0x01, 0x00};
    struct gatt_client c;
    uint8_t got[16];
    int sv[2];
    (void)state;

    pair(sv);
    gatt_init(&c, sv[0], -1, NULL, NULL);
    assert_int_equal(send(sv[1], cmd, sizeof(cmd), 0), 3);
    assert_int_equal(send(sv[1], unknown, sizeof(unknown), 0), 3);
    assert_int_equal(gatt_pump(&c, gatt_now_ms() + 100, NULL), 0);
    assert_int_equal(recv(sv[1], got, sizeof(got), 0), 5);
    assert_memory_equal(got, ((const uint8_t[]){0x01, 0x30, 0x00, 0x00, 0x06}), 5);
    assert_int_equal(recv(sv[1], got, sizeof(got), 0), -1); /* nothing for the command */
    assert_true(att_is_request(0x0A));
    assert_false(att_is_request(0x52));
    assert_false(att_is_request(ATT_OP_MTU_RSP));
    close(sv[0]);
    close(sv[1]);
}

static void requested_mtu_is_the_answered_mtu(void **state)
{
    /* the JK opens with its own MTU request (131), then answers ours */
    static const uint8_t peer_req[] = {0x02, 0x83, 0x00}, peer_rsp[] = {0x03, 0x83, 0x00};
    struct gatt_client c;
    uint8_t ours[8], answer[8];
    int sv[2];
    (void)state;

    pair(sv);
    gatt_init(&c, sv[0], -1, NULL, NULL);
    assert_int_equal(send(sv[1], peer_req, 3, 0), 3);
    assert_int_equal(send(sv[1], peer_rsp, 3, 0), 3);
    assert_int_equal(gatt_exchange_mtu(&c, gatt_now_ms() + 1000), 0);
    assert_int_equal(recv(sv[1], ours, sizeof(ours), 0), 3);
    assert_int_equal(recv(sv[1], answer, sizeof(answer), 0), 3);
    assert_int_equal(ours[0], ATT_OP_MTU_REQ);
    assert_int_equal(answer[0], ATT_OP_MTU_RSP);
    assert_memory_equal(ours + 1, answer + 1, 2);
    assert_int_equal(c.mtu, 131);
    close(sv[0]);
    close(sv[1]);
}

static void hangup_without_error_is_no_connection(void **state)
{
    int sv[2];
    (void)state;

    pair(sv);
    assert_int_equal(ble_wait_connected(sv[0], 1000, -1), 0); /* up: writable, no error */
    close(sv[1]);                                            /* POLLHUP, SO_ERROR 0 */
    assert_int_equal(ble_wait_connected(sv[0], 1000, -1), -ECONNRESET);
    close(sv[0]);
}

/* What the kernel returns from connect() (bt_to_errno() of the HCI status,
 * or l2cap_chan_connect's own codes) and what the user must read. */
static void kernel_codes_say_what_to_do(void **state)
{
    static const struct {
        int err;
        const char *source, *says;
    } table[] = {
        {EHOSTUNREACH, "hci_get_route: no adapter up", "rfkill list"},
        {EHOSTUNREACH, "adapter powered off", "bluetoothctl power on"},
        {ENETDOWN, "adapter down", "bluetoothctl power on"},
        {ENOSYS, "HCI 0x3E connection failed to be established", "HCI 0x3E"},
        {ENOSYS, "HCI 0x3E", "the next poll retries"},
        {ECONNREFUSED, "LE not enabled (hci_connect_le)", "btmgmt le on"},
        {EBUSY, "ATT channel exists (l2cap_chan_connect)", "bluetoothctl disconnect"},
        {EBUSY, "HCI 0x0C command disallowed", "phone app"},
        {ETIMEDOUT, "HCI 0x08 / our deadline", "out of range"},
        {EHOSTDOWN, "HCI 0x04 page timeout", "out of range"},
        {ERFKILL, "mgmt RFKilled", "rfkill unblock bluetooth"},
        {EPERM, "mgmt Permission Denied", "CAP_NET_ADMIN"},
        {EAFNOSUPPORT, "no AF_BLUETOOTH", "host networking"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strstr(ble_errno_hint(table[i].err), table[i].says) == NULL)
            fail_msg("%s (%s): \"%s\" lacks \"%s\"", strerror(table[i].err), table[i].source,
                     ble_errno_hint(table[i].err), table[i].says);
}

/* issue 27 point 9: hci_devid("hciN") / hci_devba() set ENETDOWN for an
 * adapter that is down (BlueZ lib/hci.c): not "no such adapter". */
static void adapter_down_is_not_missing(void **state)
{
    (void)state;
    assert_int_equal(ble_adapter_errno(ENETDOWN), ENETDOWN);
    assert_int_equal(ble_adapter_errno(EAFNOSUPPORT), EAFNOSUPPORT);
    assert_int_equal(ble_adapter_errno(ENODEV), ENODEV); /* HCIGETDEVINFO: no such index */
    assert_int_equal(ble_adapter_errno(0), ENODEV);
    assert_non_null(strstr(ble_errno_hint(ble_adapter_errno(ENETDOWN)), "adapter is down"));
    assert_non_null(strstr(ble_errno_hint(ble_adapter_errno(ENETDOWN)), "bluetoothctl power on"));
    assert_null(strstr(ble_errno_hint(ble_adapter_errno(ENETDOWN)), "no such"));
}

/* issue 27 point 10: on a connect, EACCES (HCI 0x05, 0x18) and EBADE (0x06)
 * are an authentication failure, a stale bond, never a missing capability. */
static void connect_eacces_is_a_stale_bond(void **state)
{
    static const int codes[] = {EACCES, EBADE};
    char line[400];
    (void)state;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        ble_connect_error(line, sizeof(line), "C8:47:8C:00:00:01", BLE_ADDR_RANDOM, codes[i]);
        if (strstr(line, "bluetoothctl remove C8:47:8C:00:00:01") == NULL ||
            strstr(line, "CAP_NET_ADMIN") != NULL || strstr(line, "(random address)") == NULL)
            fail_msg("%s: \"%s\"", strerror(codes[i]), line);
    }
    ble_connect_error(line, sizeof(line), "C8:47:8C:00:00:01", BLE_ADDR_PUBLIC, EBUSY);
    assert_non_null(strstr(line, "bluetoothctl disconnect"));
    ble_connect_error(line, 40, "C8:47:8C:00:00:01", BLE_ADDR_PUBLIC, EACCES); /* cut, ended */
    assert_int_equal(strlen(line), 39);
}

/* issue 27 point 11: EBUSY on the second "auto" attempt is the first one's
 * teardown (hci_connect_le): retried after a pause, a few times, in time. */
static void auto_busy_is_retried_after_a_pause(void **state)
{
    (void)state;
    assert_int_equal(ble_auto_retry_ms(-EBUSY, 0, 4000), BLE_BUSY_PAUSE_MS);
    assert_int_equal(ble_auto_retry_ms(-EBUSY, BLE_BUSY_RETRIES - 1, 4000), BLE_BUSY_PAUSE_MS);
    assert_int_equal(ble_auto_retry_ms(-EBUSY, BLE_BUSY_RETRIES, 4000), -1);
    assert_int_equal(ble_auto_retry_ms(-EBUSY, 0, BLE_BUSY_PAUSE_MS), -1); /* no time left */
    assert_int_equal(ble_auto_retry_ms(-ETIMEDOUT, 0, 4000), -1);
    assert_int_equal(ble_auto_retry_ms(-EACCES, 0, 4000), -1);
    assert_int_equal(ble_auto_retry_ms(0, 0, 4000), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mgmt_device_found),
        cmocka_unit_test(mgmt_lengths_are_never_trusted),
        cmocka_unit_test(mgmt_commands_and_replies),
        cmocka_unit_test(short_name_kept_until_a_complete_one),
        cmocka_unit_test(jk_devices_by_prefix_and_service),
        cmocka_unit_test(controller_state_from_its_settings),
        cmocka_unit_test(att_discovery_responses),
        cmocka_unit_test(att_read_by_group_responses),
        cmocka_unit_test(att_builders),
        cmocka_unit_test(unknown_requests_get_request_not_supported),
        cmocka_unit_test(requested_mtu_is_the_answered_mtu),
        cmocka_unit_test(hangup_without_error_is_no_connection),
        cmocka_unit_test(kernel_codes_say_what_to_do),
        cmocka_unit_test(adapter_down_is_not_missing),
        cmocka_unit_test(connect_eacces_is_a_stale_bond),
        cmocka_unit_test(auto_busy_is_retried_after_a_pause),
    };
    return cmocka_run_group_tests_name("libble", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_devices.yaml in the seed's format: read, update, write back. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugins/libjkble/jk_devices.h"
#include "plugins/libble/transport.h"

static const char seed_file[] = "AA:BB:CC:DD:EE:01:\n"
                                "  address: AA:BB:CC:DD:EE:01\n"
                                "  last_seen: '2026-01-08T00:15:34.617446'\n"
                                "  name: JK_24v_3\n"
                                "# AA:BB:CC:DD:EE:02:\n"
                                "#   address: AA:BB:CC:DD:EE:02\n"
                                "C8:47:8C:00:00:02:\n"
                                "  address: C8:47:8C:00:00:02\n"
                                "  last_seen: '2026-01-09T10:00:00.000001'\n"
                                "  name: JK-B2A24S15P\n";

static void read_update_write(void **state)
{
    char path[] = "/tmp/jk_devices-XXXXXX";
    struct jk_device devs[8];
    struct jk_device first;
    char err[256];
    int fd = mkstemp(path), n;
    FILE *fp;
    char text[2048];
    size_t len;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, seed_file, strlen(seed_file)), (ssize_t)strlen(seed_file));
    close(fd);
    /* the first device, as the seed's service picks it; a commented one is skipped */
    assert_int_equal(jk_devices_first(path, &first, err, sizeof(err)), 0);
    assert_string_equal(first.address, "AA:BB:CC:DD:EE:01");
    assert_string_equal(first.name, "JK_24v_3");
    assert_int_equal(first.address_type, BLE_ADDR_AUTO); /* the seed's file does not say */
    n = jk_devices_load(path, devs, 8, err, sizeof(err));
    assert_int_equal(n, 2);
    assert_string_equal(devs[1].name, "JK-B2A24S15P");
    assert_string_equal(devs[1].last_seen, "2026-01-09T10:00:00.000001");
    /* a scan adds one and updates one */
    snprintf(devs[1].last_seen, sizeof(devs[1].last_seen), "2026-11-24T13:00:00.123456");
    memset(&devs[2], 0, sizeof(devs[2]));
    snprintf(devs[2].address, sizeof(devs[2].address), "20:21:11:AA:BB:CC");
    snprintf(devs[2].name, sizeof(devs[2].name), "JK_B1A20S15P");
    snprintf(devs[2].last_seen, sizeof(devs[2].last_seen), "2026-11-24T13:00:01.000000");
    devs[2].address_type = BLE_ADDR_RANDOM; /* as the scan saw it */
    assert_int_equal(jk_devices_save(path, devs, 3, err, sizeof(err)), 0);
    fp = fopen(path, "r");
    len = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[len] = '\0';
    /* the seed's layout: address key, then address / last_seen (quoted) / name */
    assert_non_null(strstr(text, "C8:47:8C:00:00:02:\n  address: C8:47:8C:00:00:02\n"
                                 "  last_seen: '2026-11-24T13:00:00.123456'\n"
                                 "  name: JK-B2A24S15P\n"));
    /* the address type in sorted key order, plain YAML the seed's yaml.safe_load reads */
    assert_non_null(strstr(text, "20:21:11:AA:BB:CC:\n  address: 20:21:11:AA:BB:CC\n"
                                 "  address_type: random\n"
                                 "  last_seen: '2026-11-24T13:00:01.000000'\n"));
    n = jk_devices_load(path, devs, 8, err, sizeof(err));
    assert_int_equal(n, 3);
    assert_string_equal(devs[2].address, "20:21:11:AA:BB:CC");
    assert_int_equal(devs[2].address_type, BLE_ADDR_RANDOM);
    assert_int_equal(devs[1].address_type, BLE_ADDR_AUTO);
    assert_int_equal(jk_devices_address_type(path, "20:21:11:aa:bb:cc", err, sizeof(err)),
                     BLE_ADDR_RANDOM);
    assert_int_equal(jk_devices_address_type(path, "C8:47:8C:00:00:02", err, sizeof(err)),
                     BLE_ADDR_AUTO);
    assert_int_equal(jk_devices_address_type(path, "C8:47:8C:99:99:99", err, sizeof(err)),
                     BLE_ADDR_AUTO);
    /* a bad address type names the line */
    fp = fopen(path, "w");
    fputs("AA:BB:CC:DD:EE:01:\n  address: AA:BB:CC:DD:EE:01\n  address_type: randon\n", fp);
    fclose(fp);
    assert_int_equal(jk_devices_load(path, devs, 8, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":3: address_type \"randon\""));
    /* broken YAML names the line */
    fp = fopen(path, "w");
    fputs("AA:BB:CC:DD:EE:01:\n  address: [unclosed\n", fp);
    fclose(fp);
    assert_int_equal(jk_devices_load(path, devs, 8, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, ":3: "));
    unlink(path);
    assert_int_equal(jk_devices_load(path, devs, 8, err, sizeof(err)), 0);
}

/* jk_ble's bms_name looks the device up by its exact name. */
static void by_name(void **state)
{
    char path[] = "/tmp/jk_devices-XXXXXX";
    struct jk_device dev;
    char err[256];
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, seed_file, strlen(seed_file)), (ssize_t)strlen(seed_file));
    close(fd);
    assert_int_equal(jk_devices_by_name(path, "JK-B2A24S15P", &dev, err, sizeof(err)), 0);
    assert_string_equal(dev.address, "C8:47:8C:00:00:02");
    assert_int_equal(jk_devices_by_name(path, "jk-b2a24s15p", &dev, err, sizeof(err)), -ENOENT);
    assert_int_equal(jk_devices_by_name(path, "JK-B2A24S15", &dev, err, sizeof(err)), -ENOENT);
    unlink(path);
    assert_int_equal(jk_devices_by_name(path, "JK-B2A24S15P", &dev, err, sizeof(err)), -ENOENT);
}

/* jkbms-util --scan runs as root, often in a shared directory: a link
 * planted where the old code put its temporary file ("<file>.tmp") must not
 * be followed. The list is replaced whole; the link's target is untouched. */
static void save_follows_no_planted_link(void **state)
{
    char dir[] = "/tmp/jk_devices-dir-XXXXXX";
    char path[128], planted[160], victim[128], text[64] = "";
    struct jk_device dev = {.address = "C8:47:8C:00:00:02", .address_type = BLE_ADDR_PUBLIC,
                            .name = "JK-B2A24S15P", .last_seen = "2026-12-02T00:00:00"};
    struct jk_device back;
    char err[256];
    FILE *fp;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/jk_devices.yaml", dir);
    snprintf(planted, sizeof(planted), "%s.tmp", path);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    fp = fopen(victim, "w");
    fputs("precious\n", fp);
    fclose(fp);
    assert_int_equal(symlink(victim, planted), 0);
    assert_int_equal(jk_devices_save(path, &dev, 1, err, sizeof(err)), 0);
    fp = fopen(victim, "r");
    assert_non_null(fgets(text, sizeof(text), fp));
    fclose(fp);
    assert_string_equal(text, "precious\n");
    assert_int_equal(jk_devices_first(path, &back, err, sizeof(err)), 0);
    assert_string_equal(back.address, "C8:47:8C:00:00:02");
    unlink(planted);
    unlink(victim);
    unlink(path);
    assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_update_write),
        cmocka_unit_test(by_name),
        cmocka_unit_test(save_follows_no_planted_link),
    };
    return cmocka_run_group_tests_name("jk_devices", tests, NULL, NULL);
}

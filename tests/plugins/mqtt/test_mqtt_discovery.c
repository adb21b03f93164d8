/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Home Assistant discovery for the mqtt sink, without a broker: an entity
 * whose metric comes later is announced then and once, growing packs get
 * their new cells, a bank is its own device, expire_after follows the
 * freshness figure; ABI 1.2: an allowed switch is an HA switch, the others
 * read-only, and the outcome topic's JSON. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/record.h"
#include "plugins/mqtt/discovery.h"
#include "testhost.h"

static struct testhost *t;
static const struct collector_host_api *api;

static int setup(void **unused)
{
    (void)unused;
    if (testhost_open_flags("mqtt", "mqtt", 0, "", TESTHOST_NO_START, &t) != 0)
        return -1;
    api = testhost_api(t);
    return 0;
}

static int teardown(void **unused)
{
    (void)unused;
    testhost_close(t);
    return 0;
}

static const struct discovery_names names = {"p", "homeassistant", 0, NULL, NULL};

/* A record of source "battery1" (the testhost's records are the instance's own). */
static int record_new_for_test(collector_record **out)
{
    return record_new("battery1", 1700000000000000000, out);
}

/* The config published on `topic`, or NULL; json_decref it. */
static json_t *config_for(const struct msg_batch *b, const char *topic)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->v[i].topic, topic) == 0)
            return json_loads(b->v[i].payload, 0, NULL);
    return NULL;
}

static void test_metric_coming_later_is_announced_once(void **unused)
{
    struct discovery_seen seen = {0};
    struct msg_batch b = {0};
    collector_record *r = testhost_record_new(t);
    json_t *c;
    (void)unused;

    api->set_device(r, "AA:BB");
    api->set_double(r, "battery_voltage", 52.0);
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 1);
    msg_batch_free(&b);
    /* the same record again: nothing new */
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 0);
    /* time_to_full_s appears (the current became large enough) */
    api->set_double(r, "time_to_full_s", 5400);
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 1);
    c = config_for(&b, "homeassistant/sensor/AA_BB/time_to_full_s/config");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "device_class")), "duration");
    assert_string_equal(json_string_value(json_object_get(c, "unit_of_measurement")), "s");
    assert_null(json_object_get(c, "expire_after")); /* freshness unknown */
    json_decref(c);
    msg_batch_free(&b);
    testhost_record_free(r);
}

static void test_growing_pack_gets_new_cells(void **unused)
{
    static const double cells[8] = {3.3, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3};
    struct discovery_seen seen = {0};
    struct msg_batch b = {0};
    collector_record *r = testhost_record_new(t);
    json_t *c;
    (void)unused;

    api->set_doubles(r, "cells", cells, 4);
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 4);
    msg_batch_free(&b);
    api->set_doubles(r, "cells", cells, 8);
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 4); /* cells 5 to 8 only */
    c = config_for(&b, "homeassistant/sensor/mqtt/cell_5/config");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "value_template")),
                        "{{ value_json.cells[4] }}");
    json_decref(c);
    msg_batch_free(&b);
    testhost_record_free(r);
}

static void test_bank_is_its_own_device_with_expire_after(void **unused)
{
    const struct discovery_names fresh = {"p", "homeassistant", 90, NULL, NULL};
    struct discovery_seen seen = {0};
    struct msg_batch b = {0};
    collector_record *r = testhost_record_new(t);
    json_t *c, *dev;
    (void)unused;

    api->set_device(r, "AA:BB"); /* a bank is named by its source, whatever its device */
    api->set_int(r, "members_total", 3);
    api->set_int(r, "members_online", 2);
    api->set_bool(r, "alarm", 0);
    assert_int_equal(discovery_configs(&fresh, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 3);
    c = config_for(&b, "homeassistant/sensor/mqtt/members_online/config");
    assert_non_null(c);
    dev = json_object_get(c, "device");
    assert_string_equal(json_string_value(json_array_get(json_object_get(dev, "identifiers"), 0)),
                        "mqtt");
    assert_string_equal(json_string_value(json_object_get(dev, "model")), "Bank of 3 batteries");
    assert_int_equal(json_integer_value(json_object_get(c, "expire_after")), 90);
    assert_string_equal(json_string_value(json_object_get(c, "state_topic")), "p/mqtt/state");
    json_decref(c);
    c = config_for(&b, "homeassistant/binary_sensor/mqtt/alarm/config");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "device_class")), "problem");
    json_decref(c);
    msg_batch_free(&b);
    testhost_record_free(r);
}

/* charge_limits' metrics: HA sensors for the limits, binary sensors for the
 * enables, text sensors for the reasons. */
static void test_charge_limit_entities(void **unused)
{
    struct discovery_seen seen = {0};
    struct msg_batch b = {0};
    collector_record *r = testhost_record_new(t);
    json_t *c;
    (void)unused;

    api->set_double(r, "charge_current_limit_a", 25.0);
    api->set_double(r, "charge_voltage_limit_v", 55.2);
    api->set_bool(r, "charge_enable", 1);
    api->set_string(r, "charge_limit_reason", "cell_high");
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_int_equal(b.n, 4);
    c = config_for(&b, "homeassistant/sensor/mqtt/charge_current_limit_a/config");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "device_class")), "current");
    assert_string_equal(json_string_value(json_object_get(c, "unit_of_measurement")), "A");
    json_decref(c);
    c = config_for(&b, "homeassistant/binary_sensor/mqtt/charge_enable/config");
    assert_non_null(c);
    json_decref(c);
    c = config_for(&b, "homeassistant/sensor/mqtt/charge_limit_reason/config");
    assert_non_null(c);
    assert_null(json_object_get(c, "unit_of_measurement"));
    json_decref(c);
    msg_batch_free(&b);
    testhost_record_free(r);
}

static void test_state_json(void **unused)
{
    collector_record *r = testhost_record_new(t);
    json_t *o;
    char *text;
    (void)unused;

    api->set_time_ns(r, INT64_C(1700000000123000000));
    api->set_device(r, "AA:BB");
    api->set_double(r, "energy_charged_kwh", 12.5);
    api->set_string(r, "alarms", "cell_delta_high");
    text = discovery_state_json(api, r);
    assert_non_null(text);
    o = json_loads(text, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "source")), "mqtt");
    assert_string_equal(json_string_value(json_object_get(o, "device")), "AA:BB");
    assert_true(json_real_value(json_object_get(o, "energy_charged_kwh")) == 12.5);
    assert_string_equal(json_string_value(json_object_get(o, "alarms")), "cell_delta_high");
    json_decref(o);
    free(text);
    testhost_record_free(r);
}

/* ABI 1.2: the source allows charge only */
static int allows_charge(void *ctx, const char *source, const char *command)
{
    (void)ctx;
    return strcmp(source, "battery1") == 0 && strcmp(command, "charge") == 0;
}

static void test_allowed_switches_are_switches(void **unused)
{
    const struct discovery_names with = {"p", "homeassistant", 0, allows_charge, NULL};
    struct discovery_seen seen = {0};
    struct msg_batch b = {0};
    collector_record *r;
    json_t *c;
    (void)unused;

    assert_int_equal(record_new_for_test(&r), 0);
    api->set_device(r, "AA:BB");
    api->set_bool(r, "charge_switch", 1);
    api->set_bool(r, "balancer_switch", 0);
    assert_int_equal(discovery_configs(&with, api, r, &seen, &b), 0);
    c = config_for(&b, "homeassistant/switch/AA_BB/charge_switch/config");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "command_topic")),
                        "p/battery1/charge/set");
    assert_string_equal(json_string_value(json_object_get(c, "payload_on")), "ON");
    assert_string_equal(json_string_value(json_object_get(c, "payload_off")), "OFF");
    assert_string_equal(json_string_value(json_object_get(c, "state_topic")), "p/battery1/state");
    assert_string_equal(json_string_value(json_object_get(c, "value_template")),
                        "{{ 'ON' if value_json.charge_switch else 'OFF' }}");
    json_decref(c);
    assert_null(config_for(&b, "homeassistant/binary_sensor/AA_BB/charge_switch/config"));
    c = config_for(&b, "homeassistant/binary_sensor/AA_BB/balancer_switch/config");
    assert_non_null(c); /* not allowed: read-only */
    assert_null(json_object_get(c, "command_topic"));
    json_decref(c);
    msg_batch_free(&b);
    /* without a host that takes commands, every switch is read-only */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(discovery_configs(&names, api, r, &seen, &b), 0);
    assert_null(config_for(&b, "homeassistant/switch/AA_BB/charge_switch/config"));
    msg_batch_free(&b);
    api->record_free(r);
}

static void test_outcome_json(void **unused)
{
    collector_record *r;
    char *s;
    (void)unused;

    assert_int_equal(record_new_for_test(&r), 0);
    api->set_string(r, "command", "charge");
    api->set_string(r, "requested", "off");
    api->set_string(r, "outcome", "not confirmed");
    api->set_string(r, "origin", "mqtt");
    api->set_string(r, "detail", "charge: BMS reports switch on, MOSFET on");
    api->set_int(r, "command_id", 7);
    api->set_int(r, "duration_ms", 1800000);
    s = discovery_outcome_json(api, r);
    assert_string_equal(s, "{\"switch\":\"charge\",\"requested\":\"off\",\"outcome\":\"not "
                           "confirmed\",\"origin\":\"mqtt\",\"detail\":\"charge: BMS reports "
                           "switch on, MOSFET on\",\"id\":7,\"duration_s\":1800.0}");
    free(s);
    api->record_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_coming_later_is_announced_once),
        cmocka_unit_test(test_growing_pack_gets_new_cells),
        cmocka_unit_test(test_bank_is_its_own_device_with_expire_after),
        cmocka_unit_test(test_charge_limit_entities),
        cmocka_unit_test(test_state_json),
        cmocka_unit_test(test_allowed_switches_are_switches),
        cmocka_unit_test(test_outcome_json),
    };
    return cmocka_run_group_tests_name("mqtt discovery", tests, setup, teardown);
}

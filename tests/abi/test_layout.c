/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ABI layout lock: the installed header compiles alone (this file
 * includes it first, under -std=c11 -pedantic), the frozen head sits at
 * offsets 0, 4, 8, and every 1.0 member stays where 1.0 put it. */
#include <collector/plugin.h>

/* Only after it, so the header is still proved to stand alone: config.h
 * carries the build flags, and a reconfigure with others rebuilds this. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

_Static_assert(offsetof(struct collector_plugin, abi_major) == 0, "frozen head");
_Static_assert(offsetof(struct collector_plugin, abi_minor) == 4, "frozen head");
_Static_assert(offsetof(struct collector_plugin, struct_size) == 8, "frozen head");
_Static_assert(offsetof(struct collector_host_api, abi_major) == 0, "frozen head");
_Static_assert(offsetof(struct collector_host_api, abi_minor) == 4, "frozen head");
_Static_assert(offsetof(struct collector_host_api, struct_size) == 8, "frozen head");

#define P sizeof(void *)
#define ALIGN_UP(x) (((x) + P - 1) / P * P)

struct member {
    const char *name;
    size_t offset;
};

#define M(type, m) {#m, offsetof(struct type, m)}

/* The ABI 1.0 descriptor: four uint32_t, then pointers in this order. */
static const struct member plugin_1_0[] = {
    M(collector_plugin, name),     M(collector_plugin, version),
    M(collector_plugin, description), M(collector_plugin, settings),
    M(collector_plugin, create),   M(collector_plugin, poll),
    M(collector_plugin, process),  M(collector_plugin, write),
    M(collector_plugin, flush),    M(collector_plugin, destroy),
};

/* The ABI 1.0 host table: three uint32_t, then function pointers in this order. */
static const struct member api_1_0[] = {
    M(collector_host_api, log),            M(collector_host_api, vlog),
    M(collector_host_api, instance_name),  M(collector_host_api, setting_string),
    M(collector_host_api, setting_int),    M(collector_host_api, setting_double),
    M(collector_host_api, setting_bool),   M(collector_host_api, setting_child),
    M(collector_host_api, setting_count),  M(collector_host_api, setting_element),
    M(collector_host_api, setting_error),  M(collector_host_api, record_new),
    M(collector_host_api, record_free),    M(collector_host_api, emit),
    M(collector_host_api, set_double),     M(collector_host_api, set_int),
    M(collector_host_api, set_bool),       M(collector_host_api, set_string),
    M(collector_host_api, set_doubles),    M(collector_host_api, unset),
    M(collector_host_api, set_device),     M(collector_host_api, set_time_ns),
    M(collector_host_api, get_double),     M(collector_host_api, get_int),
    M(collector_host_api, get_bool),       M(collector_host_api, get_string),
    M(collector_host_api, get_doubles),    M(collector_host_api, metric_count),
    M(collector_host_api, metric_at),      M(collector_host_api, record_time_ns),
    M(collector_host_api, record_source),  M(collector_host_api, record_device),
    M(collector_host_api, time_ns),        M(collector_host_api, interval_ms),
    M(collector_host_api, is_stopping),    M(collector_host_api, stop_fd),
    M(collector_host_api, state_dir),
};

static void descriptor_layout(void **state)
{
    (void)state;
    assert_int_equal(offsetof(struct collector_plugin, kind), 12);
    for (size_t i = 0; i < sizeof(plugin_1_0) / sizeof(plugin_1_0[0]); i++)
        if (plugin_1_0[i].offset != ALIGN_UP(16) + i * P)
            fail_msg("collector_plugin.%s moved to %zu", plugin_1_0[i].name,
                     plugin_1_0[i].offset);
    /* 1.0 ends after destroy; a minor may only grow it */
    assert_true(sizeof(struct collector_plugin) >= ALIGN_UP(16) + 10 * P);
}

static void host_api_layout(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(api_1_0) / sizeof(api_1_0[0]); i++)
        if (api_1_0[i].offset != ALIGN_UP(12) + i * P)
            fail_msg("collector_host_api.%s moved to %zu", api_1_0[i].name, api_1_0[i].offset);
    assert_true(sizeof(struct collector_host_api) >= ALIGN_UP(12) + 37 * P);
    assert_int_equal(COLLECTOR_API_HAS(state_dir), ALIGN_UP(12) + 37 * P);
}

static void constants_never_renumbered(void **state)
{
    (void)state;
    assert_int_equal(COLLECTOR_KIND_SOURCE, 1);
    assert_int_equal(COLLECTOR_KIND_CALCULATOR, 2);
    assert_int_equal(COLLECTOR_KIND_SINK, 3);
    assert_int_equal(COLLECTOR_METRIC_DOUBLE, 1);
    assert_int_equal(COLLECTOR_METRIC_INT, 2);
    assert_int_equal(COLLECTOR_METRIC_BOOL, 3);
    assert_int_equal(COLLECTOR_METRIC_STRING, 4);
    assert_int_equal(COLLECTOR_METRIC_DOUBLES, 5);
    assert_int_equal(COLLECTOR_LOG_ERROR, 3);
    assert_int_equal(COLLECTOR_LOG_DEBUG, 7);
    assert_int_equal(COLLECTOR_ABI_MAJOR, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(descriptor_layout),
        cmocka_unit_test(host_api_layout),
        cmocka_unit_test(constants_never_renumbered),
    };
    return cmocka_run_group_tests_name("abi_layout", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mqtt sink's in-flight window, without a broker: what is kept, what is
 * sent again, what leaves, and what is counted as lost. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/mqtt/window.h"

static void add(struct window *w, const char *topic, int ends_record)
{
    assert_int_equal(window_add(w, strdup(topic), strdup("x"), 0, ends_record), 0);
}

static void test_send_order_and_ack(void **unused)
{
    struct window w;
    uint64_t s1, s2, s3;
    const struct window_item *it;
    (void)unused;

    assert_int_equal(window_init(&w, 8), 0);
    add(&w, "a", 0);
    add(&w, "b", 1);
    assert_int_equal(window_pending(&w), 2);
    it = window_next(&w, 1, &s1);
    assert_non_null(it);
    assert_string_equal(it->topic, "a");
    it = window_next(&w, 1, &s2);
    assert_string_equal(it->topic, "b");
    assert_null(window_next(&w, 1, &s3)); /* both handed over */
    /* acknowledged out of order: b first, then a */
    window_done(&w, s2, 1, 1);
    assert_int_equal(window_pending(&w), 1);
    window_done(&w, s1, 1, 1);
    assert_int_equal(window_pending(&w), 0);
    assert_int_equal(w.len, 0); /* the finished slots left the front */
    window_done(&w, s1, 1, 1);  /* a late duplicate is ignored */
    assert_int_equal(window_free(&w, NULL), 0);
}

static void test_failure_sends_again(void **unused)
{
    struct window w;
    uint64_t s1, again;
    const struct window_item *it;
    (void)unused;

    assert_int_equal(window_init(&w, 4), 0);
    add(&w, "a", 1);
    window_next(&w, 1, &s1);
    window_done(&w, s1, 1, 0); /* failed on the connection it went out on */
    it = window_next(&w, 1, &again);
    assert_non_null(it);
    assert_int_equal(again, s1);
    assert_string_equal(it->topic, "a");
    window_unsend(&w, again); /* Paho did not take it */
    assert_non_null(window_next(&w, 1, &again));
    assert_int_equal(window_free(&w, NULL), 1);
}

static void test_reconnect_resends_and_stale_failure(void **unused)
{
    struct window w;
    uint64_t s1, s1b, none;
    (void)unused;

    assert_int_equal(window_init(&w, 4), 0);
    add(&w, "a", 1);
    window_next(&w, 1, &s1);
    window_resend_all(&w); /* connection 2: everything goes again */
    assert_non_null(window_next(&w, 2, &s1b));
    assert_int_equal(s1b, s1);
    /* the failure of the copy sent on connection 1 arrives late: the copy on
     * connection 2 is still out, so it is not queued a third time */
    window_done(&w, s1, 1, 0);
    assert_null(window_next(&w, 2, &none));
    window_done(&w, s1b, 2, 1);
    assert_int_equal(window_pending(&w), 0);
    window_free(&w, NULL);
}

static void test_room_and_growth(void **unused)
{
    struct window w;
    uint64_t seq;
    char topic[16];
    (void)unused;

    assert_int_equal(window_init(&w, 3), 0);
    assert_true(window_has_room(&w, 10)); /* empty: a big record goes through alone */
    for (int i = 0; i < 10; i++) {
        snprintf(topic, sizeof(topic), "t%d", i);
        add(&w, topic, i == 9);
    }
    assert_int_equal(window_pending(&w), 10);
    assert_false(window_has_room(&w, 1));
    for (int i = 0; i < 10; i++) {
        const struct window_item *it = window_next(&w, 1, &seq);
        snprintf(topic, sizeof(topic), "t%d", i);
        assert_non_null(it);
        assert_string_equal(it->topic, topic); /* order kept across the growth */
        window_done(&w, seq, 1, 1);
    }
    assert_true(window_has_room(&w, 3));
    window_free(&w, NULL);
}

static void test_large_limit_grows_on_demand(void **unused)
{
    struct window w;
    uint64_t seq;
    (void)unused;

    assert_int_equal(window_init(&w, 1000000), 0);
    assert_true(w.cap < 1000); /* no megabytes up front */
    for (int i = 0; i < 500; i++)
        add(&w, "t", 1);
    assert_true(window_has_room(&w, 1000));
    for (int i = 0; i < 500; i++)
        assert_non_null(window_next(&w, 1, &seq));
    assert_int_equal(window_free(&w, NULL), 500);
}

static void test_free_counts_lost_records(void **unused)
{
    struct window w;
    uint64_t seq;
    size_t records = 99;
    (void)unused;

    assert_int_equal(window_init(&w, 16), 0);
    add(&w, "config", 0);
    add(&w, "state1", 1);
    add(&w, "state2", 1);
    window_next(&w, 1, &seq);
    window_done(&w, seq, 1, 1); /* the config arrived */
    assert_int_equal(window_free(&w, &records), 2);
    assert_int_equal(records, 2);
    window_free(&w, &records); /* a freed window is empty and safe */
    assert_int_equal(records, 0);
}

static void test_add_takes_on_failure(void **unused)
{
    struct window w;
    (void)unused;

    assert_int_equal(window_init(&w, 2), 0);
    assert_int_equal(window_add(&w, strdup("t"), NULL, 0, 0), -ENOMEM); /* topic freed (ASan) */
    assert_int_equal(window_pending(&w), 0);
    window_free(&w, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_order_and_ack),
        cmocka_unit_test(test_failure_sends_again),
        cmocka_unit_test(test_reconnect_resends_and_stale_failure),
        cmocka_unit_test(test_room_and_growth),
        cmocka_unit_test(test_large_limit_grows_on_demand),
        cmocka_unit_test(test_free_counts_lost_records),
        cmocka_unit_test(test_add_takes_on_failure),
    };
    return cmocka_run_group_tests_name("mqtt window", tests, NULL, NULL);
}

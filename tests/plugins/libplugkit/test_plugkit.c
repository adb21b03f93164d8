/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libplugkit: the per-source table (find or add, one limit, names too long),
 * complain once per cause and release once, and the state file's lines (an
 * unreadable one warned about with file:line, a stop honoured), through the
 * real host API of a test host. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/libplugkit/complain.h"
#include "plugins/libplugkit/sources.h"
#include "plugins/libplugkit/state.h"
#include "testhost.h"

static void the_table_finds_adds_and_stops_at_its_limit(void **state)
{
    struct plugkit_sources t = {0};
    char name[PLUGKIT_NAME_MAX + 1];
    int added = -1;
    (void)state;

    assert_int_equal(plugkit_sources_find(&t, "battery1"), -ENOENT);
    assert_int_equal(plugkit_sources_get(&t, "battery1", &added), 0);
    assert_int_equal(added, 1);
    assert_int_equal(plugkit_sources_get(&t, "battery2", &added), 1);
    assert_int_equal(plugkit_sources_get(&t, "battery1", &added), 0);
    assert_int_equal(added, 0);
    assert_string_equal(plugkit_sources_name(&t, 1), "battery2");
    assert_string_equal(plugkit_sources_name(&t, 2), "");
    for (int i = 2; i < PLUGKIT_SOURCES_MAX; i++) {
        snprintf(name, sizeof(name), "b%d", i);
        assert_int_equal(plugkit_sources_get(&t, name, NULL), i);
    }
    assert_int_equal(plugkit_sources_get(&t, "one_more", &added), -ENOSPC);
    assert_int_equal(added, 0);
    assert_int_equal(plugkit_sources_get(&t, "b5", NULL), 5); /* a known one still is */
    assert_int_equal(plugkit_sources_add(&t, "b5"), -EEXIST);
    assert_int_equal(plugkit_sources_add(&t, "one_more"), -ENOSPC);
    plugkit_sources_clear(&t);
    memset(name, 'x', PLUGKIT_NAME_MAX);
    name[PLUGKIT_NAME_MAX] = '\0';
    assert_int_equal(plugkit_sources_get(&t, name, NULL), -EINVAL);
    name[PLUGKIT_NAME_MAX - 1] = '\0'; /* 63 bytes fit */
    assert_int_equal(plugkit_sources_get(&t, name, NULL), 0);
}

static size_t count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void a_cause_is_said_once_and_its_end_once(void **state)
{
    struct plugkit_complain c = {{0}};
    struct testhost *t;
    (void)state;

    assert_int_equal(testhost_open_ex("bank", "k", 0, "members = (\"a\");", &t), 0);
    assert_int_equal(plugkit_complain_release(&c), 0); /* nothing was wrong */
    for (int i = 0; i < 3; i++)
        plugkit_complain(&c, testhost_api(t), testhost_handle(t), COLLECTOR_LOG_WARNING,
                         "cause one");
    plugkit_complain(&c, testhost_api(t), testhost_handle(t), COLLECTOR_LOG_ERROR, "cause two");
    plugkit_complain(&c, testhost_api(t), testhost_handle(t), COLLECTOR_LOG_ERROR, "cause two");
    assert_int_equal(count(testhost_log(t), "WARNING cause one"), 1);
    assert_int_equal(count(testhost_log(t), "ERROR cause two"), 1);
    assert_int_equal(plugkit_complain_release(&c), 1);
    assert_int_equal(plugkit_complain_release(&c), 0);
    /* after the release the same cause is news again */
    plugkit_complain(&c, testhost_api(t), testhost_handle(t), COLLECTOR_LOG_WARNING, "cause one");
    assert_int_equal(count(testhost_log(t), "WARNING cause one"), 2);
    testhost_close(t);
}

struct seen {
    char lines[4][32];
    unsigned n;
};

static int take(void *ctx, const char *line, unsigned number)
{
    struct seen *s = ctx;

    if (strcmp(line, "stop") == 0)
        return -ECANCELED;
    if (strcmp(line, "bad") == 0)
        return -EINVAL;
    assert_int_equal(number, s->n + 1 + (s->n >= 1)); /* line 2 is the bad one */
    snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s", line);
    return 0;
}

static void state_lines_warn_with_file_and_line(void **state)
{
    struct testhost *t;
    struct plugkit_state st = {0};
    struct seen s = {0};
    char text[] = "one\nbad\nthree\nstop\nnever\n";
    (void)state;

    assert_int_equal(testhost_open_ex("bank", "k", 0, "members = (\"a\");", &t), 0);
    st.api = testhost_api(t);
    st.host = testhost_handle(t);
    snprintf(st.file, sizeof(st.file), "k.state");
    plugkit_state_lines(&st, text, take, &s, "that one starts over");
    assert_int_equal(s.n, 2);
    assert_string_equal(s.lines[0], "one");
    assert_string_equal(s.lines[1], "three");
    assert_non_null(strstr(testhost_log(t), "/k.state:2: unreadable line ignored: that one "
                                            "starts over"));
    assert_int_equal(count(testhost_log(t), "unreadable"), 1);
    testhost_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table_finds_adds_and_stops_at_its_limit),
        cmocka_unit_test(a_cause_is_said_once_and_its_end_once),
        cmocka_unit_test(state_lines_warn_with_file_and_line),
    };
    return cmocka_run_group_tests_name("libplugkit", tests, NULL, NULL);
}

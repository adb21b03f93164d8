/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_ble's commands (ABI 1.2) through the testhost, against the simulated
 * BMS (jk_sim.py): command()
 * writes, reads back and reports once through command_done: confirmed,
 * not confirmed with what the BMS reports, refused for a JK04's charge
 * switch with nothing sent; and the records carry the switch flags. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testhost.h"

extern char **environ;

struct sim {
    pid_t pid;
    int out; /* its stdout, open until it stops */
    char dir[64];
    char sock[128];
    char log[128];
};

/* jk_sim.py on a fresh socket, once it listens. */
static void sim_start(struct sim *s, const char *prefix, const char *protocol, const char *layout,
                      const char *extra)
{
    const char *top = getenv("top_srcdir");
    char script[4096], di[4096], ci[4096];
    int out[2];
    char ready[16] = "";

    snprintf(s->dir, sizeof(s->dir), "/tmp/jk-cmd-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->sock, sizeof(s->sock), "%s/sim.sock", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/sim.log", s->dir);
    snprintf(script, sizeof(script), "%s/tests/plugins/jk_ble/jk_sim.py", top ? top : ".");
    snprintf(di, sizeof(di), "%s/tests/data/jk/%s_device_info.hex", top ? top : ".", prefix);
    snprintf(ci, sizeof(ci), "%s/tests/data/jk/%s_cell_info.hex", top ? top : ".", prefix);
    {
        /* writable copies: execve's argv is char *const[] */
        static char args[17][4096];
        const char *words[] = {"python3", script, "--socket", s->sock, "--log", s->log,
                               "--device-info", di, "--cell-info", ci, "--protocol", protocol,
                               "--layout", layout, "--connections", "0", extra};
        char *argv[18] = {NULL};
        size_t n = extra ? 17 : 16;
        posix_spawn_file_actions_t fa;

        for (size_t i = 0; i < n; i++) {
            snprintf(args[i], sizeof(args[i]), "%s", words[i]);
            argv[i] = args[i];
        }
        assert_int_equal(pipe(out), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        assert_int_equal(posix_spawnp(&s->pid, "python3", &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
    }
    close(out[1]);
    s->out = out[0];
    for (size_t n = 0; n < sizeof(ready) - 1 && strchr(ready, '\n') == NULL; n++)
        assert_int_equal(read(s->out, ready + n, 1), 1);
    assert_string_equal(ready, "ready\n"); /* it listens */
}

static void sim_stop(struct sim *s)
{
    char cmd[200];

    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    close(s->out);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", s->dir);
}

static struct testhost *open_source_ex(const struct sim *s, const char *protocol,
                                       const char *extra)
{
    char settings[512];
    struct testhost *t = NULL;

    snprintf(settings, sizeof(settings),
             "address = \"C8:47:8C:00:00:01\"; address_type = \"public\"; transport = "
             "\"unix:%s\"; timeout = 8.0; protocol = \"%s\"; %s",
             s->sock, protocol, extra);
    assert_int_equal(testhost_open_ex("jk_ble", "battery1", 1000, settings, &t), 0);
    return t;
}

static struct testhost *open_source(const struct sim *s, const char *protocol)
{
    return open_source_ex(s, protocol, "");
}

static void refuses_what_it_does_not_offer(void **state)
{
    struct sim s;
    struct testhost *t;
    (void)state;

    sim_start(&s, "jk02_32s_v11", "JK02_32S", "old", NULL);
    t = open_source(&s, "auto");
    assert_int_equal(testhost_command_to(t, 1, "heating", "on"), 0);
    assert_true(testhost_outcome_is(t, 0, 1, COLLECTOR_OUTCOME_REFUSED,
                                "charge, discharge or balancer"));
    testhost_close(t);
    sim_stop(&s);
}

static void confirmed_then_published(void **state)
{
    struct sim s;
    struct testhost *t;
    (void)state;

    sim_start(&s, "jk02_32s_v11", "JK02_32S", "old", NULL);
    t = open_source(&s, "auto");
    assert_int_equal(testhost_command_to(t, 7, "charge", "off"), 0);
    assert_int_equal(testhost_outcome_count(t), 1);
    assert_true(testhost_outcome_is(t, 0, 7, COLLECTOR_OUTCOME_CONFIRMED,
                                "charge: BMS reports switch off, MOSFET off"));
    assert_true(testhost_file_has_line(s.log, "write charge off"));
    /* the next poll publishes the BMS's state */
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_count(t), 1);
    assert_int_equal(testhost_record_bool(t, 0, "charge_switch"), 0);
    assert_int_equal(testhost_record_bool(t, 0, "charging_enabled"), 0);
    assert_int_equal(testhost_record_bool(t, 0, "discharge_switch"), 1);
    assert_int_equal(testhost_record_bool(t, 0, "balancer_switch"), 1);
    testhost_close(t);
    sim_stop(&s);
}

static void stubborn_bms_not_confirmed(void **state)
{
    struct sim s;
    struct testhost *t;
    (void)state;

    sim_start(&s, "jk02_24s_v10", "JK02_24S", "new", "--stubborn");
    t = open_source(&s, "JK02_24S");
    assert_int_equal(testhost_command_to(t, 3, "charge", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 3, COLLECTOR_OUTCOME_NOT_CONFIRMED,
                                "charge: BMS reports switch on, MOSFET on"));
    assert_true(testhost_file_has_line(s.log, "write charge off (stubborn)"));
    /* published: what the BMS says, never the request */
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_count(t), 1);
    assert_int_equal(testhost_record_bool(t, 0, "charging_enabled"), 1);
    testhost_close(t);
    sim_stop(&s);
}

/* keep_connected: the command rides the poll's connection, and the polls
 * after it go on over the same link with the state read back. */
static void rides_the_poll_connection(void **state)
{
    struct sim s;
    struct testhost *t;
    (void)state;

    sim_start(&s, "jk02_32s_v11", "JK02_32S", "old", "--frames=40");
    t = open_source_ex(&s, "JK02_32S", "keep_connected = true;");
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_bool(t, 0, "discharge_switch"), 1);
    assert_int_equal(testhost_command_to(t, 5, "discharge", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 5, COLLECTOR_OUTCOME_CONFIRMED,
                                "discharge: BMS reports switch off, MOSFET off"));
    testhost_clear_records(t);
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_bool(t, 0, "discharge_switch"), 0);
    assert_int_equal(testhost_record_bool(t, 0, "discharging_enabled"), 0);
    assert_true(testhost_file_has_line(s.log, "connection 1"));
    assert_false(testhost_file_has_line(s.log, "connection 2"));
    testhost_close(t);
    sim_stop(&s);
}

static void jk04_balancer_only(void **state)
{
    struct sim s;
    struct testhost *t;
    (void)state;

    sim_start(&s, "jk04", "JK04", "jk04", NULL);
    t = open_source(&s, "JK04");
    assert_int_equal(testhost_command_to(t, 1, "charge", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 1, COLLECTOR_OUTCOME_REFUSED, "only the balancer"));
    assert_false(testhost_file_has_line(s.log, "connection 1")); /* refused before connecting */
    assert_int_equal(testhost_command_to(t, 2, "balancer", "off"), 0);
    assert_true(testhost_outcome_is(t, 1, 2, COLLECTOR_OUTCOME_CONFIRMED,
                                "balancer: BMS reports switch off"));
    assert_true(testhost_file_has_line(s.log, "write balancer off"));
    testhost_close(t);
    sim_stop(&s);
}

static void no_ack_is_failed(void **state)
{
    struct sim s;
    struct testhost *t;
    (void)state;

    sim_start(&s, "jk02_32s_v11", "JK02_32S", "old", "--no-ack");
    t = open_source(&s, "JK02_32S");
    assert_int_equal(testhost_command_to(t, 9, "discharge", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 9, COLLECTOR_OUTCOME_FAILED, "no acknowledgement"));
    testhost_close(t);
    sim_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_what_it_does_not_offer),
        cmocka_unit_test(confirmed_then_published),
        cmocka_unit_test(stubborn_bms_not_confirmed),
        cmocka_unit_test(rides_the_poll_connection),
        cmocka_unit_test(jk04_balancer_only),
        cmocka_unit_test(no_ack_is_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

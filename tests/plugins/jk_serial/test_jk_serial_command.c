/* SPDX-License-Identifier: GPL-2.0-or-later */
/* jk_serial's commands (ABI 1.2) through the testhost, over a pty Modbus bus
 * (jk_switch_sim.py on jk_serial_sim.py): the write confirmed by its
 * read-back and the next record carrying the switch; a stubborn pack not
 * confirmed with what it reports; the UART link refused with nothing
 * written. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
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

struct bus {
    pid_t pid;
    int in;  /* its stdin: closing it ends the bus */
    FILE *out;
    char path[256];
    char log[64];
};

/* jk_switch_sim.py serving slaves 1 and 2 on a pty; `stubborn` 0 for none. */
static void bus_start(struct bus *b, int stubborn)
{
    const char *top = getenv("top_srcdir");
    static char args[9][4096];
    char *argv[10] = {NULL};
    int to[2], from[2];
    posix_spawn_file_actions_t fa;
    size_t n = 0;

    snprintf(b->log, sizeof(b->log), "/tmp/jk-serial-cmd-XXXXXX");
    assert_int_not_equal(mkstemp(b->log), -1);
    snprintf(args[n++], sizeof(args[0]), "python3");
    snprintf(args[n++], sizeof(args[0]), "%s/tests/plugins/jk_serial/jk_switch_sim.py",
             top ? top : ".");
    snprintf(args[n++], sizeof(args[0]), "--data");
    snprintf(args[n++], sizeof(args[0]), "%s/tests/data/jk", top ? top : ".");
    snprintf(args[n++], sizeof(args[0]), "--log");
    snprintf(args[n++], sizeof(args[0]), "%s", b->log);
    if (stubborn) {
        snprintf(args[n++], sizeof(args[0]), "--stubborn");
        snprintf(args[n++], sizeof(args[0]), "%d", stubborn);
    }
    for (size_t i = 0; i < n; i++)
        argv[i] = args[i];
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawn_file_actions_addclose(&fa, to[1]);
    posix_spawn_file_actions_addclose(&fa, from[0]);
    assert_int_equal(posix_spawnp(&b->pid, "python3", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(to[0]);
    close(from[1]);
    b->in = to[1];
    b->out = fdopen(from[0], "r");
    assert_non_null(b->out);
    assert_non_null(fgets(b->path, sizeof(b->path), b->out));
    b->path[strcspn(b->path, "\n")] = '\0';
}

/* End the bus; its log (the switch writes) stays until bus_free. */
static void bus_stop(struct bus *b)
{
    close(b->in);
    waitpid(b->pid, NULL, 0);
    fclose(b->out);
}

static struct testhost *open_source(const char *device, const char *extra)
{
    char settings[600];
    struct testhost *t = NULL;

    snprintf(settings, sizeof(settings), "device = \"%s\"; timeout = 0.5; %s", device, extra);
    if (testhost_open_ex("jk_serial", "pack1", 1000, settings, &t) != 0)
        fail_msg("%s", testhost_last_log());
    return t;
}

static void modbus_confirmed_and_published(void **state)
{
    struct bus b;
    struct testhost *t;
    (void)state;

    bus_start(&b, 0);
    t = open_source(b.path, "slave = 2; bus_mode = \"master\";");
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_bool(t, 0, "charge_switch"), 1);
    testhost_clear_records(t);
    assert_int_equal(testhost_command_to(t, 4, "charge", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 4, COLLECTOR_OUTCOME_CONFIRMED,
                                    "charge: BMS reports switch off, MOSFET off"));
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_bool(t, 0, "charge_switch"), 0);
    testhost_clear_records(t);
    assert_int_equal(testhost_poll(t), 0);
    assert_int_equal(testhost_record_bool(t, 0, "charging_enabled"), 0);
    testhost_close(t);
    bus_stop(&b);
    /* the facts sheet's frame for slave 2, charge off */
    assert_true(testhost_file_has_line(b.log, "write 2 0210107000020400000000360f"));
    unlink(b.log);
}

static void modbus_stubborn_not_confirmed(void **state)
{
    struct bus b;
    struct testhost *t;
    (void)state;

    bus_start(&b, 1);
    t = open_source(b.path, "slave = 1; bus_mode = \"master\";");
    assert_int_equal(testhost_command_to(t, 8, "discharge", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 8, COLLECTOR_OUTCOME_NOT_CONFIRMED,
                                    "discharge: BMS reports switch on, MOSFET on"));
    testhost_close(t);
    bus_stop(&b);
    unlink(b.log);
}

static void uart_refused(void **state)
{
    struct testhost *t;
    char name[128];
    int master, slave;
    uint8_t buf[64];
    (void)state;

    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    t = open_source(name, "protocol = \"uart\";");
    assert_int_equal(testhost_command_to(t, 2, "balancer", "off"), 0);
    assert_true(testhost_outcome_is(t, 0, 2, COLLECTOR_OUTCOME_REFUSED,
                                    "Modbus (JK-PB) only"));
    /* nothing reached the wire */
    fcntl(master, F_SETFL, O_NONBLOCK);
    assert_true(read(master, buf, sizeof(buf)) < 0);
    testhost_close(t);
    close(master);
    close(slave);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(modbus_confirmed_and_published),
        cmocka_unit_test(modbus_stubborn_not_confirmed),
        cmocka_unit_test(uart_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

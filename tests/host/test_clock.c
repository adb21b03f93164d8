/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A clock that cannot be read (after 2038 with a 32-bit time_t,
 * clock_gettime fails with EOVERFLOW) is a logged error, never an unset time:
 * the host's record_new and time_ns, and the log line's stamp. The test links
 * with --wrap for clock_gettime (and __clock_gettime64, its name under
 * _TIME_BITS=64 on 32-bit glibc), so the core's calls reach the wrapper. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/hostapi.h"
#include "core/log.h"
#include "core/record.h"

static int clock_fails; /* the wrapper fails with EOVERFLOW while set */

#if defined(__USE_TIME_BITS64) && __TIMESIZE == 32
#define WRAP_CLOCK __wrap___clock_gettime64
#define REAL_CLOCK __real___clock_gettime64
#else
#define WRAP_CLOCK __wrap_clock_gettime
#define REAL_CLOCK __real_clock_gettime
#endif
int REAL_CLOCK(clockid_t clock, struct timespec *ts);
int WRAP_CLOCK(clockid_t clock, struct timespec *ts);
int WRAP_CLOCK(clockid_t clock, struct timespec *ts)
{
    if (clock_fails) {
        errno = EOVERFLOW;
        return -1;
    }
    return REAL_CLOCK(clock, ts);
}

/* What the core writes to stderr while `fn` runs. */
static void capture_stderr(void (*fn)(void *), void *arg, char *out, size_t cap)
{
    FILE *tmp = tmpfile();
    int saved;
    size_t n;

    assert_non_null(tmp);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn(arg);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

struct call {
    struct collector_host *host;
    collector_record *rec;
    int rc;
    int64_t ns;
};

static void call_record_new(void *arg)
{
    struct call *c = arg;
    c->rc = hostapi_table()->record_new(c->host, &c->rec);
}

static void call_time_ns(void *arg)
{
    struct call *c = arg;
    c->ns = hostapi_table()->time_ns(c->host, COLLECTOR_CLOCK_REALTIME);
}

static void record_new_fails_with_a_logged_error(void **state)
{
    struct collector_host host;
    struct call c = {&host, NULL, 0, 0};
    char err[1024];
    struct timespec now;
    (void)state;

    assert_int_equal(host_init(&host, "battery1", 1000, "/tmp"), 0);
    clock_fails = 1;
    capture_stderr(call_record_new, &c, err, sizeof(err));
    clock_fails = 0;
    assert_int_equal(c.rc, -EOVERFLOW);
    assert_null(c.rec);
    assert_non_null(strstr(err, " - battery1 - ERROR - cannot read the wall clock: "));

    /* and with a clock, the record has the time */
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &now), 0);
    assert_int_equal(hostapi_table()->record_new(&host, &c.rec), 0);
    assert_true(record_time_ns(c.rec) >= (int64_t)now.tv_sec * 1000000000);
    assert_true(record_time_ns(c.rec) < ((int64_t)now.tv_sec + 60) * 1000000000);
    record_free(c.rec);
    host_fini(&host);
}

static void time_ns_is_zero_and_logged(void **state)
{
    struct collector_host host;
    struct call c = {&host, NULL, 0, -1};
    char err[1024];
    (void)state;

    assert_int_equal(host_init(&host, "mqtt", 0, "/tmp"), 0);
    clock_fails = 1;
    capture_stderr(call_time_ns, &c, err, sizeof(err));
    clock_fails = 0;
    assert_int_equal(c.ns, 0);
    assert_non_null(strstr(err, " - mqtt - ERROR - cannot read the wall clock: "));
    call_time_ns(&c);
    assert_true(c.ns > (int64_t)1700000000 * 1000000000);
    host_fini(&host);
}

static void format(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_format(buf, cap, "core", COLLECTOR_LOG_ERROR, fmt, ap);
    va_end(ap);
}

static void log_line_says_the_clock_failed(void **state)
{
    char line[256];
    (void)state;

    clock_fails = 1;
    format(line, sizeof(line), "the message %d", 42);
    clock_fails = 0;
    assert_int_equal(strncmp(line, "(no clock: errno ", 17), 0);
    assert_non_null(strstr(line, " - core - "));
    assert_non_null(strstr(line, "the message 42"));

    format(line, sizeof(line), "fine");
    assert_true(line[0] >= '1' && line[0] <= '9'); /* "YYYY-..." */
    assert_non_null(strstr(line, " - core - "));
}

/* What a server or a device said reaches the log without its control
 * characters: no terminal sequence, no bell, one line. */
static void log_line_has_no_control_characters(void **state)
{
    char line[256];
    (void)state;

    format(line, sizeof(line), "HTTP 400: %s", "bad\x1b[2J\x07 token\r\nX-Fake: 1\x7f\tend");
    assert_non_null(strstr(line, "HTTP 400: bad?[2J? token  X-Fake: 1?\tend"));
    for (const char *p = line; *p; p++)
        assert_true((unsigned char)*p >= 0x20 || *p == '\t');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_new_fails_with_a_logged_error),
        cmocka_unit_test(time_ns_is_zero_and_logged),
        cmocka_unit_test(log_line_says_the_clock_failed),
        cmocka_unit_test(log_line_has_no_control_characters),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
